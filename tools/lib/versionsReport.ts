import { PinnedVersion } from "../../config/version";
import { RepositoryImages } from "../../registry/imageSource";
import { formatDate, formatSize, renderTable, shortId } from "./table";

/** What the versions tool found for one service. */
export interface ServiceImages {
    service: string;
    repository: string;
    /** The version the stack file pins; undefined when it pins none or an invalid one (see pinProblem). */
    pinned?: PinnedVersion;
    pinProblem?: string;
    listing: RepositoryImages | { error: string };
}

export interface VersionsReport {
    stack: string;
    stackFile: string;
    source: string;
    dateLabel: "pushed" | "created";
    services: ServiceImages[];
}

/** `latest`, `pinned`, `archived`, space separated. */
export function markers(tags: string[], pinned: PinnedVersion | undefined, archived: boolean | undefined): string {
    return [
        tags.includes("latest") ? "latest" : undefined,
        pinned && tags.includes(pinned.tag) ? "pinned" : undefined,
        archived ? "archived" : undefined,
    ]
        .filter(Boolean)
        .join(" ");
}

function serviceSection(entry: ServiceImages, report: VersionsReport): string[] {
    const pin = entry.pinned ? `pinned ${entry.pinned.tag}` : "no valid pinned version";
    const lines = [`${entry.service} (${entry.repository}), ${pin} in ${report.stackFile}`];
    if ("error" in entry.listing) {
        return [...lines, `  ! ${entry.listing.error}`];
    }
    const { images, untagged } = entry.listing;
    if (images.length === 0) {
        lines.push("  (no tagged image: nothing to roll back to)");
    } else {
        const rows = images.map((image) => [
            markers(image.tags, entry.pinned, image.archived),
            image.tags.join(" "),
            formatDate(image.date),
            formatSize(image.sizeBytes),
            shortId(image.digest),
        ]);
        lines.push(...renderTable(["MARK", "TAGS", report.dateLabel.toUpperCase(), "SIZE", "DIGEST"], rows, "  "));
    }
    if (entry.pinProblem) {
        lines.push(`  ! ${entry.pinProblem}`);
    } else if (entry.pinned && !images.some((image) => image.tags.includes(entry.pinned!.tag))) {
        lines.push(`  ! the pinned ${entry.pinned.tag} is not in ${entry.repository}: a pulumi up would fail to pull it`);
    }
    if (images.some((image) => image.archived)) {
        lines.push("  ! archived images must be restored in ECR before they can be pulled");
    }
    if (untagged > 0) {
        lines.push(`  (${untagged} untagged image${untagged === 1 ? "" : "s"} not listed: only a tag can be pinned)`);
    }
    return lines;
}

/** The report: a header, then one table per service, images newest first. */
export function formatVersions(report: VersionsReport): string {
    const header = `Stack ${report.stack}: images in ${report.source}, newest first (dates UTC). Pin one with: pulumi config set --stack ${report.stack} <service>Version <tag>`;
    return [header, ...report.services.flatMap((entry) => ["", ...serviceSection(entry, report)])].join("\n") + "\n";
}
