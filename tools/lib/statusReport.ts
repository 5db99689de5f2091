import { RegistrySettings, ServiceSettings } from "../../config/settings";
import { ContainerState, ServerImage, ServerSnapshot } from "./statusScript";
import { formatDate, renderTable, shortId } from "./table";
import { sameRelease, sortTags } from "../../registry/tags";

/** What runs for one service, beside what the stack pins. */
export interface ServiceStatus {
    service: string;
    container: ContainerState;
    pinnedTag: string;
    /** The image the pinned tag names on the server; undefined when the server does not have it. */
    pinnedImage?: ServerImage;
    runningImage?: ServerImage;
    /** The running image's tags in the service's repository. */
    runningTags: string[];
    /** What differs from the stack: the service is named and the tool exits 1. */
    problems: string[];
    /** Worth knowing, not a difference from the stack. */
    warnings: string[];
}

function escapeRegExp(value: string): string {
    return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Recognises the service's repository in the server's image references: the
 * plain registry's `host/repository`, or `<account>.dkr.ecr.<region>.amazonaws.com/repository`
 * (the account is not in the stack config; the region is).
 */
export function repositoryMatcher(registry: RegistrySettings, repository: string): (reference: string) => boolean {
    const pattern =
        registry.kind === "plain"
            ? new RegExp(`^${escapeRegExp(`${registry.host}/${repository}`)}$`)
            : new RegExp(`^[0-9]{12}\\.dkr\\.ecr\\.${escapeRegExp(registry.region)}\\.amazonaws\\.com/${escapeRegExp(repository)}$`);
    return (reference) => pattern.test(reference);
}

/** `registry/repository:tag` → [repository reference, tag]; undefined without a tag. */
function splitReference(name: string): [string, string] | undefined {
    const colon = name.lastIndexOf(":");
    return colon > name.lastIndexOf("/") ? [name.slice(0, colon), name.slice(colon + 1)] : undefined;
}

/** The tags an image has in the service's repository, in the runbook's order. */
export function tagsIn(image: ServerImage | undefined, inRepository: (reference: string) => boolean): string[] {
    const tags = (image?.names ?? []).map(splitReference).filter((ref): ref is [string, string] => !!ref && inRepository(ref[0]));
    return sortTags(tags.map(([, tag]) => tag));
}

function imagesTagged(images: ServerImage[], inRepository: (reference: string) => boolean, tag: string): ServerImage[] {
    return images.filter((image) => tagsIn(image, inRepository).includes(tag));
}

/**
 * The server's images for the pinned tag: tagged with it (`podman image inspect
 * <repo>:<tag>`), else tagged with another tag of the same release (a pull by
 * 2026.01.4-f214c2d leaves only that tag on the server, not 2026.01.4).
 */
export function pinnedCandidates(images: ServerImage[], inRepository: (reference: string) => boolean, tag: string): ServerImage[] {
    const exact = imagesTagged(images, inRepository, tag);
    return exact.length > 0 ? exact : images.filter((image) => tagsIn(image, inRepository).some((other) => sameRelease(other, tag)));
}

const sameId = (a: string | undefined, b: string | undefined) => !!a && !!b && a.replace(/^sha256:/, "") === b.replace(/^sha256:/, "");

/** A name for an image in messages: its most precise release tag, or its short ID. */
function describe(tags: string[], image: ServerImage | undefined): string {
    const release = tags.find((tag) => tag !== "latest");
    return release ?? (image ? `image ${shortId(image.id)}${tags.length ? ` (${tags.join(" ")})` : ""}` : "an image no longer on the server");
}

/** Compares one service's container with the version the stack pins. */
export function compareService(service: ServiceSettings, registry: RegistrySettings, snapshot: ServerSnapshot): ServiceStatus {
    const inRepository = repositoryMatcher(registry, service.repository);
    const container = snapshot.containers.get(service.container) ?? { name: service.container, exists: false };
    const pinnedTag = service.version.tag;
    const candidates = pinnedCandidates(snapshot.images, inRepository, pinnedTag);
    const runningImage = snapshot.images.find((image) => sameId(image.id, container.imageId));
    const runningTags = tagsIn(runningImage, inRepository);
    const problems: string[] = [];
    const warnings: string[] = [];

    if (!container.exists) {
        problems.push(`${service.container} does not exist`);
    } else if (container.error) {
        problems.push(`podman could not inspect ${service.container}`);
    } else if (!container.running) {
        problems.push(`${service.container} is ${container.state ?? "not running"}, not running`);
    }
    if (candidates.length === 0) {
        const runs = container.imageId ? `${service.container} runs ${describe(runningTags, runningImage)}, and ` : "";
        problems.push(`${runs}the pinned ${pinnedTag} is not on the server: nothing pulled it (has pulumi up run since it was pinned?)`);
    } else if (candidates.length > 1) {
        problems.push(`the pinned ${pinnedTag} names ${candidates.length} different images on the server: ${candidates.map((image) => shortId(image.id)).join(", ")}`);
    }
    const pinnedImage = candidates.length === 1 ? candidates[0] : undefined;
    if (pinnedImage && container.imageId && !sameId(container.imageId, pinnedImage.id)) {
        problems.push(`${service.container} runs ${describe(runningTags, runningImage)} instead of the pinned ${pinnedTag}`);
    }
    if (container.health === "unhealthy") {
        warnings.push(`${service.container} reports itself unhealthy`);
    }
    const latest = imagesTagged(snapshot.images, inRepository, "latest")[0];
    if (pinnedImage && latest && !sameId(latest.id, pinnedImage.id)) {
        warnings.push(
            `:latest on the server is ${describe(tagsIn(latest, inRepository), latest)}, not ${pinnedTag}: recreating ${service.container} from the compose file would switch it`,
        );
    }
    return { service: service.name, container, pinnedTag, pinnedImage, runningImage, runningTags, problems, warnings };
}

/** The table, the repo digests, then every difference and warning by service, then the verdict. */
export function formatStatus(stackFile: string, host: string, statuses: ServiceStatus[]): string {
    const rows = statuses.map((s) => [
        s.service,
        s.pinnedTag,
        shortId(s.pinnedImage?.id),
        s.container.name,
        s.container.exists ? s.container.state ?? "?" : "absent",
        s.container.health ?? "-",
        formatDate(s.container.startedAt, true),
        shortId(s.container.imageId),
        s.runningTags.join(" ") || "-",
        s.problems.length > 0 ? "DIFFERS" : "ok",
    ]);
    const lines = [
        `Server ${host} against ${stackFile} (times UTC; IDs are podman image IDs)`,
        "",
        ...renderTable(["SERVICE", "PINNED", "PINNED ID", "CONTAINER", "STATE", "HEALTH", "STARTED", "RUNNING ID", "RUNNING TAGS", "RESULT"], rows),
        "",
        "Repo digests of the running images:",
        ...renderTable(
            ["CONTAINER", "DIGEST"],
            statuses.map((s) => [s.container.name, s.runningImage?.repoDigests.join(" ") || "-"]),
            "  ",
        ).slice(1),
    ];
    const notes = statuses.flatMap((s) => [
        ...s.problems.map((problem) => `${s.service}: DIFFERS: ${problem}`),
        ...s.warnings.map((warning) => `${s.service}: warning: ${warning}`),
    ]);
    if (notes.length > 0) {
        lines.push("", ...notes);
    }
    const differing = statuses.filter((s) => s.problems.length > 0).map((s) => s.service);
    lines.push(
        "",
        differing.length === 0
            ? `All ${statuses.length} services run the version ${stackFile} pins.`
            : `${differing.length} of ${statuses.length} services differ from ${stackFile}: ${differing.join(", ")}. ` +
                  "To bring them in line: pulumi up; or, to keep what runs, pin it in the stack (docs/rollback.md, emergency path).",
    );
    return `${lines.join("\n")}\n`;
}
