/**
 * The IAM policy the production server needs to pull the four release
 * repositories, and nothing more: the rollback script logs in with the
 * server's own credentials (`aws ecr get-login-password`) and pulls.
 *
 * `ecr:GetAuthorizationToken` cannot be scoped to a repository (AWS only
 * accepts `*` for it); the pull actions are granted on the repository ARNs
 * alone. No push, delete, tag or policy action is granted.
 */
export interface PolicyStatement {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: string[];
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** The read actions a `podman pull` (and listing the kept releases) needs on a repository. */
export const PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
] as const;

const REPOSITORY_ARN = /^arn:aws(?:-[a-z]+)*:ecr:[a-z]{2}(?:-gov)?-[a-z]+-[0-9]:[0-9]{12}:repository\/[a-z0-9][a-z0-9._\/-]{0,255}$/;

export function serverPullPolicy(repositoryArns: readonly string[]): PolicyDocument {
    const arns = [...new Set(repositoryArns)];
    if (arns.length === 0) {
        throw new Error("a pull policy needs at least one repository ARN");
    }
    const bad = arns.filter((arn) => !REPOSITORY_ARN.test(arn));
    if (bad.length > 0) {
        throw new Error(`not an ECR repository ARN (wildcards are refused): ${bad.map((arn) => JSON.stringify(arn)).join(", ")}`);
    }
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
            { Sid: "PullReleaseImages", Effect: "Allow", Action: [...PULL_ACTIONS], Resource: arns },
        ],
    };
}

export function serverPullPolicyJson(repositoryArns: readonly string[]): string {
    return JSON.stringify(serverPullPolicy(repositoryArns), null, 2);
}
