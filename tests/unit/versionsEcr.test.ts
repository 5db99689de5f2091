process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true"; // the SDK warns about node 20 once per process
import { DescribeImagesCommand, DescribeImagesCommandInput, ECRClient, ImageDetail, RepositoryNotFoundException } from "@aws-sdk/client-ecr";
import * as assert from "assert";
import { mockClient } from "aws-sdk-client-mock";
import { ToolError } from "../../tools/lib/cli";
import { EcrSource } from "../../registry/ecrSource";
import { ImageSourceError } from "../../registry/imageSource";
import { collectVersions } from "../../tools/versions";

const ecr = mockClient(ECRClient);
const client = () => new ECRClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });

function release(n: number, sha: string, pushed: string, extra: string[] = []): ImageDetail {
    return {
        imageDigest: `sha256:${sha.repeat(10).slice(0, 64)}`,
        imageTags: [sha, `2026.01.${n}`, `2026.01.${n}-${sha}`, ...extra],
        imagePushedAt: new Date(pushed),
        imageSizeInBytes: 50 * 1024 * 1024 + n,
    };
}

const RELEASES = [
    release(4, "f214c2d", "2026-01-14T10:00:00Z"),
    release(6, "aaaaaaa", "2026-01-20T10:00:00Z", ["latest"]),
    { imageDigest: `sha256:${"0".repeat(64)}`, imagePushedAt: new Date("2026-01-21T00:00:00Z") },
    release(5, "18c9e87", "2026-01-16T10:00:00Z"),
];

/** Serves RELEASES in pages of two, as DescribeImages does with nextToken. */
function pagedRepository(pageSize = 2) {
    ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
        if (input.repositoryName !== "probability-backend") {
            throw new RepositoryNotFoundException({ message: `The repository with name '${input.repositoryName}' does not exist`, $metadata: {} });
        }
        const start = input.nextToken ? Number(input.nextToken) : 0;
        const end = start + pageSize;
        return { imageDetails: RELEASES.slice(start, end), nextToken: end < RELEASES.length ? String(end) : undefined };
    });
}

describe("versions from ECR", () => {
    beforeEach(() => ecr.reset());

    it("reads every page, one record per image with all its tags in the runbook's order, newest first", async () => {
        pagedRepository();
        const listing = await new EcrSource(client(), "us-east-1").list("probability-backend");
        assert.strictEqual(ecr.commandCalls(DescribeImagesCommand).length, 2);
        assert.deepStrictEqual(
            listing.images.map((image) => image.tags),
            [
                ["2026.01.6-aaaaaaa", "2026.01.6", "aaaaaaa", "latest"],
                ["2026.01.5-18c9e87", "2026.01.5", "18c9e87"],
                ["2026.01.4-f214c2d", "2026.01.4", "f214c2d"],
            ],
        );
        assert.strictEqual(listing.untagged, 1);
        assert.deepStrictEqual(listing.images[0].date, new Date("2026-01-20T10:00:00Z"));
        assert.strictEqual(listing.images[0].sizeBytes, 50 * 1024 * 1024 + 6);
        assert.strictEqual(ecr.commandCalls(DescribeImagesCommand)[1].args[0].input.nextToken, "2");
    });

    it("marks archived images, which must be restored before a pull", async () => {
        ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ ...release(3, "bbbbbbb", "2026-01-10T00:00:00Z"), imageStatus: "ARCHIVED" }] });
        const listing = await new EcrSource(client(), "us-east-1").list("probability-backend");
        assert.strictEqual(listing.images[0].archived, true);
    });

    it("names a missing repository and its region, and lets the other services be listed", async () => {
        pagedRepository();
        await assert.rejects(new EcrSource(client(), "us-east-1").list("probability-nope"), (error: unknown) => {
            assert.ok(error instanceof ImageSourceError);
            assert.strictEqual(error.fatal, false);
            assert.match(error.message, /^ECR repository probability-nope does not exist in us-east-1/);
            return true;
        });
    });

    it("says in one line that credentials are missing, and stops", async () => {
        const missing = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
        ecr.on(DescribeImagesCommand).rejects(missing);
        await assert.rejects(new EcrSource(client(), "us-east-1").list("probability-backend"), (error: unknown) => {
            assert.ok(error instanceof ImageSourceError);
            assert.strictEqual(error.fatal, true);
            assert.match(error.message, /^no usable AWS credentials \(CredentialsProviderError: Could not load credentials from any providers\)\. Log in first/);
            assert.ok(!error.message.includes("\n"));
            return true;
        });
    });

    it("reports expired and rejected credentials as such", async () => {
        ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error("The security token included in the request is expired"), { name: "ExpiredTokenException" }));
        await assert.rejects(new EcrSource(client(), "us-east-1").list("probability-backend"), /no usable AWS credentials \(ExpiredTokenException/);
        ecr.reset();
        ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error("not authorized to perform: ecr:DescribeImages"), { name: "AccessDeniedException" }));
        await assert.rejects(new EcrSource(client(), "us-east-1").list("probability-backend"), /AWS refused the request \(AccessDeniedException.*ecr:DescribeImages on probability-backend/);
    });
});

describe("collectVersions", () => {
    beforeEach(() => ecr.reset());

    const stack = { "backendVersion": "2026.01.5-18c9e87", "frontendVersion": "2026.01.5", "websiteVersion": "latest" } as Record<string, string>;
    const read = (key: string) => stack[key];
    const meta = { stack: "prod", stackFile: "Pulumi.prod.yaml" };

    it("lists each service, keeps going past a missing repository, and reports pin problems", async () => {
        pagedRepository();
        const report = await collectVersions(read, new EcrSource(client(), "us-east-1"), meta);
        assert.deepStrictEqual(report.services.map((s) => s.service), ["backend", "frontend", "website", "nginx"]);
        const [backend, frontend, website, nginx] = report.services;
        assert.deepStrictEqual(backend.pinned, { tag: "2026.01.5-18c9e87", form: "calver-sha" });
        assert.ok("images" in backend.listing && backend.listing.images.length === 3);
        assert.deepStrictEqual(frontend.listing, {
            error: "ECR repository probability-frontend does not exist in us-east-1 (for the account of the current AWS credentials)",
        });
        assert.match(website.pinProblem ?? "", /websiteVersion: "latest" is not a release tag/);
        assert.strictEqual(nginx.pinProblem, "nginxVersion is not set in Pulumi.prod.yaml");
        assert.strictEqual(report.source, "ECR us-east-1");
        assert.strictEqual(report.dateLabel, "pushed");
    });

    it("lists only the service asked for", async () => {
        pagedRepository();
        const report = await collectVersions(read, new EcrSource(client(), "us-east-1"), meta, "backend");
        assert.deepStrictEqual(report.services.map((s) => s.service), ["backend"]);
    });

    it("stops at the first error that would hit every repository", async () => {
        ecr.on(DescribeImagesCommand).rejects(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }));
        await assert.rejects(collectVersions(read, new EcrSource(client(), "us-east-1"), meta), (error: unknown) => {
            assert.ok(error instanceof ToolError);
            assert.match(error.message, /^no usable AWS credentials/);
            return true;
        });
        assert.strictEqual(ecr.commandCalls(DescribeImagesCommand).length, 1);
    });
});
