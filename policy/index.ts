import { PolicyPack, ResourceValidationArgs, ReportViolation } from "@pulumi/policy";
import {
    DEFAULT_MINIMUM_RETENTION,
    hostKeyViolations,
    lifecycleCoverageViolations,
    lifecyclePolicyViolations,
    pinnedImageViolations,
    tagMutabilityViolations,
} from "./rules";

/**
 * The rollback stack's mandatory rules, run by
 *   pulumi preview --policy-pack policy
 * (and `pulumi up --policy-pack policy`). The checks are the pure functions
 * of rules.ts; this file only binds them to resource types.
 *
 * Layout: the pack needs its own PulumiPolicy.yaml (runtime nodejs) and a
 * package.json with a version (PolicyPack reads it from the pack directory),
 * but no dependencies of its own: @pulumi/policy is a devDependency of the
 * root package.json, so the `npm ci` that installs the program installs the
 * pack too, and Node finds it in the root node_modules from here.
 */

function check(type: string, violations: (props: Record<string, unknown>, args: ResourceValidationArgs) => string[]) {
    return (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type === type) {
            violations(args.props, args).forEach((message) => reportViolation(message));
        }
    };
}

new PolicyPack("probability-rollback", {
    enforcementLevel: "mandatory",
    policies: [
        {
            name: "remote-command-pinned-image",
            description: "A remote rollback command deploys an image pinned to a release tag or a sha256 digest, never latest.",
            validateResource: check("command:remote:Command", pinnedImageViolations),
        },
        {
            name: "remote-command-host-key",
            description: "A remote command's SSH connection pins the server's host key.",
            validateResource: check("command:remote:Command", hostKeyViolations),
        },
        {
            name: "ecr-only-latest-mutable",
            description: "ECR release tags are immutable; latest is the only exclusion.",
            validateResource: check("aws:ecr/repository:Repository", tagMutabilityViolations),
        },
        {
            name: "ecr-lifecycle-keeps-releases",
            description: "An ECR lifecycle policy keeps at least the minimum number of recent images and never expires latest.",
            configSchema: {
                properties: {
                    minimumRetention: { type: "integer", minimum: 1, default: DEFAULT_MINIMUM_RETENTION },
                },
            },
            validateResource: check("aws:ecr/lifecyclePolicy:LifecyclePolicy", (props, args) =>
                lifecyclePolicyViolations(props, args.getConfig<{ minimumRetention?: number }>().minimumRetention ?? DEFAULT_MINIMUM_RETENTION),
            ),
        },
        {
            name: "ecr-repository-has-lifecycle-policy",
            description: "Every ECR repository has a lifecycle policy.",
            validateStack: (args, reportViolation) => {
                lifecycleCoverageViolations(args.resources).forEach((message) => reportViolation(message));
            },
        },
    ],
});
