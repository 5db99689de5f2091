import { PROXY_SERVICE, ServiceDefinition, SERVICES, ServiceName } from "./services";
import { showValue } from "./show";
import { parseVersion, PinnedVersion } from "./version";

/**
 * Everything the program needs from stack config, validated once. Code past
 * `parseSettings` trusts these types: every string that reaches a shell has
 * either matched a strict pattern here or is quoted as data by the script builders.
 */
export interface Settings {
    registry: RegistrySettings;
    connection: ConnectionSettings;
    compose: ComposeSettings;
    services: ServiceSettings[];
}

export type RegistrySettings =
    | {
          kind: "ecr";
          region: string;
          /** How many of the most recently pushed images ECR keeps. */
          retentionCount: number;
          /** Adopt the existing repositories (`import`) instead of creating them. */
          adoptExisting: boolean;
      }
    | {
          /** A plain registry without login (the local sandbox). */
          kind: "plain";
          host: string;
      };

export interface ConnectionSettings {
    host: string;
    port: number;
    user: string;
    /** The server's public host key, `ssh-ed25519 AAAA...`: a different key is refused. */
    hostKey: string;
}

export interface ComposeSettings {
    /** Absolute, or relative to the SSH user's home when it starts with `~/`. */
    dir: string;
    file: string;
}

export interface HealthTiming {
    startPeriodSeconds: number;
    intervalSeconds: number;
    timeoutSeconds: number;
}

export interface ServiceSettings extends ServiceDefinition {
    version: PinnedVersion;
    healthUrl: string;
    /** The stack's health timing, with this service's `healthTimings` entry over it. */
    health: HealthTiming;
    /**
     * Where the container itself answers its health check (port and path on
     * its own address). When set, the new container starts beside the old one
     * and takes traffic only once it answers; otherwise the runbook's order.
     */
    containerHealth?: { port: number; path: string };
}

/** Reads one raw config value, `key` or `namespace:key`; `undefined` when it is not set. */
export type ConfigReader = (key: string) => string | undefined;

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid stack config:\n  - ${problems.join("\n  - ")}`);
    }
}

export const DEFAULT_HEALTH_URLS: Record<ServiceName, string> = {
    // The runbook's check (step 10 of its full example).
    backend: "https://app.probabilityia.com.co/api/v1/health",
    frontend: "https://app.probabilityia.com.co/",
    website: "https://probabilityia.com.co/",
    // nginx fronts the others: it is healthy when it proxies the API again.
    nginx: "https://app.probabilityia.com.co/api/v1/health",
};

// At most 253 characters (DNS); an IPv6 address has at least two colons and groups of at most four hex digits.
const HOST = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]?)$/;
const REGISTRY_HOST = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const REGION = /^[a-z]{2}(?:-gov)?-[a-z]+-[0-9]$/;
const COMPOSE_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.ya?ml$/;
// 4096 base64 characters hold the largest RSA key OpenSSH makes (16384 bits).
const HOST_KEY = /^(?:ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) [A-Za-z0-9+/]{60,4096}={0,2}$/;
// Paths are quoted as data in scripts; this only keeps them printable and readable.
const PATH = /^(?:~\/|\/)[A-Za-z0-9._\/@+-]{0,255}$/;

class Reader {
    readonly problems: string[] = [];
    constructor(private readonly read: ConfigReader) {}

    string(key: string, pattern: RegExp, fallback: string | undefined, describe: string): string {
        const value = this.read(key) ?? fallback;
        if (value === undefined) {
            this.problems.push(`${key} is required: ${describe}`);
            return "";
        }
        if (!pattern.test(value)) {
            this.problems.push(`${key}: ${showValue(value)} is not ${describe}`);
        }
        return value;
    }

    integer(key: string, fallback: number, min: number, max: number): number {
        const raw = this.read(key);
        if (raw === undefined) {
            return fallback;
        }
        const value = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : NaN;
        if (!(value >= min && value <= max)) {
            this.problems.push(`${key}: ${showValue(raw)} is not a whole number from ${min} to ${max}`);
        }
        return value;
    }

    boolean(key: string, fallback: boolean): boolean {
        const raw = this.read(key);
        if (raw === undefined) {
            return fallback;
        }
        if (raw !== "true" && raw !== "false") {
            this.problems.push(`${key}: ${showValue(raw)} is not true or false`);
        }
        return raw === "true";
    }

    url(key: string, value: string): string {
        let parsed: URL | undefined;
        try {
            parsed = new URL(value);
        } catch {
            parsed = undefined;
        }
        // The URL is quoted as data in the script; printable ASCII keeps it reviewable.
        if (!parsed || !/^https?:$/.test(parsed.protocol) || !/^[\x21-\x7e]{1,2048}$/.test(value)) {
            this.problems.push(`${key}: ${showValue(value)} is not an http(s) URL`);
        }
        return value;
    }

    object(key: string): Record<string, unknown> {
        const raw = this.read(key);
        if (raw === undefined) {
            return {};
        }
        try {
            const value: unknown = JSON.parse(raw);
            if (value !== null && typeof value === "object" && !Array.isArray(value)) {
                return value as Record<string, unknown>;
            }
        } catch {
            // reported below
        }
        this.problems.push(`${key}: ${showValue(raw)} is not an object`);
        return {};
    }

    version(service: ServiceDefinition): PinnedVersion {
        const raw = this.read(service.versionKey);
        if (raw === undefined) {
            this.problems.push(`${service.versionKey} is required: the release tag ${service.name} runs (pulumi config set ${service.versionKey} 2026.01.4-f214c2d)`);
            return { tag: "", form: "calver-sha" };
        }
        try {
            return parseVersion(service.versionKey, raw);
        } catch (error) {
            this.problems.push((error as Error).message);
            return { tag: raw, form: "calver-sha" };
        }
    }
}

function readRegistry(r: Reader, read: ConfigReader): RegistrySettings {
    const registry = read("registry") ?? "ecr";
    if (registry !== "ecr") {
        return { kind: "plain", host: r.string("registry", REGISTRY_HOST, undefined, "`ecr` or a registry host[:port]") };
    }
    return {
        kind: "ecr",
        region: r.string("aws:region", REGION, undefined, "an AWS region such as us-east-1 (pulumi config set aws:region us-east-1)"),
        retentionCount: r.integer("retentionCount", 5, 1, 1000),
        adoptExisting: r.boolean("adoptExistingRepositories", false),
    };
}

/** A config object keyed by service name: unknown names are refused. */
function perService(r: Reader, key: string): Record<string, unknown> {
    const values = r.object(key);
    for (const name of Object.keys(values)) {
        if (!SERVICES.some((s) => s.name === name)) {
            r.problems.push(`${key}.${showValue(name)} is not a service: expected ${SERVICES.map((s) => s.name).join(", ")}`);
        }
    }
    return values;
}

const CONTAINER_HEALTH = /^([0-9]{1,5})(\/[A-Za-z0-9._~\/-]{0,255})$/;

function readContainerHealth(r: Reader, key: string, raw: unknown): ServiceSettings["containerHealth"] {
    if (raw === undefined) {
        return undefined;
    }
    const match = typeof raw === "string" ? CONTAINER_HEALTH.exec(raw) : null;
    const port = match ? Number(match[1]) : 0;
    if (!match || port < 1 || port > 65535) {
        r.problems.push(`${key}: ${showValue(String(raw))} is not PORT/PATH, such as 8080/api/v1/health`);
        return undefined;
    }
    return { port, path: match[2] };
}

const HEALTH_RANGES: Record<keyof HealthTiming, [number, number]> = {
    startPeriodSeconds: [0, 600],
    intervalSeconds: [1, 60],
    timeoutSeconds: [1, 1800],
};

/** One service's `healthTimings` entry, e.g. `{ timeoutSeconds: 120 }`, over the stack's timing. */
function readHealthTiming(r: Reader, key: string, raw: unknown, defaults: HealthTiming): HealthTiming {
    if (raw === undefined) {
        return defaults;
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        r.problems.push(`${key} is not an object such as { timeoutSeconds: 120 }`);
        return defaults;
    }
    const timing = { ...defaults };
    for (const [name, value] of Object.entries(raw)) {
        const range = HEALTH_RANGES[name as keyof HealthTiming];
        if (!range) {
            r.problems.push(`${key}.${showValue(name)} is not one of ${Object.keys(HEALTH_RANGES).join(", ")}`);
        } else if (!Number.isInteger(value) || value < range[0] || value > range[1]) {
            r.problems.push(`${key}.${name}: ${showValue(String(value))} is not a whole number from ${range[0]} to ${range[1]}`);
        } else {
            timing[name as keyof HealthTiming] = value;
        }
    }
    return timing;
}

function readServices(r: Reader, health: HealthTiming): ServiceSettings[] {
    const urls = perService(r, "healthUrls");
    const containerHealth = perService(r, "containerHealth");
    const timings = perService(r, "healthTimings");
    return SERVICES.map((service) => {
        const raw = urls[service.name] ?? DEFAULT_HEALTH_URLS[service.name];
        const healthUrl = typeof raw === "string" ? r.url(`healthUrls.${service.name}`, raw) : "";
        if (typeof raw !== "string") {
            r.problems.push(`healthUrls.${service.name} is not a string`);
        }
        return {
            ...service,
            version: r.version(service),
            healthUrl,
            health: readHealthTiming(r, `healthTimings.${service.name}`, timings[service.name], health),
            containerHealth:
                service.name === PROXY_SERVICE && containerHealth[service.name] !== undefined
                    ? void r.problems.push(`containerHealth.${service.name}: ${service.name} publishes the host's ports, so two cannot run at once`)
                    : readContainerHealth(r, `containerHealth.${service.name}`, containerHealth[service.name]),
        };
    });
}

/** Only the registry part of the stack config, validated as parseSettings does (tools/versions.ts). */
export function parseRegistrySettings(read: ConfigReader): RegistrySettings {
    const r = new Reader(read);
    const registry = readRegistry(r, read);
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return registry;
}

/** Validates raw stack config into typed settings, reporting every problem at once. */
export function parseSettings(read: ConfigReader): Settings {
    const r = new Reader(read);
    const health: HealthTiming = {
        startPeriodSeconds: r.integer("healthStartPeriodSeconds", 0, ...HEALTH_RANGES.startPeriodSeconds),
        intervalSeconds: r.integer("healthIntervalSeconds", 1, ...HEALTH_RANGES.intervalSeconds),
        timeoutSeconds: r.integer("healthTimeoutSeconds", 60, ...HEALTH_RANGES.timeoutSeconds),
    };
    const settings: Settings = {
        registry: readRegistry(r, read),
        connection: {
            host: r.string("host", HOST, undefined, "a host name or IP address of the server"),
            port: r.integer("sshPort", 22, 1, 65535),
            user: r.string("sshUser", USER, undefined, "a Unix user name"),
            hostKey: r.string("sshHostKey", HOST_KEY, undefined,
                "the server's public SSH host key, one line `ssh-ed25519 AAAA...` (ssh-keyscan -t ed25519 HOST)"),
        },
        compose: {
            dir: r.string("composeDir", PATH, "~/probability/infra/compose-prod", "an absolute path or one starting with ~/"),
            file: r.string("composeFile", COMPOSE_FILE, "podman-compose.yaml", "a compose file name ending in .yaml or .yml"),
        },
        services: readServices(r, health),
    };
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return settings;
}
