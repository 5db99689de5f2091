/**
 * The policy pack's checks as pure functions: resource properties in, the
 * list of violations out (empty when the resource complies). The pack
 * (index.ts) only wires them to resource types; the tests call them directly.
 *
 * They read the properties as the policy SDK hands them over: plain JSON,
 * secrets already unwrapped.
 */

type Props = Record<string, unknown>;

/** Release tags the pipeline pushes: YYYY.MM.N-SHA, YYYY.MM.N, or a git SHA of 7 to 40 hex digits. */
const RELEASE_TAG = /^(?:20\d{2}\.(?:0[1-9]|1[0-2])\.(?:0|[1-9]\d{0,3})(?:-[0-9a-f]{7,40})?|[0-9a-f]{7,40})$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** What quote() in remote/shell.ts leaves bare; anything else it single-quotes. */
const BARE_WORD = /^[A-Za-z0-9_@%+=:,.\/-]+$/;
const SINGLE_QUOTED = /^'(?:[^']|'\\'')*'$/;

/** The value of one `name=...` line of a script, as bash reads it; undefined if it is not a literal. */
function shellLiteral(word: string): string | undefined {
    if (BARE_WORD.test(word) && !word.startsWith("-")) {
        return word;
    }
    if (SINGLE_QUOTED.test(word)) {
        return word.slice(1, -1).replace(/'\\''/g, "'");
    }
    return undefined;
}

/** Why IMAGE is not pinned, or undefined when it ends in `:<release tag>` or `@sha256:<64 hex>`. */
export function unpinnedReason(image: string): string | undefined {
    const at = image.lastIndexOf("@");
    if (at > 0) {
        return DIGEST.test(image.slice(at + 1)) ? undefined : `its digest ${JSON.stringify(image.slice(at + 1))} is not sha256:<64 hex>`;
    }
    const colon = image.lastIndexOf(":");
    if (colon <= image.lastIndexOf("/")) {
        return "it has no tag, so it means latest";
    }
    const tag = image.slice(colon + 1);
    if (tag === "latest") {
        return "latest moves with every release";
    }
    return RELEASE_TAG.test(tag) ? undefined : `its tag ${JSON.stringify(tag)} is not a release tag (YYYY.MM.N-SHA, YYYY.MM.N or a git SHA)`;
}

/**
 * (a) A remote command deploys a pinned image: its script's one
 * `target_image=` line (remote/rollback.ts `variables`) holds a literal image
 * ending in `:<release tag>` or `@sha256:<digest>`.
 */
export function pinnedImageViolations(props: Props): string[] {
    const scripts = (["create", "update"] as const).filter((name) => props[name] !== undefined);
    if (!scripts.includes("create")) {
        return ["the command has no create script, so the image it deploys cannot be checked"];
    }
    return scripts.flatMap((name) => {
        const script = props[name];
        if (typeof script !== "string") {
            return [`its ${name} script is not a string`];
        }
        const lines = script.split("\n").filter((line) => line.startsWith("target_image="));
        if (lines.length !== 1) {
            return [`its ${name} script must set target_image= exactly once, not ${lines.length} times`];
        }
        const image = shellLiteral(lines[0].slice("target_image=".length));
        if (image === undefined) {
            return [`its ${name} script's target_image= is not a literal image: ${lines[0].slice(0, 200)}`];
        }
        const reason = unpinnedReason(image);
        return reason === undefined ? [] : [`its ${name} script deploys ${image}, which is not pinned: ${reason}`];
    });
}

/**
 * (b) Release tags are immutable and only `latest` may move:
 * IMMUTABLE_WITH_EXCLUSION, with `latest` as the only exclusion.
 */
export function tagMutabilityViolations(props: Props): string[] {
    const violations: string[] = [];
    if (props.imageTagMutability !== "IMMUTABLE_WITH_EXCLUSION") {
        violations.push(`imageTagMutability is ${JSON.stringify(props.imageTagMutability)}, not IMMUTABLE_WITH_EXCLUSION (release tags immutable, latest movable)`);
    }
    const filters = props.imageTagMutabilityExclusionFilters;
    if (!Array.isArray(filters) || filters.length === 0) {
        violations.push("imageTagMutabilityExclusionFilters must exclude latest, and only latest");
    } else {
        for (const filter of filters as Array<Record<string, unknown> | null>) {
            if (filter?.filter !== "latest" || filter?.filterType !== "WILDCARD") {
                violations.push(`exclusion filter ${JSON.stringify(filter)} makes more than latest mutable: only {"filter":"latest","filterType":"WILDCARD"} is allowed`);
            }
        }
    }
    return violations;
}

interface LifecycleRule {
    rulePriority?: unknown;
    selection?: {
        tagStatus?: unknown;
        tagPatternList?: unknown;
        tagPrefixList?: unknown;
        countType?: unknown;
        countNumber?: unknown;
    };
    action?: { type?: unknown };
}

/** A rule that selects the image tagged exactly TAG and keeps it (it is the only image with that tag). */
function shields(rule: LifecycleRule, tag: string): boolean {
    const s = rule.selection ?? {};
    return (
        s.tagStatus === "tagged" &&
        Array.isArray(s.tagPatternList) && s.tagPatternList.length === 1 && s.tagPatternList[0] === tag &&
        s.tagPrefixList === undefined &&
        s.countType === "imageCountMoreThan" && typeof s.countNumber === "number" && s.countNumber >= 1
    );
}

/** A tagged rule that only ever selects images carrying the exact tags it names: it expires nothing a release needs. */
function exactTagShield(rule: LifecycleRule): boolean {
    const s = rule.selection ?? {};
    return (
        s.tagStatus === "tagged" && s.tagPrefixList === undefined &&
        Array.isArray(s.tagPatternList) && s.tagPatternList.every((p) => typeof p === "string" && !p.includes("*")) &&
        s.countType === "imageCountMoreThan" && typeof s.countNumber === "number" && s.countNumber >= 1
    );
}

/**
 * (c) The lifecycle policy keeps at least MINIMUM images through its `any`
 * rule, nothing before that rule expires releases, and a rule of higher
 * priority (lower number) shields the image tagged exactly `latest`.
 */
export function lifecyclePolicyViolations(props: Props, minimum: number): string[] {
    let rules: LifecycleRule[];
    try {
        const policy = typeof props.policy === "string" ? JSON.parse(props.policy) : props.policy;
        rules = (policy as { rules?: unknown })?.rules as LifecycleRule[];
    } catch {
        return ["policy is not JSON"];
    }
    if (!Array.isArray(rules)) {
        return ["policy has no rules"];
    }
    const anyRules = rules.filter((rule) => rule.selection?.tagStatus === "any");
    if (anyRules.length !== 1) {
        return [`policy needs exactly one tagStatus any rule that keeps the last ${minimum} images, not ${anyRules.length}`];
    }
    const [keep] = anyRules;
    const priority = Number(keep.rulePriority);
    const violations: string[] = [];
    if (keep.selection?.countType !== "imageCountMoreThan" || typeof keep.selection.countNumber !== "number" || keep.selection.countNumber < minimum) {
        violations.push(`the any rule keeps ${JSON.stringify(keep.selection?.countNumber)} (${JSON.stringify(keep.selection?.countType)}), fewer than the minimum of ${minimum} most recent images`);
    }
    if (!rules.some((rule) => shields(rule, "latest") && Number(rule.rulePriority) < priority)) {
        violations.push("no rule of higher priority than the any rule protects the exact tag latest (tagPatternList [\"latest\"], imageCountMoreThan 1)");
    }
    for (const rule of rules) {
        if (rule !== keep && rule.selection?.tagStatus !== "untagged" && Number(rule.rulePriority) < priority && !exactTagShield(rule)) {
            violations.push(`rule ${JSON.stringify(rule.rulePriority)} can expire release images before the any rule keeps ${minimum}: ${JSON.stringify(rule.selection)}`);
        }
    }
    return violations;
}

const HOST_KEY = /^(?:ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}$/;

/** (d) A remote command's connection pins the server's host key, so a man in the middle is refused. */
export function hostKeyViolations(props: Props): string[] {
    const connection = props.connection as Record<string, unknown> | undefined;
    const hostKey = connection?.hostKey;
    if (typeof hostKey !== "string" || hostKey.trim() === "") {
        return ["its connection has no hostKey: any server answering at the address would be trusted"];
    }
    return HOST_KEY.test(hostKey.trim()) ? [] : [`its connection's hostKey is not a public key line "<type> <base64>": ${JSON.stringify(hostKey.slice(0, 80))}`];
}

/** A resource as a stack policy sees it. */
export interface PolicyResource {
    type: string;
    name: string;
    props: Props;
}

/** (b, c) Every ECR repository has a lifecycle policy attached (by repository name). */
export function lifecycleCoverageViolations(resources: readonly PolicyResource[]): string[] {
    const covered = new Set(
        resources.filter((r) => r.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy").map((r) => r.props.repository),
    );
    return resources
        .filter((r) => r.type === "aws:ecr/repository:Repository" && !covered.has(r.props.name))
        .map((r) => `ECR repository ${JSON.stringify(r.props.name)} (${r.name}) has no lifecycle policy: nothing keeps its last releases or protects latest`);
}

export const DEFAULT_MINIMUM_RETENTION = 5;
