import { ECRClient, ImageDetail, paginateDescribeImages } from "@aws-sdk/client-ecr";
import { ImageRecord, ImageSource, ImageSourceError, RepositoryImages, sortImages } from "./imageSource";

const CREDENTIAL_ERRORS = new Set(["CredentialsProviderError", "ExpiredTokenException", "ExpiredToken", "TokenProviderError"]);
const AUTH_ERRORS = new Set(["UnrecognizedClientException", "InvalidSignatureException", "InvalidClientTokenId", "AccessDeniedException"]);

/** Turns an SDK error into one line an operator can act on. */
export function describeEcrError(error: unknown, repository: string, region: string): ImageSourceError {
    const name = (error as { name?: string } | null)?.name ?? "Error";
    const message = ((error as { message?: string } | null)?.message ?? String(error)).split("\n")[0];
    if (name === "RepositoryNotFoundException") {
        return new ImageSourceError(`ECR repository ${repository} does not exist in ${region} (for the account of the current AWS credentials)`, false);
    }
    if (CREDENTIAL_ERRORS.has(name)) {
        return new ImageSourceError(
            `no usable AWS credentials (${name}: ${message}). Log in first (aws sso login, or set AWS_PROFILE / AWS_ACCESS_KEY_ID), then run again`,
            true,
        );
    }
    if (AUTH_ERRORS.has(name)) {
        return new ImageSourceError(`AWS refused the request (${name}: ${message}); the credentials need ecr:DescribeImages on ${repository}`, name !== "AccessDeniedException");
    }
    const code = (error as { code?: string } | null)?.code;
    if (code === "ENOTFOUND" || code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "EAI_AGAIN") {
        return new ImageSourceError(`cannot reach ECR in ${region} (${code}): check the network`, true);
    }
    return new ImageSourceError(`ECR DescribeImages on ${repository} failed: ${name}: ${message}`, false);
}

export function imageRecord(detail: ImageDetail): ImageRecord {
    return {
        digest: detail.imageDigest ?? "",
        tags: detail.imageTags ?? [],
        date: detail.imagePushedAt,
        sizeBytes: detail.imageSizeInBytes,
        archived: detail.imageStatus === "ARCHIVED" || detail.imageStatus === "ACTIVATING" ? true : undefined,
    };
}

/** Lists a repository with DescribeImages, every page, using the client's credential chain. */
export class EcrSource implements ImageSource {
    readonly dateLabel = "pushed";
    readonly description: string;

    constructor(
        private readonly client: ECRClient,
        private readonly region: string,
    ) {
        this.description = `ECR ${region}`;
    }

    async list(repository: string): Promise<RepositoryImages> {
        const tagged: ImageRecord[] = [];
        let untagged = 0;
        try {
            for await (const page of paginateDescribeImages({ client: this.client, pageSize: 100 }, { repositoryName: repository })) {
                for (const detail of page.imageDetails ?? []) {
                    if ((detail.imageTags ?? []).length > 0) {
                        tagged.push(imageRecord(detail));
                    } else {
                        untagged += 1;
                    }
                }
            }
        } catch (error) {
            throw describeEcrError(error, repository, this.region);
        }
        return { images: sortImages(tagged), untagged };
    }
}
