import * as assert from "assert";
import { groupByDigest, rollbackTargets } from "../../registry/images";

describe("repository images", () => {
    it("groups a registry's (tag, digest) pairs into images carrying all their tags", () => {
        const images = groupByDigest([
            { digest: "sha256:a", tag: "2026.01.5-18c9e87" },
            { digest: "sha256:b", tag: "2026.01.4" },
            { digest: "sha256:a", tag: "latest" },
            { digest: "sha256:a", tag: "18c9e87" },
            { digest: "sha256:c" },
        ]);
        assert.deepStrictEqual(images, [
            { digest: "sha256:a", tags: ["2026.01.5-18c9e87", "latest", "18c9e87"] },
            { digest: "sha256:b", tags: ["2026.01.4"] },
            { digest: "sha256:c", tags: [] },
        ]);
    });

    it("lists rollback targets newest release first, across months and double-digit N, by their most precise tag", () => {
        const images = groupByDigest([
            { digest: "sha256:1", tag: "2026.11.20-aaaaaaa" },
            { digest: "sha256:2", tag: "2026.12.9" },
            { digest: "sha256:3", tag: "2026.12.10-bbbbbbb" },
            { digest: "sha256:3", tag: "2026.12.10" },
            { digest: "sha256:3", tag: "bbbbbbb" },
            { digest: "sha256:3", tag: "latest" },
            { digest: "sha256:4", tag: "build-cache" },
        ]);
        assert.deepStrictEqual(rollbackTargets(images), ["2026.12.10-bbbbbbb", "2026.12.9", "2026.11.20-aaaaaaa"]);
    });
});
