import * as assert from "assert";
import { PULL_ACTIONS, serverPullPolicy, serverPullPolicyJson } from "../../ecr/pullPolicy";

const ARNS = ["backend", "frontend", "website", "nginx"].map(
    (service) => `arn:aws:ecr:us-east-1:476702565908:repository/probability-${service}`,
);

describe("server pull policy", () => {
    const policy = serverPullPolicy(ARNS);

    it("grants only the registry login on *, which AWS cannot scope", () => {
        const onStar = policy.Statement.filter((s) => s.Resource.includes("*"));
        assert.deepStrictEqual(onStar, [{ Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] }]);
    });

    it("grants exactly the four pull actions, on exactly the given repositories", () => {
        const pull = policy.Statement.filter((s) => !s.Resource.includes("*"));
        assert.deepStrictEqual(pull, [{
            Sid: "PullReleaseImages",
            Effect: "Allow",
            Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"],
            Resource: ARNS,
        }]);
    });

    it("allows only those five actions, none of them a wildcard", () => {
        const actions = policy.Statement.flatMap((s) => s.Action);
        assert.deepStrictEqual([...actions].sort(), ["ecr:GetAuthorizationToken", ...PULL_ACTIONS].sort());
        assert.ok(actions.every((a) => !a.includes("*")));
        assert.ok(policy.Statement.every((s) => s.Effect === "Allow"));
        assert.strictEqual(policy.Version, "2012-10-17");
    });

    it("names a repository once even when given twice", () => {
        assert.deepStrictEqual(serverPullPolicy([ARNS[0], ARNS[0]]).Statement[1].Resource, [ARNS[0]]);
    });

    it("is valid JSON of the same document", () => {
        assert.deepStrictEqual(JSON.parse(serverPullPolicyJson(ARNS)), policy);
    });

    for (const bad of [
        "*",
        "arn:aws:ecr:us-east-1:476702565908:repository/*",
        "arn:aws:ecr:us-east-1:476702565908:repository/probability-*",
        "arn:aws:ecr:*:476702565908:repository/probability-backend",
        "arn:aws:s3:::probability-backend",
        "arn:aws:ecr:us-east-1:4767025659:repository/probability-backend",
        "",
    ]) {
        it(`refuses ${JSON.stringify(bad)} as a repository ARN`, () => {
            assert.throws(() => serverPullPolicy([ARNS[0], bad]), /not an ECR repository ARN/);
        });
    }

    it("refuses an empty repository list rather than granting a login alone", () => {
        assert.throws(() => serverPullPolicy([]), /at least one repository ARN/);
    });
});
