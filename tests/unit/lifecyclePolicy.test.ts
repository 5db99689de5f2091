import * as assert from "assert";
import { lifecyclePolicyJson, lifecycleRules } from "../../ecr/lifecyclePolicy";

/**
 * A small model of ECR's lifecycle evaluation, enough to check what a policy
 * means for a repository's images (AWS's "filtering on multiple rules"
 * example): rules run in ascending priority; a count rule marks the oldest of
 * the images it matches beyond countNumber; an image that an earlier rule
 * matched still counts for later rules but is never expired by them.
 */
interface Image { pushed: number; tags: string[] }
function survivors(policyJson: string, images: Image[]): Image[] {
    const { rules } = JSON.parse(policyJson);
    const expired = new Set<Image>();
    const claimed = new Set<Image>();
    for (const rule of [...rules].sort((a, b) => a.rulePriority - b.rulePriority)) {
        const { selection } = rule;
        const selected = images.filter((image) => {
            if (selection.tagStatus === "any") return true;
            return selection.tagPatternList.every((pattern: string) =>
                image.tags.some((tag) => new RegExp(`^${pattern.split("*").map(escape).join(".*")}$`).test(tag)));
        });
        selected
            .sort((a, b) => b.pushed - a.pushed)
            .slice(selection.countNumber)
            .filter((image) => !claimed.has(image))
            .forEach((image) => expired.add(image));
        selected.forEach((image) => claimed.add(image));
    }
    return images.filter((image) => !expired.has(image));
}
function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
function release(n: number, latest = false): Image {
    const tags = [`2026.01.${n}-abc00${n}0`, `2026.01.${n}`, `abc00${n}0`];
    return { pushed: n, tags: latest ? ["latest", ...tags] : tags };
}

describe("lifecycle policy", () => {
    it("keeps the 5 most recent images of 8 releases", () => {
        const images = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => release(n, n === 8));
        const kept = survivors(lifecyclePolicyJson({ retentionCount: 5, protectedTags: ["latest"] }), images);
        assert.deepStrictEqual(kept.map((i) => i.pushed), [4, 5, 6, 7, 8]);
    });

    it("never expires the image tagged latest, even when it is the oldest", () => {
        // latest was moved back to release 1 by a rollback-style retag and pushed.
        const images = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => release(n, n === 1));
        const kept = survivors(lifecyclePolicyJson({ retentionCount: 5, protectedTags: ["latest"] }), images);
        assert.ok(kept.some((i) => i.tags.includes("latest")));
    });

    it("never expires the pinned version's image", () => {
        const images = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => release(n, n === 8));
        const kept = survivors(lifecyclePolicyJson({ retentionCount: 5, protectedTags: ["latest", "2026.01.2-abc0020"] }), images);
        assert.deepStrictEqual(kept.map((i) => i.pushed), [2, 4, 5, 6, 7, 8]);
    });

    it("matches latest exactly: an image tagged latest-foo is not protected", () => {
        const images = [
            { pushed: 1, tags: ["latest-foo"] },
            ...[2, 3, 4, 5, 6, 7].map((n) => release(n, n === 7)),
        ];
        const kept = survivors(lifecyclePolicyJson({ retentionCount: 5, protectedTags: ["latest"] }), images);
        assert.ok(!kept.some((i) => i.tags.includes("latest-foo")));
    });

    it("emits rules in ascending priority, the `any` rule last, no null fields", () => {
        const json = lifecyclePolicyJson({ retentionCount: 7, protectedTags: ["latest", "2026.01.4-f214c2d"] });
        assert.ok(!json.includes("null"));
        const { rules } = JSON.parse(json);
        assert.deepStrictEqual(rules.map((r: any) => r.rulePriority), [1, 2, 3]);
        assert.deepStrictEqual(rules.map((r: any) => r.selection.tagStatus), ["tagged", "tagged", "any"]);
        assert.deepStrictEqual(rules[0].selection.tagPatternList, ["latest"]);
        assert.strictEqual(rules[2].selection.countNumber, 7);
        assert.ok(rules.every((r: any) => r.action.type === "expire" && r.selection.tagPrefixList === undefined));
    });

    it("protects a tag once even when it is named twice", () => {
        assert.strictEqual(lifecycleRules({ retentionCount: 5, protectedTags: ["latest", "latest"] }).length, 2);
    });

    it("refuses a retention count below 1 and wildcard protected tags", () => {
        assert.throws(() => lifecycleRules({ retentionCount: 0, protectedTags: [] }), /at least 1/);
        assert.throws(() => lifecycleRules({ retentionCount: 5, protectedTags: ["2026.*"] }), /cannot contain \*/);
    });
});
