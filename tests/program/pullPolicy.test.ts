import * as assert from "assert";
import { localStackConfig, prodConfig, runProgram } from "./harness";

describe("serverPullPolicy stack output", () => {
    it("grants the pull actions on exactly the four repositories' ARNs, and no * action", async () => {
        const run = await runProgram(prodConfig());
        const arns = run.resources
            .filter((r) => r.type === "aws:ecr/repository:Repository")
            .map((r) => `arn:aws:ecr:us-east-1:476702565908:repository/${r.inputs.name}`);
        assert.strictEqual(arns.length, 4);

        const policy = JSON.parse(run.outputs.serverPullPolicy);
        const statements: Array<{ Action: string[]; Resource: string[] }> = policy.Statement;
        const scoped = statements.filter((s) => !s.Resource.includes("*"));
        assert.deepStrictEqual(scoped.flatMap((s) => s.Resource).sort(), [...arns].sort());
        assert.deepStrictEqual(
            statements.filter((s) => s.Resource.includes("*")).flatMap((s) => s.Action),
            ["ecr:GetAuthorizationToken"],
        );
        assert.ok(statements.flatMap((s) => s.Action).every((action) => action.startsWith("ecr:") && !action.includes("*")));
    });

    it("says none for a plain registry (the local sandbox), which needs no login", async () => {
        const run = await runProgram(localStackConfig(), "local");
        assert.match(run.outputs.serverPullPolicy, /^none: /);
    });
});
