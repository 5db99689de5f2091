import { showValue } from "./show";

/**
 * Image tags the release pipeline pushes, and the only ones a service may be
 * pinned to. `latest` moves with every release, so pinning it would make the
 * stack's config say nothing about what runs.
 */
export type VersionForm = "calver-sha" | "calver" | "sha";

export interface PinnedVersion {
    /** The tag exactly as pushed, e.g. `2026.01.4-f214c2d`. */
    tag: string;
    form: VersionForm;
}

const CALVER = String.raw`20\d{2}\.(?:0[1-9]|1[0-2])\.(?:0|[1-9]\d{0,3})`;
const SHA = String.raw`[0-9a-f]{7,40}`;

const FORMS: ReadonlyArray<[VersionForm, RegExp]> = [
    ["calver-sha", new RegExp(`^${CALVER}-${SHA}$`)],
    ["calver", new RegExp(`^${CALVER}$`)],
    ["sha", new RegExp(`^${SHA}$`)],
];

export const ACCEPTED_VERSION_FORMS =
    "YYYY.MM.N-SHA (preferred, e.g. 2026.01.4-f214c2d), YYYY.MM.N (e.g. 2026.01.4) or a short git SHA (7 to 40 lowercase hex digits, e.g. f214c2d)";

export class InvalidVersionError extends Error {}

/** Parses a pinned version; `key` names the config key in the error. */
export function parseVersion(key: string, value: unknown): PinnedVersion {
    if (typeof value === "string") {
        const match = FORMS.find(([, pattern]) => pattern.test(value));
        if (match) {
            return { tag: value, form: match[0] };
        }
    }
    const shown = typeof value === "string" ? showValue(value) : String(value);
    const hint = value === "latest" ? " `latest` moves with every release and cannot be pinned." : "";
    throw new InvalidVersionError(
        `${key}: ${shown} is not a release tag.${hint} Accepted forms: ${ACCEPTED_VERSION_FORMS}.`,
    );
}
