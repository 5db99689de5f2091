import { createHash } from "crypto";
import { groupByDigest } from "./images";
import { ImageRecord, ImageSource, ImageSourceError, RepositoryImages, sortImages } from "./imageSource";

const MANIFEST = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];
const INDEX = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
const ACCEPT = [...MANIFEST, ...INDEX].join(", ");
const PARALLEL = 4;
const TIMEOUT_MS = 15_000;

/** A loopback registry speaks plain http (the sandbox); any other host https. */
export function registryBaseUrl(host: string): string {
    const name = host.replace(/:[0-9]+$/, "");
    const loopback = name === "localhost" || /^127(?:\.[0-9]{1,3}){3}$/.test(name) || name === "[::1]";
    return `${loopback ? "http" : "https"}://${host}`;
}

interface Response {
    status: number;
    headers: Headers;
    body: Buffer;
}

interface Manifest {
    digest: string;
    mediaType: string;
    configDigest?: string;
    sizeBytes?: number;
}

/** Runs `work` on every item, at most `parallel` at a time, results in input order. */
async function mapLimited<T, R>(items: T[], parallel: number, work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const index = next++;
            results[index] = await work(items[index]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
    return results;
}

/**
 * Lists a repository of a registry without login through the registry HTTP
 * API v2: the tags, each tag's manifest (its digest groups tags into images),
 * and each image's config blob for the date it was built.
 */
export class PlainRegistrySource implements ImageSource {
    readonly dateLabel = "created";
    readonly description: string;
    private readonly base: string;

    constructor(private readonly host: string, base?: string) {
        this.base = base ?? registryBaseUrl(host);
        this.description = `registry ${host}`;
    }

    async list(repository: string): Promise<RepositoryImages> {
        const tags = await this.tags(repository);
        const manifests = await mapLimited(tags, PARALLEL, (tag) => this.manifest(repository, tag));
        const pairs: Array<{ digest: string; tag: string }> = [];
        const manifestOf = new Map<string, Manifest>();
        tags.forEach((tag, index) => {
            const manifest = manifests[index];
            // undefined: the tag vanished between the listing and the manifest request.
            if (manifest) {
                pairs.push({ digest: manifest.digest, tag });
                manifestOf.set(manifest.digest, manifest);
            }
        });
        const images = await mapLimited(groupByDigest(pairs), PARALLEL, async (image): Promise<ImageRecord> => {
            const manifest = manifestOf.get(image.digest)!;
            return {
                ...image,
                date: manifest.configDigest ? await this.created(repository, manifest.configDigest) : undefined,
                sizeBytes: manifest.sizeBytes,
            };
        });
        // The API lists tags only: an untagged image is not reachable, so none is counted.
        return { images: sortImages(images), untagged: 0 };
    }

    private async tags(repository: string): Promise<string[]> {
        const tags: string[] = [];
        let path: string | undefined = `/v2/${repository}/tags/list?n=1000`;
        while (path) {
            const response = await this.get(path, "application/json");
            if (response.status === 404) {
                throw new ImageSourceError(`repository ${repository} does not exist in the registry ${this.host}`, false);
            }
            this.expectOk(response, `listing the tags of ${repository}`);
            const page = this.json(response, `tags of ${repository}`) as { tags?: unknown };
            tags.push(...(Array.isArray(page.tags) ? page.tags.filter((tag): tag is string => typeof tag === "string") : []));
            path = nextPage(response.headers.get("link"));
        }
        return [...new Set(tags)];
    }

    private async manifest(repository: string, tag: string): Promise<Manifest | undefined> {
        const response = await this.get(`/v2/${repository}/manifests/${encodeURIComponent(tag)}`, ACCEPT);
        if (response.status === 404) {
            return undefined;
        }
        this.expectOk(response, `reading ${repository}:${tag}`);
        const body = this.json(response, `manifest of ${repository}:${tag}`) as {
            mediaType?: unknown;
            config?: { digest?: unknown };
            layers?: Array<{ size?: unknown }>;
        };
        const digest = response.headers.get("docker-content-digest") ?? `sha256:${createHash("sha256").update(response.body).digest("hex")}`;
        const mediaType = (typeof body.mediaType === "string" ? body.mediaType : undefined) ?? response.headers.get("content-type") ?? "";
        if (INDEX.includes(mediaType)) {
            // A multi-platform index has no config of its own: date and size stay unknown.
            return { digest, mediaType };
        }
        const sizes = Array.isArray(body.layers) ? body.layers.map((layer) => layer?.size) : [];
        return {
            digest,
            mediaType,
            configDigest: typeof body.config?.digest === "string" ? body.config.digest : undefined,
            sizeBytes: sizes.every((size) => typeof size === "number") ? (sizes as number[]).reduce((a, b) => a + b, 0) : undefined,
        };
    }

    private async created(repository: string, configDigest: string): Promise<Date | undefined> {
        const response = await this.get(`/v2/${repository}/blobs/${encodeURIComponent(configDigest)}`, "*/*");
        if (response.status !== 200) {
            return undefined;
        }
        try {
            const created = (JSON.parse(response.body.toString("utf8")) as { created?: unknown }).created;
            const date = typeof created === "string" ? new Date(created) : undefined;
            return date && !Number.isNaN(date.getTime()) ? date : undefined;
        } catch {
            return undefined;
        }
    }

    private async get(path: string, accept: string): Promise<Response> {
        const url = new URL(path, this.base).toString();
        let response: globalThis.Response;
        try {
            response = await fetch(url, { headers: { Accept: accept }, redirect: "follow", signal: AbortSignal.timeout(TIMEOUT_MS) });
        } catch (error) {
            const cause = (error as { cause?: { code?: string; message?: string } }).cause;
            const reason = cause?.code ?? cause?.message ?? (error as Error).message;
            throw new ImageSourceError(`cannot reach the registry at ${this.base} (${reason}): is it running?`, true);
        }
        return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
    }

    private expectOk(response: Response, doing: string): void {
        if (response.status === 401 || response.status === 403) {
            throw new ImageSourceError(`the registry ${this.host} asks for a login (HTTP ${response.status}) while ${doing}: only registries without login are supported`, true);
        }
        if (response.status !== 200) {
            throw new ImageSourceError(`the registry ${this.host} answered HTTP ${response.status} while ${doing}`, false);
        }
    }

    private json(response: Response, what: string): unknown {
        try {
            const value: unknown = JSON.parse(response.body.toString("utf8"));
            if (value !== null && typeof value === "object") {
                return value;
            }
        } catch {
            // reported below
        }
        throw new ImageSourceError(`the registry ${this.host} sent something that is not JSON for the ${what}`, false);
    }
}

/** The path of the next page from a `Link: </v2/...?last=x&n=100>; rel="next"` header. */
export function nextPage(link: string | null): string | undefined {
    const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
    return match ? match[1] : undefined;
}
