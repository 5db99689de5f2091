import * as assert from "assert";
import { formatDate, formatSize, renderTable, shortId } from "../../tools/lib/table";
import { sortTags } from "../../registry/tags";
import { formatVersions, markers, VersionsReport } from "../../tools/lib/versionsReport";

const image = (n: number, sha: string, day: number, extra: string[] = []) => ({
    digest: `sha256:${sha}${"0".repeat(57)}`,
    tags: sortTags([`2026.01.${n}-${sha}`, `2026.01.${n}`, sha, ...extra]),
    date: new Date(Date.UTC(2026, 0, day, 10, 5)),
    sizeBytes: 88_300_000 + n,
});

describe("versions report", () => {
    it("prints one table per service with markers, and says what is wrong below it", () => {
        const report: VersionsReport = {
            stack: "prod",
            stackFile: "Pulumi.prod.yaml",
            source: "ECR us-east-1",
            dateLabel: "pushed",
            services: [
                {
                    service: "backend",
                    repository: "probability-backend",
                    pinned: { tag: "2026.01.5-18c9e87", form: "calver-sha" },
                    listing: { images: [image(6, "aaaaaaa", 20, ["latest"]), image(5, "18c9e87", 16), { ...image(4, "f214c2d", 14), archived: true }], untagged: 2 },
                },
                {
                    service: "frontend",
                    repository: "probability-frontend",
                    pinned: { tag: "2026.01.2", form: "calver" },
                    listing: { images: [image(6, "bbbbbbb", 20, ["latest"])], untagged: 0 },
                },
                {
                    service: "website",
                    repository: "probability-website",
                    pinProblem: 'websiteVersion: "latest" is not a release tag.',
                    listing: { error: "ECR repository probability-website does not exist in us-east-1" },
                },
                { service: "nginx", repository: "probability-nginx", pinned: { tag: "2026.01.6", form: "calver" }, listing: { images: [], untagged: 1 } },
            ],
        };
        assert.strictEqual(
            formatVersions(report),
            [
                "Stack prod: images in ECR us-east-1, newest first (dates UTC). Pin one with: pulumi config set --stack prod <service>Version <tag>",
                "",
                "backend (probability-backend), pinned 2026.01.5-18c9e87 in Pulumi.prod.yaml",
                "  MARK      TAGS                                        PUSHED             SIZE      DIGEST",
                "  latest    2026.01.6-aaaaaaa 2026.01.6 aaaaaaa latest  2026-01-20 10:05Z  84.2 MiB  aaaaaaa00000",
                "  pinned    2026.01.5-18c9e87 2026.01.5 18c9e87         2026-01-16 10:05Z  84.2 MiB  18c9e8700000",
                "  archived  2026.01.4-f214c2d 2026.01.4 f214c2d         2026-01-14 10:05Z  84.2 MiB  f214c2d00000",
                "  ! archived images must be restored in ECR before they can be pulled",
                "  (2 untagged images not listed: only a tag can be pinned)",
                "",
                "frontend (probability-frontend), pinned 2026.01.2 in Pulumi.prod.yaml",
                "  MARK    TAGS                                        PUSHED             SIZE      DIGEST",
                "  latest  2026.01.6-bbbbbbb 2026.01.6 bbbbbbb latest  2026-01-20 10:05Z  84.2 MiB  bbbbbbb00000",
                "  ! the pinned 2026.01.2 is not in probability-frontend: a pulumi up would fail to pull it",
                "",
                "website (probability-website), no valid pinned version in Pulumi.prod.yaml",
                "  ! ECR repository probability-website does not exist in us-east-1",
                "",
                "nginx (probability-nginx), pinned 2026.01.6 in Pulumi.prod.yaml",
                "  (no tagged image: nothing to roll back to)",
                "  ! the pinned 2026.01.6 is not in probability-nginx: a pulumi up would fail to pull it",
                "  (1 untagged image not listed: only a tag can be pinned)",
                "",
            ].join("\n"),
        );
    });

    it("marks an image that is both latest and pinned, whichever tag form is pinned", () => {
        const tags = ["2026.01.6-aaaaaaa", "2026.01.6", "aaaaaaa", "latest"];
        assert.strictEqual(markers(tags, { tag: "aaaaaaa", form: "sha" }, false), "latest pinned");
        assert.strictEqual(markers(tags, { tag: "2026.01.6", form: "calver" }, true), "latest pinned archived");
        assert.strictEqual(markers(tags, undefined, undefined), "latest");
    });

    it("orders tags as the runbook lists them", () => {
        assert.deepStrictEqual(sortTags(["latest", "zz-cache", "18c9e87", "2026.01.5", "2026.01.5-18c9e87", "latest"]), [
            "2026.01.5-18c9e87",
            "2026.01.5",
            "18c9e87",
            "latest",
            "zz-cache",
        ]);
    });

    it("formats cells and pads columns without trailing blanks", () => {
        assert.deepStrictEqual(renderTable(["A", "BB"], [["xyz", ""], ["", "1"]]), ["A    BB", "xyz", "     1"]);
        assert.strictEqual(formatSize(undefined), "-");
        assert.strictEqual(formatSize(512), "512 B");
        assert.strictEqual(formatSize(1536), "1.5 KiB");
        assert.strictEqual(formatDate(undefined), "-");
        assert.strictEqual(formatDate(new Date("2026-01-20T10:05:09Z"), true), "2026-01-20 10:05:09Z");
        assert.strictEqual(shortId("sha256:0123456789abcdef"), "0123456789ab");
        assert.strictEqual(shortId(undefined), "-");
    });
});
