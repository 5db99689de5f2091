import { groupByDigest, RepositoryImage } from "./images";

const MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const REQUEST_TIMEOUT_MS = 10_000;

async function request(url: string, method: "GET" | "HEAD"): Promise<Response> {
    let response: Response;
    try {
        response = await fetch(url, { method, headers: { Accept: MANIFEST_TYPES }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
        throw new Error(`registry ${new URL(url).host} did not answer ${url}: ${(error as Error).message}`);
    }
    if (!response.ok) {
        throw new Error(`registry answered ${response.status} to ${method} ${url}`);
    }
    return response;
}

/**
 * The images of one repository in a plain (no login, http) registry such as
 * the sandbox's, through the registry HTTP API v2.
 */
export async function listPlainRegistryImages(host: string, repository: string): Promise<RepositoryImage[]> {
    const base = `http://${host}/v2/${repository}`;
    const { tags } = (await (await request(`${base}/tags/list`, "GET")).json()) as { tags: string[] | null };
    const pairs = await Promise.all(
        (tags ?? []).map(async (tag) => {
            const response = await request(`${base}/manifests/${encodeURIComponent(tag)}`, "HEAD");
            const digest = response.headers.get("docker-content-digest");
            if (!digest) {
                throw new Error(`registry ${host} gave no digest for ${repository}:${tag}`);
            }
            return { tag, digest };
        }),
    );
    return groupByDigest(pairs);
}
