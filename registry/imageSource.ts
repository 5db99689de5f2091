import { RepositoryImage } from "./images";
import { compareReleasesDescending, sortTags } from "./tags";

/** One image in a repository (one digest, all the tags on it), with what the listing shows about it. */
export interface ImageRecord extends RepositoryImage {
    /** When it was pushed (ECR) or built (plain registry: the image config's `created`). */
    date?: Date;
    /** Sum of the compressed layer sizes, as ECR reports it. */
    sizeBytes?: number;
    /** ECR archived it: it must be restored before it can be pulled. */
    archived?: boolean;
}

/** A repository's rollback targets: its tagged images, newest first. */
export interface RepositoryImages {
    images: ImageRecord[];
    /** Images without any tag: they cannot be pinned, so they are only counted. */
    untagged: number;
}

/** Where images are listed from: ECR or a plain registry. */
export interface ImageSource {
    /** Shown in the report header, e.g. `ECR us-east-1`. */
    readonly description: string;
    /** What the date column means for this source. */
    readonly dateLabel: "pushed" | "created";
    list(repository: string): Promise<RepositoryImages>;
}

/**
 * A listing failed. `fatal`: no other repository can be listed either
 * (no credentials, registry unreachable), so the tool stops.
 */
export class ImageSourceError extends Error {
    constructor(message: string, readonly fatal: boolean) {
        super(message);
    }
}

/** Newest first: by date, then by CalVer, then by digest so the order is stable. */
export function sortImages(images: ImageRecord[]): ImageRecord[] {
    const time = (image: ImageRecord) => image.date?.getTime() ?? -Infinity;
    return [...images]
        .map((image) => ({ ...image, tags: sortTags(image.tags) }))
        .sort((a, b) => time(b) - time(a) || compareReleasesDescending(a.tags, b.tags) || a.digest.localeCompare(b.digest));
}
