import { validateWorkflow, ValidationError } from "@action-validator/core";
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const DIR = path.join(ROOT, ".github/workflows");
const WORKFLOWS = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((name) => /\.ya?ml$/.test(name)) : [];

/**
 * The workflow schema check of action-validator (WebAssembly, no download).
 * It warns on stderr that it does not check `paths` globs; that is silenced here.
 */
function lint(source: string): ValidationError[] {
    const warn = console.warn;
    console.warn = () => undefined;
    try {
        return validateWorkflow(source).errors;
    } finally {
        console.warn = warn;
    }
}

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, unknown> };
type Job = { concurrency?: { group?: string; "cancel-in-progress"?: unknown }; steps: Step[]; strategy?: { matrix?: { stack?: string[] } } };
type Workflow = { on: Record<string, any>; permissions?: Record<string, string>; jobs: Record<string, Job> };

function load(name: string): { source: string; workflow: Workflow } {
    const source = fs.readFileSync(path.join(DIR, name), "utf8");
    return { source, workflow: yaml.load(source) as Workflow };
}

function pulumiStep(workflow: Workflow): Step {
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps.filter((step) => step.uses?.startsWith("pulumi/actions@")));
    assert.strictEqual(steps.length, 1, "one pulumi/actions step");
    return steps[0];
}

describe("GitHub workflows", () => {
    it("are there: preview on pull requests, deploy on main", () => {
        assert.deepStrictEqual(WORKFLOWS.sort(), ["deploy.yml", "preview.yml"]);
    });

    for (const name of WORKFLOWS) {
        describe(name, () => {
            it("validates against the GitHub workflow schema", () => {
                assert.deepStrictEqual(lint(load(name).source), []);
            });

            it("runs one job at a time per stack and never cancels one in progress", () => {
                for (const job of Object.values(load(name).workflow.jobs)) {
                    assert.ok(job.concurrency?.group?.includes("matrix.stack"), `${name}: concurrency group per stack`);
                    assert.strictEqual(job.concurrency?.["cancel-in-progress"], false);
                    assert.deepStrictEqual(job.strategy?.matrix?.stack, ["prod"]);
                }
            });

            it("tests the program before Pulumi runs", () => {
                const steps = Object.values(load(name).workflow.jobs)[0].steps;
                const index = (match: (step: Step) => boolean) => steps.findIndex(match);
                const test = index((step) => /npm test/.test(step.run ?? ""));
                assert.ok(index((step) => step.run === "npm ci") >= 0 && test > index((step) => step.run === "npm ci"));
                assert.ok(test < index((step) => step.uses?.startsWith("pulumi/actions@") ?? false));
            });

            it("takes every credential from repository secrets, none in clear", () => {
                const { source } = load(name);
                assert.doesNotMatch(source, /AKIA[0-9A-Z]{16}|BEGIN [A-Z ]*PRIVATE KEY|pul-[0-9a-f]{40}/);
                for (const match of source.matchAll(/^\s*(PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE|role-to-assume|aws-access-key-id|aws-secret-access-key|github-token):\s*(.*)$/gm)) {
                    assert.match(match[2], /^\$\{\{ secrets\.[A-Z_]+ \}\}$/, `${match[1]} comes from a secret`);
                }
            });

            it("documents every secret and variable it reads in docs/ci.md", () => {
                const docs = fs.readFileSync(path.join(ROOT, "docs/ci.md"), "utf8");
                const names = [...load(name).source.matchAll(/\b(?:secrets|vars)\.([A-Z_]+)/g)].map((m) => m[1]);
                assert.ok(names.length > 0);
                for (const secret of new Set(names)) {
                    if (secret !== "GITHUB_TOKEN") {
                        assert.ok(docs.includes(`\`${secret}\``), `${secret} is documented in docs/ci.md`);
                    }
                }
            });
        });
    }

    it("previews a pull request that touches a stack file, with the policy pack, the diff and a comment", () => {
        const { workflow } = load("preview.yml");
        assert.ok((workflow.on.pull_request.paths as string[]).includes("Pulumi.*.yaml"));
        assert.strictEqual(workflow.permissions?.["pull-requests"], "write");
        assert.deepStrictEqual(pulumiStep(workflow).with, {
            ...pulumiStep(workflow).with,
            command: "preview",
            diff: true,
            policyPacks: "policy",
            "comment-on-pr": true,
        });
    });

    it("runs pulumi up with the policy pack after a merge to main", () => {
        const { workflow } = load("deploy.yml");
        assert.deepStrictEqual(workflow.on.push.branches, ["main"]);
        assert.ok((workflow.on.push.paths as string[]).includes("Pulumi.*.yaml"));
        assert.deepStrictEqual(pulumiStep(workflow).with, { ...pulumiStep(workflow).with, command: "up", policyPacks: "policy" });
    });

    it("the schema check fails a broken workflow", () => {
        const broken = "on: push\nconcurrency:\n  group: g\n  cancel-in-progress: maybe\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n";
        assert.ok(lint(broken).length > 0);
    });
});
