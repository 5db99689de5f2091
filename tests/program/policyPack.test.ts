import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import { createRequire } from "module";
import * as path from "path";
import * as rules from "../../policy/rules";
import { key, localStackConfig, ProgramRun, prodConfig, runProgram } from "./harness";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** As the policy SDK hands properties to a policy: secrets unwrapped to their values. */
function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIG_KEY] === SECRET_SIG) {
            return unwrapSecrets(record.value);
        }
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Every rule of the pack over a run's resources, as `type::name: message`. */
function violations(run: ProgramRun): string[] {
    const resources = run.resources.map((r) => ({ type: r.type, name: r.name, props: unwrapSecrets(r.inputs) as Record<string, unknown> }));
    const byType: Record<string, (props: Record<string, unknown>) => string[]> = {
        "command:remote:Command": (props) => [...rules.pinnedImageViolations(props), ...rules.hostKeyViolations(props)],
        "aws:ecr/repository:Repository": rules.tagMutabilityViolations,
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": (props) => rules.lifecyclePolicyViolations(props, rules.DEFAULT_MINIMUM_RETENTION),
    };
    return [
        ...resources.flatMap((r) => (byType[r.type]?.(r.props) ?? []).map((m) => `${r.type}::${r.name}: ${m}`)),
        ...rules.lifecycleCoverageViolations(resources),
    ];
}

describe("the policy pack's rules over the program's real resources", () => {
    it("find nothing wrong with Pulumi.prod.yaml", async () => {
        const run = await runProgram(prodConfig());
        const types = run.resources.map((r) => r.type);
        // A pull and a rollout command per service.
        assert.strictEqual(types.filter((t) => t === "command:remote:Command").length, 8);
        for (const type of ["aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy"]) {
            assert.strictEqual(types.filter((t) => t === type).length, 4, type);
        }
        assert.deepStrictEqual(violations(run), []);
    });

    it("find nothing wrong with Pulumi.local.yaml", async () => {
        const run = await runProgram(localStackConfig(), "local");
        assert.deepStrictEqual(violations(run), []);
    });

    it("would catch the prod commands without their host key, or the prod retention below the minimum", async () => {
        const run = await runProgram(prodConfig({ [key("retentionCount")]: "3" }));
        const command = run.resources.find((r) => r.type === "command:remote:Command")!;
        delete command.inputs.connection.value.hostKey;
        const found = violations(run);
        assert.strictEqual(found.filter((v) => /no hostKey/.test(v)).length, 1);
        assert.strictEqual(found.filter((v) => /fewer than the minimum of 5/.test(v)).length, 4);
    });
});

/**
 * Loads policy/ the way the Pulumi CLI's Node.js host does (run-policy-pack,
 * from the pack directory, TypeScript through ts-node) and talks to the
 * analyzer it serves over gRPC, as the engine would during a preview.
 */
describe("policy/ as a Pulumi policy pack", function () {
    this.timeout(120_000);
    const ROOT = path.resolve(__dirname, "../..");
    // The gRPC and protobuf modules the policy SDK itself uses.
    const fromPulumi = createRequire(require.resolve("@pulumi/pulumi"));
    const grpc = fromPulumi("@grpc/grpc-js");
    const analyzerGrpc = fromPulumi("./proto/analyzer_grpc_pb");
    const analyzerPb = fromPulumi("./proto/analyzer_pb");
    const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
    const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb");

    let pack: ChildProcess;
    let client: any;

    function call<T>(method: string, request: unknown): Promise<T> {
        return new Promise((resolve, reject) => client[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))));
    }

    function diagnostics(response: any): Array<{ policy: string; message: string; mandatory: boolean }> {
        return response.getDiagnosticsList().map((d: any) => ({
            policy: d.getPolicyname(),
            message: d.getMessage(),
            mandatory: d.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY,
        }));
    }

    async function analyzeStack(resources: ProgramRun["resources"]): Promise<Array<{ policy: string; message: string; mandatory: boolean }>> {
        const request = new analyzerPb.AnalyzeStackRequest();
        request.setResourcesList(resources.map((r) => {
            const resource = new analyzerPb.AnalyzerResource();
            resource.setType(r.type);
            resource.setName(r.name);
            resource.setUrn(`urn:pulumi:prod::probability-rollback::${r.type}::${r.name}`);
            resource.setProperties(Struct.fromJavaScript(r.inputs));
            resource.setOptions(new analyzerPb.AnalyzerResourceOptions());
            return resource;
        }));
        return diagnostics(await call("analyzeStack", request));
    }

    async function analyze(type: string, name: string, props: Record<string, unknown>): Promise<Array<{ policy: string; message: string; mandatory: boolean }>> {
        const request = new analyzerPb.AnalyzeRequest();
        request.setType(type);
        request.setName(name);
        request.setUrn(`urn:pulumi:prod::probability-rollback::${type}::${name}`);
        request.setProperties(Struct.fromJavaScript(props));
        request.setOptions(new analyzerPb.AnalyzerResourceOptions());
        return diagnostics(await call("analyze", request));
    }

    before(async () => {
        pack = spawn(process.execPath, [path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:0", "."], {
            cwd: path.join(ROOT, "policy"),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        pack.stderr!.on("data", (chunk) => (stderr += chunk));
        const port = await new Promise<number>((resolve, reject) => {
            let stdout = "";
            pack.stdout!.on("data", (chunk) => {
                stdout += chunk;
                const line = /^(\d+)\n/.exec(stdout);
                if (line) resolve(Number(line[1]));
            });
            pack.on("exit", (code) => reject(new Error(`the pack exited with ${code} before serving: ${stderr}`)));
        });
        client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    it("serves the five mandatory policies", async () => {
        const info: any = await call("getAnalyzerInfo", new Empty());
        assert.strictEqual(info.getName(), "probability-rollback");
        const policies = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY]);
        assert.deepStrictEqual(policies, [
            ["remote-command-pinned-image", true],
            ["remote-command-host-key", true],
            ["ecr-only-latest-mutable", true],
            ["ecr-lifecycle-keeps-releases", true],
            ["ecr-repository-has-lifecycle-policy", true],
        ]);
    });

    it("passes every resource of the prod program, its secret connection included", async () => {
        const run = await runProgram(prodConfig());
        for (const resource of run.resources) {
            assert.deepStrictEqual(await analyze(resource.type, resource.name, resource.inputs), [], `${resource.type}::${resource.name}`);
        }
    });

    it("checks at stack level that every repository has a lifecycle policy", async () => {
        const run = await runProgram(prodConfig());
        const real = run.resources.filter((r) => r.type.startsWith("aws:ecr/"));
        assert.deepStrictEqual(await analyzeStack(real), []);
        const withoutOne = real.filter((r) => !(r.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy" && r.name === "nginx"));
        const found = await analyzeStack(withoutOne);
        assert.deepStrictEqual(found.map((d) => [d.policy, d.mandatory]), [["ecr-repository-has-lifecycle-policy", true]]);
        assert.match(found[0].message, /"probability-nginx" \(nginx\) has no lifecycle policy/);
    });

    it("refuses a command that deploys latest without a host key, a mutable repository and a short retention", async () => {
        const run = await runProgram(prodConfig());
        const command = run.resources.find((r) => r.type === "command:remote:Command")!;
        const connection = { ...command.inputs.connection.value };
        delete connection.hostKey;
        const create = command.inputs.create.replace(/^target_image=.*$/m, "target_image=476702565908.dkr.ecr.us-east-1.amazonaws.com/probability-backend:latest");
        const commandFound = await analyze(command.type, command.name, { ...command.inputs, create, connection });
        assert.deepStrictEqual(commandFound.map((d) => [d.policy, d.mandatory]), [["remote-command-pinned-image", true], ["remote-command-host-key", true]]);
        assert.match(commandFound[0].message, /latest moves with every release/);

        const repository = run.resources.find((r) => r.type === "aws:ecr/repository:Repository")!;
        assert.deepStrictEqual((await analyze(repository.type, repository.name, { ...repository.inputs, imageTagMutability: "MUTABLE" })).map((d) => d.policy), ["ecr-only-latest-mutable"]);

        const lifecycle = run.resources.find((r) => r.type === "aws:ecr/lifecyclePolicy:LifecyclePolicy")!;
        const policy = JSON.parse(lifecycle.inputs.policy);
        policy.rules.at(-1).selection.countNumber = 2;
        const lifecycleFound = await analyze(lifecycle.type, lifecycle.name, { ...lifecycle.inputs, policy: JSON.stringify(policy) });
        assert.deepStrictEqual(lifecycleFound.map((d) => d.policy), ["ecr-lifecycle-keeps-releases"]);
        assert.match(lifecycleFound[0].message, /fewer than the minimum of 5/);
    });
});
