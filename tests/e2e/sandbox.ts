import { execFileSync } from "child_process";
import * as fs from "fs";
import { stackConfig, key } from "../program/harness";
import { rollbackTargets } from "../../registry/images";
import { PlainRegistrySource } from "../../registry/plainRegistrySource";

/** The sandbox started by `npm run sandbox:up` (sandbox/config.sh). */
export const SANDBOX = {
    state: "/var/lib/rollback-sandbox",
    registry: "127.0.0.1:5050",
    http: "http://127.0.0.1:8088",
    auditLog: "/var/lib/rollback-sandbox/probability/infra/rollback-audit.log",
    lockFile: "/var/lib/rollback-sandbox/probability/infra/.rollback.lock",
    composeDir: "/var/lib/rollback-sandbox/probability/infra/compose-prod",
};

export const CONTAINERS = {
    backend: "backend_prod",
    frontend: "frontend_prod",
    website: "website_prod",
    nginx: "nginx_prod",
} as const;
export type Service = keyof typeof CONTAINERS;
export const SERVICES = Object.keys(CONTAINERS) as Service[];

/** Pulumi.local.yaml plus the keys sandbox:up generated, as `pulumi config set` would add them. */
export function localConfig(versions: Partial<Record<Service, string>> = {}, extra: Record<string, string> = {}): Record<string, string> {
    const hostKey = fs.readFileSync(`${SANDBOX.state}/ssh/ssh_host_ed25519_key.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    const config: Record<string, string> = {
        ...stackConfig("local"),
        [key("sshHostKey")]: hostKey,
        [key("sshPrivateKey")]: fs.readFileSync(`${SANDBOX.state}/ssh/id_ed25519`, "utf8"),
    };
    for (const [service, version] of Object.entries(versions)) {
        config[key(`${service}Version`)] = version;
    }
    for (const [name, value] of Object.entries(extra)) {
        config[key(name)] = value;
    }
    return config;
}

/** The service's releases in the sandbox registry, newest first, by their YYYY.MM.N-SHA tag. */
export async function releases(service: Service): Promise<string[]> {
    return rollbackTargets((await new PlainRegistrySource(SANDBOX.registry).list(`probability-${service}`)).images);
}

function podman(...args: string[]): string {
    return execFileSync("podman", args, { encoding: "utf8" }).trim();
}

export function containerId(service: Service): string {
    return podman("container", "inspect", "--format", "{{.Id}}", CONTAINERS[service]);
}

/** The image ID the service's container runs. */
export function runningImage(service: Service): string {
    return podman("container", "inspect", "--format", "{{.Image}}", CONTAINERS[service]);
}

export function startedAt(service: Service): number {
    return Date.parse(podman("container", "inspect", "--format", "{{.State.StartedAt.Format \"2006-01-02T15:04:05.000Z07:00\"}}", CONTAINERS[service]));
}

/** The local image ID of `probability-<service>:<tag>` (pulling it first when asked). */
export function imageId(service: Service, tag: string, pull = false): string {
    const ref = `${SANDBOX.registry}/probability-${service}:${tag}`;
    if (pull) {
        podman("pull", "--quiet", ref);
    }
    return podman("image", "inspect", "--format", "{{.Id}}", ref);
}

export function containerIds(): Record<Service, string> {
    return Object.fromEntries(SERVICES.map((s) => [s, containerId(s)])) as Record<Service, string>;
}

export const HEALTH_PATHS: Record<Service, string> = {
    backend: "/api/v1/health",
    frontend: "/health",
    website: "/website/health",
    nginx: "/nginx-health",
};

/** GET through nginx, as users reach the services. */
export async function throughNginx(service: Service): Promise<{ status: number; body: string }> {
    const response = await fetch(`${SANDBOX.http}${HEALTH_PATHS[service]}`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.text() };
}

/** Runs a sandbox script (sandbox/*.sh) and returns what it printed. */
export function sandboxScript(name: string, ...args: string[]): string {
    return execFileSync("bash", [`${__dirname}/../../sandbox/${name}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The runbook's backend rollback (section 4), verbatim but for the sandbox's registry and compose dir, without ECR login and `sleep 20`. */
export function runbookBackendRollback(version: string): string {
    const repo = `${SANDBOX.registry}/probability-backend`;
    return [
        `VERSION_ROLLBACK=${version}`,
        `podman pull ${repo}:\${VERSION_ROLLBACK}`,
        `podman tag ${repo}:\${VERSION_ROLLBACK} ${repo}:latest`,
        `cd ${SANDBOX.composeDir}`,
        "podman stop backend_prod",
        "podman rm backend_prod",
        "podman-compose -f podman-compose.yaml up -d --no-deps back-central",
        "podman restart nginx_prod",
    ].join("\n");
}
