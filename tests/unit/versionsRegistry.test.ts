import * as assert from "assert";
import { createHash } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";
import { ImageSourceError } from "../../registry/imageSource";
import { nextPage, registryBaseUrl, PlainRegistrySource } from "../../registry/plainRegistrySource";

const DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json";
const OCI = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

interface FakeImage {
    tags: string[];
    created?: string;
    layers?: number[];
    mediaType?: string;
}

const sha256 = (body: string) => `sha256:${createHash("sha256").update(body).digest("hex")}`;

/**
 * A registry HTTP API v2 in the test process: tags/list (paged with a Link
 * header), manifests (negotiated by Accept), config blobs.
 */
class FakeRegistry {
    readonly requests: string[] = [];
    private server?: http.Server;
    private readonly manifests = new Map<string, { body: string; mediaType: string }>();
    private readonly blobs = new Map<string, string>();
    private readonly repositories = new Map<string, string[]>();
    status?: number;
    sendDigestHeader = true;
    pageSize = 1000;

    add(repository: string, images: FakeImage[]): Map<string, string> {
        const digestOf = new Map<string, string>();
        const tags: string[] = [];
        images.forEach((image, index) => {
            const mediaType = image.mediaType ?? DOCKER_V2;
            const config = JSON.stringify({ created: image.created, architecture: "amd64", os: "linux", n: index });
            const configDigest = sha256(config);
            this.blobs.set(configDigest, config);
            const body = JSON.stringify(
                mediaType === OCI_INDEX
                    ? { schemaVersion: 2, mediaType, manifests: [] }
                    : {
                          schemaVersion: 2,
                          mediaType,
                          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
                          layers: (image.layers ?? [1000]).map((size, n) => ({ mediaType: "layer", digest: sha256(`${index}-${n}`), size })),
                      },
            );
            for (const tag of image.tags) {
                this.manifests.set(`${repository}:${tag}`, { body, mediaType });
                digestOf.set(tag, sha256(body));
                tags.push(tag);
            }
        });
        this.repositories.set(repository, tags);
        return digestOf;
    }

    async start(): Promise<string> {
        this.server = http.createServer((request, response) => this.handle(request, response));
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    }

    async stop(): Promise<void> {
        await new Promise((resolve) => this.server?.close(resolve));
    }

    private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
        const url = new URL(request.url ?? "/", "http://fake");
        this.requests.push(`${request.method} ${url.pathname}${url.search}`);
        const send = (status: number, body: string, headers: Record<string, string> = {}) => {
            response.writeHead(status, { "Content-Type": "application/json", ...headers });
            response.end(body);
        };
        if (this.status) {
            return send(this.status, JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }));
        }
        let match = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
        if (match) {
            const tags = this.repositories.get(match[1]);
            if (!tags) {
                return send(404, JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] }));
            }
            const last = url.searchParams.get("last");
            const start = last ? tags.indexOf(last) + 1 : 0;
            const page = tags.slice(start, start + this.pageSize);
            const more = start + this.pageSize < tags.length;
            const link = more ? { Link: `</v2/${match[1]}/tags/list?last=${page[page.length - 1]}&n=${this.pageSize}>; rel="next"` } : undefined;
            return send(200, JSON.stringify({ name: match[1], tags: page }), link);
        }
        match = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
        if (match) {
            const manifest = this.manifests.get(`${match[1]}:${decodeURIComponent(match[2])}`);
            if (!manifest) {
                return send(404, JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN" }] }));
            }
            if (!(request.headers.accept ?? "").includes(manifest.mediaType)) {
                return send(404, JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "not acceptable" }] }));
            }
            const headers: Record<string, string> = { "Content-Type": manifest.mediaType };
            if (this.sendDigestHeader) {
                headers["Docker-Content-Digest"] = sha256(manifest.body);
            }
            return send(200, manifest.body, headers);
        }
        match = /^\/v2\/(.+)\/blobs\/(.+)$/.exec(url.pathname);
        const blob = match ? this.blobs.get(decodeURIComponent(match[2])) : undefined;
        return blob ? send(200, blob, { "Content-Type": "application/octet-stream" }) : send(404, "{}");
    }
}

describe("versions from a plain registry (HTTP API v2)", () => {
    let registry: FakeRegistry;
    let base: string;
    let digests: Map<string, string>;

    beforeEach(async () => {
        registry = new FakeRegistry();
        digests = registry.add("probability-backend", [
            { tags: ["2026.01.4-f214c2d", "2026.01.4", "f214c2d"], created: "2026-01-14T10:00:00Z", layers: [1000, 2000] },
            { tags: ["2026.01.6-aaaaaaa", "latest", "2026.01.6", "aaaaaaa"], created: "2026-01-20T10:00:00Z", layers: [3 * 1024 * 1024], mediaType: OCI },
            { tags: ["2026.01.5-18c9e87", "2026.01.5", "18c9e87"], created: "2026-01-16T10:00:00Z" },
        ]);
        base = await registry.start();
    });

    afterEach(() => registry.stop());

    const source = () => new PlainRegistrySource("127.0.0.1:5050", base);

    it("groups the tags by manifest digest: one record per image, newest first, with date and size", async () => {
        const listing = await source().list("probability-backend");
        assert.deepStrictEqual(
            listing.images.map((image) => [image.tags, image.digest, image.date?.toISOString(), image.sizeBytes]),
            [
                [["2026.01.6-aaaaaaa", "2026.01.6", "aaaaaaa", "latest"], digests.get("latest"), "2026-01-20T10:00:00.000Z", 3 * 1024 * 1024],
                [["2026.01.5-18c9e87", "2026.01.5", "18c9e87"], digests.get("18c9e87"), "2026-01-16T10:00:00.000Z", 1000],
                [["2026.01.4-f214c2d", "2026.01.4", "f214c2d"], digests.get("f214c2d"), "2026-01-14T10:00:00.000Z", 3000],
            ],
        );
        // One config blob per image, not per tag.
        assert.strictEqual(registry.requests.filter((r) => r.includes("/blobs/")).length, 3);
    });

    it("follows the Link header through every page of tags", async () => {
        registry.pageSize = 4;
        const listing = await source().list("probability-backend");
        assert.strictEqual(listing.images.flatMap((image) => image.tags).length, 10);
        assert.strictEqual(registry.requests.filter((r) => r.includes("/tags/list")).length, 3);
    });

    it("computes the digest from the manifest when the registry sends no Docker-Content-Digest", async () => {
        registry.sendDigestHeader = false;
        const listing = await source().list("probability-backend");
        assert.strictEqual(listing.images[0].digest, digests.get("latest"));
        assert.strictEqual(listing.images.length, 3);
    });

    it("keeps a multi-platform index as one image without date or size", async () => {
        registry.add("probability-nginx", [{ tags: ["2026.01.6-bbbbbbb", "latest"], mediaType: OCI_INDEX }]);
        const listing = await source().list("probability-nginx");
        assert.deepStrictEqual(listing.images.map((image) => [image.tags, image.date, image.sizeBytes]), [[["2026.01.6-bbbbbbb", "latest"], undefined, undefined]]);
    });

    it("names a repository the registry does not know; the other services can still be listed", async () => {
        await assert.rejects(source().list("probability-nope"), (error: unknown) => {
            assert.ok(error instanceof ImageSourceError);
            assert.strictEqual(error.fatal, false);
            assert.strictEqual(error.message, "repository probability-nope does not exist in the registry 127.0.0.1:5050");
            return true;
        });
    });

    it("stops when the registry wants a login", async () => {
        registry.status = 401;
        await assert.rejects(source().list("probability-backend"), (error: unknown) => {
            assert.ok(error instanceof ImageSourceError && error.fatal);
            assert.match(error.message, /asks for a login \(HTTP 401\)/);
            return true;
        });
    });

    it("stops when the registry does not answer", async () => {
        await registry.stop();
        await assert.rejects(source().list("probability-backend"), (error: unknown) => {
            assert.ok(error instanceof ImageSourceError && error.fatal);
            assert.match(error.message, /^cannot reach the registry at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is it running\?$/);
            return true;
        });
    });
});

describe("registry URLs", () => {
    it("uses http for a loopback registry and https for any other", () => {
        assert.strictEqual(registryBaseUrl("127.0.0.1:5050"), "http://127.0.0.1:5050");
        assert.strictEqual(registryBaseUrl("localhost:5000"), "http://localhost:5000");
        assert.strictEqual(registryBaseUrl("registry.example.com"), "https://registry.example.com");
        assert.strictEqual(registryBaseUrl("127.example.com:443"), "https://127.example.com:443");
    });

    it("reads the next page from a Link header", () => {
        assert.strictEqual(nextPage(`</v2/r/tags/list?last=b&n=2>; rel="next"`), "/v2/r/tags/list?last=b&n=2");
        assert.strictEqual(nextPage(null), undefined);
        assert.strictEqual(nextPage(`</x>; rel="prev"`), undefined);
    });
});
