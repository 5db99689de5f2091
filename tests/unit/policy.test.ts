import * as assert from "assert";
import { parseVersion } from "../../config/version";
import { lifecyclePolicyJson } from "../../ecr/lifecyclePolicy";
import {
    hostKeyViolations,
    lifecycleCoverageViolations,
    lifecyclePolicyViolations,
    pinnedImageViolations,
    tagMutabilityViolations,
    unpinnedReason,
} from "../../policy/rules";
import { quote } from "../../remote/shell";

const REPO = "476702565908.dkr.ecr.us-east-1.amazonaws.com/probability-backend";
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

/** A script shaped like remote/rollback.ts builds them, with the given target_image line(s). */
function script(...targetLines: string[]): string {
    return ["exec bash -c \"$(cat <<'ROLLBACK_SCRIPT'", "set -euo pipefail", "service=backend", `image_repository=${REPO}`,
        ...targetLines, 'podman pull --quiet "$target_image"', 'podman tag "$1" "$image_repository:latest"', "ROLLBACK_SCRIPT", ')"'].join("\n");
}

describe("policy rule (a): remote commands deploy a pinned image", () => {
    for (const image of [
        `${REPO}@${DIGEST}`,
        `${REPO}:2026.01.5-18c9e87`,
        `${REPO}:2026.12.10`,
        `${REPO}:f214c2d`,
        `${REPO}:${"a".repeat(40)}`,
        `127.0.0.1:5050/probability-nginx:2026.01.6`,
    ]) {
        it(`passes target_image=${image.replace(REPO, "<ecr>")}`, () => {
            assert.deepStrictEqual(pinnedImageViolations({ create: script(`target_image=${quote(image)}`) }), []);
        });
    }

    it("reads a single-quoted image as bash does", () => {
        assert.deepStrictEqual(pinnedImageViolations({ create: script(`target_image='${REPO}:2026.01.5'`) }), []);
        assert.strictEqual(pinnedImageViolations({ create: script(`target_image='${REPO}:latest'`) }).length, 1);
    });

    for (const [image, reason] of [
        [`${REPO}:latest`, /latest moves/],
        [REPO, /no tag, so it means latest/],
        ["127.0.0.1:5050/probability-nginx", /no tag/],
        [`${REPO}:2026.1.5`, /not a release tag/],
        [`${REPO}:v2026.01.5`, /not a release tag/],
        [`${REPO}:2026.01.5-F214C2D`, /not a release tag/],
        [`${REPO}:18c9e8`, /not a release tag/],
        [`${REPO}:stable`, /not a release tag/],
        [`${REPO}@sha256:abc`, /not sha256:<64 hex>/],
        [`${REPO}@md5:${"0".repeat(32)}`, /not sha256/],
        [`${REPO}@${DIGEST}:latest`, /not sha256/],
    ] as Array<[string, RegExp]>) {
        it(`fails target_image=${image.replace(REPO, "<ecr>")}`, () => {
            const violations = pinnedImageViolations({ create: script(`target_image=${quote(image)}`) });
            assert.strictEqual(violations.length, 1, JSON.stringify(violations));
            assert.match(violations[0], reason);
        });
    }

    for (const [what, props, reason] of [
        ["no create script", {}, /no create script/],
        ["a create that is not a string", { create: 42 }, /not a string/],
        ["no target_image= line", { create: script() }, /exactly once, not 0/],
        ["two target_image= lines (the second would win)", { create: script(`target_image=${REPO}:2026.01.5`, `target_image=${REPO}:latest`) }, /exactly once, not 2/],
        ["an image from a variable", { create: script(`target_image="$image_repository:$tag"`) }, /not a literal image/],
        ["an image from a command substitution", { create: script(`target_image=$(echo ${REPO}:2026.01.5)`) }, /not a literal image/],
        ["a pinned create but an update that deploys latest", { create: script(`target_image=${REPO}:2026.01.5`), update: script(`target_image=${REPO}:latest`) }, /update script deploys/],
    ] as Array<[string, Record<string, unknown>, RegExp]>) {
        it(`fails ${what}`, () => {
            const violations = pinnedImageViolations(props);
            assert.strictEqual(violations.length, 1, JSON.stringify(violations));
            assert.match(violations[0], reason);
        });
    }

    it("agrees with the program's own version parser on what a release tag is", () => {
        for (const tag of ["2026.01.4-f214c2d", "2026.01.4", "f214c2d", "2026.13.4", "2026.01.04", "2026.01.4-F214C2D", "latest", "18c9e8", "2026.01.4-f214c2d;x"]) {
            let accepted = true;
            try {
                parseVersion("v", tag);
            } catch {
                accepted = false;
            }
            assert.strictEqual(unpinnedReason(`${REPO}:${tag}`) === undefined, accepted, tag);
        }
    });
});

describe("policy rule (b): only latest is a mutable tag", () => {
    const good = { imageTagMutability: "IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters: [{ filter: "latest", filterType: "WILDCARD" }] };

    it("passes IMMUTABLE_WITH_EXCLUSION excluding exactly latest", () => {
        assert.deepStrictEqual(tagMutabilityViolations(good), []);
    });

    for (const [what, props, count] of [
        ["MUTABLE", { ...good, imageTagMutability: "MUTABLE" }, 1],
        ["IMMUTABLE (latest could not move)", { ...good, imageTagMutability: "IMMUTABLE", imageTagMutabilityExclusionFilters: undefined }, 2],
        ["no exclusion filter", { ...good, imageTagMutabilityExclusionFilters: [] }, 1],
        ["a wildcard exclusion latest*", { ...good, imageTagMutabilityExclusionFilters: [{ filter: "latest*", filterType: "WILDCARD" }] }, 1],
        ["a second exclusion 2026.*", { ...good, imageTagMutabilityExclusionFilters: [good.imageTagMutabilityExclusionFilters[0], { filter: "2026.*", filterType: "WILDCARD" }] }, 1],
        ["an exclusion of *", { ...good, imageTagMutabilityExclusionFilters: [{ filter: "*", filterType: "WILDCARD" }] }, 1],
        ["no mutability at all", {}, 2],
    ] as Array<[string, Record<string, unknown>, number]>) {
        it(`fails ${what}`, () => {
            assert.strictEqual(tagMutabilityViolations(props).length, count, JSON.stringify(tagMutabilityViolations(props)));
        });
    }
});

describe("policy rule (c): lifecycle policies keep the minimum and protect latest", () => {
    const policy = (rules: unknown[]) => ({ repository: "probability-backend", policy: JSON.stringify({ rules }) });
    const shield = (priority: number, tag: string) => ({
        rulePriority: priority, description: "", action: { type: "expire" },
        selection: { tagStatus: "tagged", tagPatternList: [tag], countType: "imageCountMoreThan", countNumber: 1 },
    });
    const keep = (priority: number, count: number, countType = "imageCountMoreThan") => ({
        rulePriority: priority, description: "", action: { type: "expire" },
        selection: { tagStatus: "any", countType, countNumber: count },
    });

    it("passes the program's policy (ecr/lifecyclePolicy.ts) at the minimum and above", () => {
        for (const retentionCount of [5, 7]) {
            const props = { repository: "r", policy: lifecyclePolicyJson({ retentionCount, protectedTags: ["latest", "2026.01.5-18c9e87"] }) };
            assert.deepStrictEqual(lifecyclePolicyViolations(props, 5), []);
        }
    });

    it("passes a policy given as an object, and untagged clean-up rules", () => {
        const untagged = { rulePriority: 2, action: { type: "expire" }, selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 } };
        assert.deepStrictEqual(lifecyclePolicyViolations({ policy: { rules: [shield(1, "latest"), untagged, keep(3, 5)] } }, 5), []);
    });

    it("uses the configured minimum", () => {
        const props = policy([shield(1, "latest"), keep(2, 5)]);
        assert.deepStrictEqual(lifecyclePolicyViolations(props, 5), []);
        assert.match(lifecyclePolicyViolations(props, 6)[0], /fewer than the minimum of 6/);
    });

    for (const [what, props, reason] of [
        ["keeping fewer than the minimum", policy([shield(1, "latest"), keep(2, 3)]), /keeps 3 .*fewer than the minimum of 5/],
        ["an any rule by age, not count", policy([shield(1, "latest"), keep(2, 30, "sinceImagePushed")]), /sinceImagePushed/],
        ["no any rule", policy([shield(1, "latest")]), /exactly one tagStatus any rule/],
        ["no rule protecting latest", policy([shield(1, "2026.01.5"), keep(2, 5)]), /protects the exact tag latest/],
        ["latest protected by prefix (also matches latest-foo)", policy([{ ...shield(1, "latest"), selection: { tagStatus: "tagged", tagPrefixList: ["latest"], countType: "imageCountMoreThan", countNumber: 1 } }, keep(2, 5)]), /protects the exact tag latest/],
        ["latest protected by a wildcard latest*", policy([shield(1, "latest*"), keep(2, 5)]), /protects the exact tag latest/],
        ["a tag rule that expires releases first", policy([shield(1, "latest"), { ...shield(2, "2026.*"), selection: { tagStatus: "tagged", tagPatternList: ["2026.*"], countType: "imageCountMoreThan", countNumber: 1 } }, keep(3, 5)]), /can expire release images/],
        ["a policy that is not JSON", { policy: "{rules" }, /not JSON/],
        ["a policy without rules", { policy: "{}" }, /no rules/],
    ] as Array<[string, Record<string, unknown>, RegExp]>) {
        it(`fails ${what}`, () => {
            const violations = lifecyclePolicyViolations(props, 5);
            assert.ok(violations.some((v) => reason.test(v)), JSON.stringify(violations));
        });
    }

    it("every ECR repository has a lifecycle policy", () => {
        const repo = (name: string) => ({ type: "aws:ecr/repository:Repository", name, props: { name: `probability-${name}` } });
        const lifecycle = (name: string) => ({ type: "aws:ecr/lifecyclePolicy:LifecyclePolicy", name, props: { repository: `probability-${name}` } });
        assert.deepStrictEqual(lifecycleCoverageViolations([repo("backend"), lifecycle("backend")]), []);
        const violations = lifecycleCoverageViolations([repo("backend"), lifecycle("backend"), repo("nginx"), lifecycle("website")]);
        assert.strictEqual(violations.length, 1);
        assert.match(violations[0], /"probability-nginx" \(nginx\) has no lifecycle policy/);
    });
});

describe("policy rule (d): remote connections pin a host key", () => {
    const key = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"B".repeat(43)}`;

    it("passes a connection with a host key line", () => {
        assert.deepStrictEqual(hostKeyViolations({ connection: { host: "h", hostKey: key } }), []);
        assert.deepStrictEqual(hostKeyViolations({ connection: { host: "h", hostKey: `ecdsa-sha2-nistp256 AAAAE2VjZHNh${"A".repeat(120)}=` } }), []);
    });

    for (const [what, props, reason] of [
        ["no host key", { connection: { host: "h", user: "deploy" } }, /no hostKey/],
        ["an empty host key", { connection: { host: "h", hostKey: "  " } }, /no hostKey/],
        ["no connection", {}, /no hostKey/],
        ["a host key that is not a key line", { connection: { host: "h", hostKey: "yes" } }, /not a public key line/],
        ["a fingerprint instead of the key", { connection: { host: "h", hostKey: "SHA256:Rj0JpLkTHZ1Z6Z3h9mCaQ3JxJ2nTz8qkP9pA3vOaXkE" } }, /not a public key line/],
    ] as Array<[string, Record<string, unknown>, RegExp]>) {
        it(`fails ${what}`, () => {
            const violations = hostKeyViolations(props);
            assert.strictEqual(violations.length, 1);
            assert.match(violations[0], reason);
        });
    }
});
