import { ServiceSettings } from "../config/settings";
import { parseVersion, PinnedVersion } from "../config/version";

/** One image in a repository: a digest and every tag on it. */
export interface RepositoryImage {
    digest: string;
    tags: string[];
}

/** Groups (tag, digest) pairs, as registries list them, into images. */
export function groupByDigest(pairs: ReadonlyArray<{ digest: string; tag?: string }>): RepositoryImage[] {
    const images = new Map<string, RepositoryImage>();
    for (const { digest, tag } of pairs) {
        const image = images.get(digest) ?? { digest, tags: [] };
        if (tag !== undefined && !image.tags.includes(tag)) {
            image.tags.push(tag);
        }
        images.set(digest, image);
    }
    return [...images.values()];
}

function releaseOf(image: RepositoryImage): PinnedVersion | undefined {
    const versions = image.tags.flatMap((tag) => {
        try {
            return [parseVersion("tag", tag)];
        } catch {
            return [];
        }
    });
    const rank = { "calver-sha": 0, calver: 1, sha: 2 } as const;
    return versions.sort((a, b) => rank[a.form] - rank[b.form])[0];
}

/** YYYY.MM.N as a number that sorts releases; -1 when the image has no CalVer tag. */
function releaseOrder(image: RepositoryImage): number {
    const calver = image.tags.map((tag) => /^(\d{4})\.(\d{2})\.(\d+)(?:-|$)/.exec(tag)).find(Boolean);
    return calver ? Number(calver[1]) * 1e6 + Number(calver[2]) * 1e4 + Number(calver[3]) : -1;
}

/** Images newest release first, each named by its most precise release tag. */
export function rollbackTargets(images: RepositoryImage[]): string[] {
    return [...images]
        .sort((a, b) => releaseOrder(b) - releaseOrder(a))
        .map((image) => releaseOf(image)?.tag)
        .filter((tag): tag is string => tag !== undefined);
}

export class MissingTagError extends Error {}

/**
 * The digest of the image the service is pinned to. A tag that is not in the
 * repository (never pushed, or expired) fails here, at preview, before any SSH.
 */
export function resolvePinnedDigest(service: ServiceSettings, images: RepositoryImage[]): string {
    const image = images.find((candidate) => candidate.tags.includes(service.version.tag));
    if (!image) {
        const targets = rollbackTargets(images);
        throw new MissingTagError(
            `${service.versionKey}: ${service.name} cannot be deployed at ${service.version.tag}: ` +
                `no image in ${service.repository} has that tag (never pushed, or expired). ` +
                (targets.length > 0
                    ? `Versions that can still be rolled back to, newest first: ${targets.join(", ")}.`
                    : `The repository has no release images.`),
        );
    }
    return image.digest;
}
