import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";

/** A resource the program registered, as the engine would receive it. */
export interface RegisteredResource {
    type: string;
    name: string;
    /** `type::name`, how dependencies are listed. */
    key: string;
    inputs: Record<string, any>;
    dependsOn: string[];
    protect: boolean;
    importId?: string;
    additionalSecretOutputs: string[];
}

export interface ProgramRun {
    resources: RegisteredResource[];
    outputs: Record<string, any>;
}

const ROOT = path.resolve(__dirname, "../..");
const PROJECT = "probability-rollback";

/** The config of a committed stack file, keys as `namespace:key`, values as Pulumi hands them to the program. */
export function stackConfig(stack: string): Record<string, string> {
    const file = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(
        Object.entries(file.config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}

/** The settings an operator adds once to the prod stack (README, "First run"); test values. */
export const TEST_HOST_KEY = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"B".repeat(43)}`;
export const TEST_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-only-not-a-key\n-----END OPENSSH PRIVATE KEY-----";
export function prodConfig(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
        ...stackConfig("prod"),
        [`${PROJECT}:host`]: "prod.example.test",
        [`${PROJECT}:sshUser`]: "deploy",
        [`${PROJECT}:sshHostKey`]: TEST_HOST_KEY,
        [`${PROJECT}:sshPrivateKey`]: TEST_PRIVATE_KEY,
        ...overrides,
    };
}

/** The releases every mocked ECR repository holds, oldest first; the last one is also `latest`. */
export const ECR_RELEASES = [
    ["2026.01.1", "0a1b2c3"],
    ["2026.01.2", "4d5e6f7"],
    ["2026.01.3", "abc1234"],
    ["2026.01.4", "f214c2d"],
    ["2026.01.5", "18c9e87"],
];

/** The digest a mocked repository gives a release. */
export function ecrDigest(repository: string, release: string): string {
    return `sha256:${createHash("sha256").update(`${repository}:${release}`).digest("hex")}`;
}

/** The (tag, digest) pairs of a mocked repository, as ECR and the fake plain registry list them. */
function registryTags(repository: string): Array<{ imageDigest: string; imageTag: string }> {
    return ECR_RELEASES.flatMap(([calver, sha], index) => {
        const digest = ecrDigest(repository, calver);
        const tags = [`${calver}-${sha}`, calver, sha, ...(index === ECR_RELEASES.length - 1 ? ["latest"] : [])];
        return tags.map((imageTag) => ({ imageDigest: digest, imageTag }));
    });
}

/**
 * Pulumi.local.yaml with test keys, pinned to a mocked release: the sandbox's
 * own tags only exist once `npm run sandbox:up` has pushed them.
 */
export function localStackConfig(): Record<string, string | undefined> {
    const [calver, sha] = ECR_RELEASES[ECR_RELEASES.length - 1];
    const versions = ["backend", "frontend", "website", "nginx"].map((service) => [key(`${service}Version`), `${calver}-${sha}`]);
    return { ...stackConfig("local"), [key("sshHostKey")]: TEST_HOST_KEY, [key("sshPrivateKey")]: TEST_PRIVATE_KEY, ...Object.fromEntries(versions) };
}

/** `backendVersion` → `probability-rollback:backendVersion`. */
export function key(name: string): string {
    return `${PROJECT}:${name}`;
}

const SECRET_KEYS = [key("sshPrivateKey")];

/**
 * Evaluates index.ts under Pulumi's mocks with the given config and returns
 * every registered resource with its resolved inputs and dependencies.
 * Throws what the program throws (for example a config error).
 */
export async function runProgram(
    config: Record<string, string | undefined>,
    stack = "prod",
    registry: "fake" | "real" = "fake",
): Promise<ProgramRun> {
    if (registry === "fake") {
        return withFakeRegistry(() => evaluate(config, stack));
    }
    return evaluate(config, stack);
}

/**
 * A plain registry (the local stack's) answering the registry HTTP API from
 * ECR_RELEASES, in place of `fetch`, so program tests need no sandbox.
 */
async function withFakeRegistry<T>(run: () => Promise<T>): Promise<T> {
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (input: string | URL | Request) => {
        const url = new URL(input instanceof Request ? input.url : input.toString());
        const tags = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
        if (tags) {
            return Response.json({ name: tags[1], tags: registryTags(tags[1]).map((t) => t.imageTag) });
        }
        const manifest = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
        const found = manifest && registryTags(manifest[1]).find((t) => t.imageTag === decodeURIComponent(manifest[2]));
        if (found) {
            const body = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [] };
            return Response.json(body, { headers: { "docker-content-digest": found.imageDigest } });
        }
        return new Response("not found", { status: 404 });
    };
    try {
        return await run();
    } finally {
        globalThis.fetch = realFetch;
    }
}

async function evaluate(config: Record<string, string | undefined>, stack: string): Promise<ProgramRun> {
    const resources: RegisteredResource[] = [];
    const options = new Map<string, pulumi.ResourceOptions>();

    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const outputs = { ...args.inputs };
                if (args.type === "aws:ecr/repository:Repository") {
                    outputs.repositoryUrl = `476702565908.dkr.ecr.us-east-1.amazonaws.com/${args.inputs.name}`;
                    outputs.arn = `arn:aws:ecr:us-east-1:476702565908:repository/${args.inputs.name}`;
                }
                const key = `${args.type}::${args.name}`;
                resources.push({ type: args.type, name: args.name, key, inputs: args.inputs, dependsOn: [], protect: false, additionalSecretOutputs: [] });
                return { id: `${args.name}-id`, state: outputs };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                if (args.token === "aws:ecr/getImages:getImages") {
                    return { repositoryName: args.inputs.repositoryName, imageIds: registryTags(args.inputs.repositoryName) };
                }
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        PROJECT,
        stack,
        false,
    );
    const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Record<string, string>;
    pulumi.runtime.setAllConfig(defined, SECRET_KEYS.filter((k) => k in defined));

    const entry = require.resolve(path.join(ROOT, "index.ts"));
    for (const cached of Object.keys(require.cache)) {
        if (!cached.includes("node_modules")) {
            delete require.cache[cached];
        }
    }
    // As the engine does: the program runs inside the root stack, whose
    // transformation sees each resource's options (dependsOn, protect, import).
    let outputs: Record<string, any>;
    try {
        outputs = (await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation((args) => {
                options.set(`${args.type}::${args.name}`, args.opts);
                return undefined;
            });
            return require(entry);
        })) as Record<string, any>;
    } catch (error) {
        await settle();
        throw Object.assign(error as Error, { registered: resources.filter((r) => r.type !== "pulumi:pulumi:Stack") });
    }
    await settle();

    for (const resource of resources) {
        const opts = options.get(resource.key) ?? {};
        const deps = ([] as pulumi.Resource[]).concat((opts.dependsOn as pulumi.Resource[] | undefined) ?? []);
        resource.dependsOn = (await Promise.all(deps.map((d) => unwrap(d.urn)))).map(keyOfUrn);
        resource.protect = opts.protect === true;
        resource.importId = (opts as pulumi.CustomResourceOptions).import as string | undefined;
        resource.additionalSecretOutputs = (opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [];
    }
    return { resources, outputs };
}

/** `urn:pulumi:stack::project::parent$type::name` → `type::name`. */
function keyOfUrn(urn: string): string {
    const [qualifiedType, name] = urn.split("::").slice(-2);
    return `${qualifiedType.split("$").pop()}::${name}`;
}

function unwrap<T>(value: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(value).apply((v) => resolve(v as T)));
}

/** Lets the mocked registrations finish. */
function settle(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, 50));
}

export function commandsOf(run: ProgramRun): RegisteredResource[] {
    return run.resources.filter((r) => r.type === "command:remote:Command");
}

export function resourceNamed(run: ProgramRun, type: string, name: string): RegisteredResource {
    const found = run.resources.find((r) => r.type === type && r.name === name);
    if (!found) {
        throw new Error(`no ${type} named ${name}; registered: ${run.resources.map((r) => `${r.type}::${r.name}`).join(", ")}`);
    }
    return found;
}
