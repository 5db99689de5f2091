import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lifecyclePolicyJson } from "../ecr/lifecyclePolicy";

export interface ServiceRepositoryArgs {
    /** ECR repository name, e.g. `probability-backend`. */
    repositoryName: string;
    /** How many of the most recently pushed images ECR keeps. */
    retentionCount: number;
    /** Tags whose image is never expired, besides `latest` (the pinned version). */
    protectedTags: string[];
    /** The repository exists already: adopt it instead of creating it. */
    adoptExisting: boolean;
}

/**
 * One ECR repository with its retention rules. Release tags are immutable,
 * only `latest` moves; the repository is protected from deletion.
 */
export class ServiceRepository extends pulumi.ComponentResource {
    readonly repository: aws.ecr.Repository;
    readonly repositoryUrl: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;

    constructor(name: string, args: ServiceRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("probability:rollback:ServiceRepository", name, {}, opts);

        const repository = (this.repository = new aws.ecr.Repository(
            name,
            {
                name: args.repositoryName,
                imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
                imageTagMutabilityExclusionFilters: [{ filter: "latest", filterType: "WILDCARD" }],
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "AES256" }],
                forceDelete: false,
            },
            {
                parent: this,
                protect: true,
                import: args.adoptExisting ? args.repositoryName : undefined,
            },
        ));

        new aws.ecr.LifecyclePolicy(
            name,
            {
                repository: repository.name,
                policy: lifecyclePolicyJson({
                    retentionCount: args.retentionCount,
                    protectedTags: ["latest", ...args.protectedTags],
                }),
            },
            { parent: this },
        );

        this.repositoryUrl = repository.repositoryUrl;
        this.repositoryArn = repository.arn;
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn });
    }
}
