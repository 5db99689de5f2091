import { parseVersion, VersionForm } from "../config/version";

/** What a tag is to the release pipeline (runbook: four tags per image). */
export type TagKind = VersionForm | "latest" | "other";

const ORDER: Record<TagKind, number> = { "calver-sha": 0, calver: 1, sha: 2, latest: 3, other: 4 };

export function tagKind(tag: string): TagKind {
    if (tag === "latest") {
        return "latest";
    }
    try {
        return parseVersion("tag", tag).form;
    } catch {
        return "other";
    }
}

/** Tags in the runbook's order: YYYY.MM.N-SHA, YYYY.MM.N, SHA, latest, then anything else by name. */
export function sortTags(tags: Iterable<string>): string[] {
    return [...new Set(tags)].sort((a, b) => ORDER[tagKind(a)] - ORDER[tagKind(b)] || a.localeCompare(b));
}

/** The release number of an image, from its CalVer tag: [year, month, n]; undefined without one. */
export function releaseOf(tags: string[]): [number, number, number] | undefined {
    for (const tag of tags) {
        const kind = tagKind(tag);
        if (kind === "calver" || kind === "calver-sha") {
            const [year, month, n] = tag.split("-")[0].split(".").map(Number);
            return [year, month, n];
        }
    }
    return undefined;
}

/** Newer release first; images without a CalVer tag after those with one. */
export function compareReleasesDescending(a: string[], b: string[]): number {
    const ra = releaseOf(a);
    const rb = releaseOf(b);
    if (!ra || !rb) {
        return (ra ? 0 : 1) - (rb ? 0 : 1);
    }
    return rb[0] - ra[0] || rb[1] - ra[1] || rb[2] - ra[2];
}

/** The release a tag names: its CalVer and/or its SHA; undefined for latest and other tags. */
function releaseParts(tag: string): { calver?: string; sha?: string } | undefined {
    switch (tagKind(tag)) {
        case "calver-sha":
            return { calver: tag.slice(0, tag.indexOf("-")), sha: tag.slice(tag.indexOf("-") + 1) };
        case "calver":
            return { calver: tag };
        case "sha":
            return { sha: tag };
        default:
            return undefined;
    }
}

/**
 * Whether two release tags name the same release: the pipeline pushes
 * YYYY.MM.N-SHA, YYYY.MM.N and SHA on one image, so 2026.01.4, f214c2d and
 * 2026.01.4-f214c2d are one release (a longer SHA matches its short prefix).
 */
export function sameRelease(a: string, b: string): boolean {
    const ra = releaseParts(a);
    const rb = releaseParts(b);
    if (!ra || !rb) {
        return false;
    }
    // Every part both tags have must agree, and they must share one:
    // 2026.01.6-ce0bf34 and 2026.01.6-bad0001 are two builds, not one release.
    const calver = ra.calver && rb.calver ? ra.calver === rb.calver : undefined;
    const sha = ra.sha && rb.sha ? ra.sha.startsWith(rb.sha) || rb.sha.startsWith(ra.sha) : undefined;
    return (calver ?? sha ?? false) && (sha ?? calver ?? false);
}
