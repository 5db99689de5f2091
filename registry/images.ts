import { ServiceSettings } from "../config/settings";
import { compareReleasesDescending, sortTags, tagKind } from "./tags";

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

/** Images newest release first, each named by its most precise release tag. */
export function rollbackTargets(images: RepositoryImage[]): string[] {
    return [...images]
        .sort((a, b) => compareReleasesDescending(a.tags, b.tags))
        .map((image) => sortTags(image.tags)[0])
        .filter((tag): tag is string => tag !== undefined && RELEASE_KINDS.includes(tagKind(tag)));
}

const RELEASE_KINDS = ["calver-sha", "calver", "sha"];

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
