import { bashCommand, quote } from "../../remote/shell";
import { ToolError } from "./cli";

/** Starts each section of the read script's output; JSON never has a line starting with it. */
export const MARK = "@@rollback-status";

/**
 * The read-only script `npm run status` runs on the server: `podman container
 * inspect` of each container, then `podman images` (IDs, tags, repo digests).
 * It changes nothing, takes no lock, and every value in it is quoted.
 */
export function statusScript(containers: string[]): string {
    return bashCommand([
        "set -u",
        "export LC_ALL=C",
        `mark() { printf '%s %s\\n' ${quote(MARK)} "$*"; }`,
        "if ! command -v podman >/dev/null 2>&1; then mark fatal podman is not installed on \"$(hostname)\"; exit 0; fi",
        "inspect_container() {",
        `  mark container "$1"`,
        `  podman container exists "$1"`,
        `  case $? in`,
        `    0) podman container inspect "$1" || mark error "$1" ;;`,
        `    1) mark absent "$1" ;;`,
        `    *) mark error "$1" ;;`,
        "  esac",
        "}",
        ...containers.map((container) => `inspect_container ${quote(container)}`),
        "mark images",
        "podman images --format json || mark error images",
        "mark end",
    ]);
}

/** One container as `podman container inspect` shows it. */
export interface ContainerState {
    name: string;
    /** false: no container of that name; error: podman could not inspect it. */
    exists: boolean;
    error?: boolean;
    /** The image ID it was created from (64 hex digits). */
    imageId?: string;
    /** The reference it was created from, e.g. `<registry>/probability-backend:latest`. */
    imageName?: string;
    /** created, running, exited, paused... */
    state?: string;
    running?: boolean;
    /** healthy, unhealthy, starting; undefined without a health check. */
    health?: string;
    startedAt?: Date;
}

/** One image in the server's storage. */
export interface ServerImage {
    id: string;
    /** `registry/repository:tag` references. */
    names: string[];
    /** `registry/repository@sha256:...` references. */
    repoDigests: string[];
}

export interface ServerSnapshot {
    containers: Map<string, ContainerState>;
    images: ServerImage[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

/** podman's RFC 3339 time with nanoseconds; undefined for the zero time of a container that never started. */
export function parsePodmanTime(value: unknown): Date | undefined {
    const raw = text(value);
    const match = raw ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)/.exec(raw) : null;
    if (!match || match[1].startsWith("0001-")) {
        return undefined;
    }
    const date = new Date(`${match[1]}.${(match[2] ?? "0").padEnd(3, "0").slice(0, 3)}${match[3]}`);
    return Number.isNaN(date.getTime()) ? undefined : date;
}

function containerState(name: string, inspected: unknown): ContainerState {
    const entry = Array.isArray(inspected) ? inspected[0] : inspected;
    if (!isObject(entry)) {
        throw new ToolError(`podman container inspect ${name} printed no container`);
    }
    const state = isObject(entry.State) ? entry.State : {};
    // podman 4 calls it Health; podman 3 Healthcheck.
    const health = isObject(state.Health) ? state.Health : isObject(state.Healthcheck) ? state.Healthcheck : {};
    return {
        name,
        exists: true,
        imageId: text(entry.Image),
        imageName: text(entry.ImageName) ?? (isObject(entry.Config) ? text(entry.Config.Image) : undefined),
        state: text(state.Status),
        running: state.Running === true,
        health: text(health.Status),
        startedAt: parsePodmanTime(state.StartedAt),
    };
}

function serverImage(entry: unknown): ServerImage | undefined {
    if (!isObject(entry) || !text(entry.Id)) {
        return undefined;
    }
    return {
        id: text(entry.Id)!,
        names: [...new Set([...strings(entry.Names), ...strings(entry.RepoTags)])],
        repoDigests: strings(entry.RepoDigests),
    };
}

/** `podman images` lists an image once per tag: one entry per image ID. */
function mergeImages(images: ServerImage[]): ServerImage[] {
    const byId = new Map<string, ServerImage>();
    for (const image of images) {
        const seen = byId.get(image.id);
        byId.set(
            image.id,
            seen
                ? { id: image.id, names: [...new Set([...seen.names, ...image.names])], repoDigests: [...new Set([...seen.repoDigests, ...image.repoDigests])] }
                : image,
        );
    }
    return [...byId.values()];
}

function parseJson(body: string[], what: string): unknown {
    try {
        return JSON.parse(body.join("\n"));
    } catch {
        throw new ToolError(`the server's answer for ${what} is not JSON: ${JSON.stringify(body.join(" ").slice(0, 120))}`);
    }
}

/** Reads the script's output back; throws when it is cut short or not what the script prints. */
export function parseStatusOutput(output: string, containers: string[]): ServerSnapshot {
    const sections: Array<{ kind: string; arg: string; body: string[] }> = [];
    for (const line of output.split("\n")) {
        if (line.startsWith(`${MARK} `)) {
            const [kind, ...rest] = line.slice(MARK.length + 1).split(" ");
            sections.push({ kind, arg: rest.join(" "), body: [] });
        } else if (sections.length > 0) {
            sections[sections.length - 1].body.push(line);
        }
    }
    const fatal = sections.find((s) => s.kind === "fatal");
    if (fatal) {
        throw new ToolError(`on the server: ${fatal.arg}`);
    }
    if (sections[sections.length - 1]?.kind !== "end") {
        throw new ToolError("the server's answer was cut short (no end mark): run again, or check the SSH session");
    }
    const snapshot: ServerSnapshot = { containers: new Map(), images: [] };
    for (const { kind, arg, body } of sections) {
        const known = containers.includes(arg);
        if (kind === "container" && known) {
            const inspected = body.join("").trim();
            snapshot.containers.set(arg, inspected ? containerState(arg, parseJson(body, `container ${arg}`)) : { name: arg, exists: true });
        } else if ((kind === "absent" || kind === "error") && known) {
            snapshot.containers.set(arg, { name: arg, exists: kind !== "absent", error: kind === "error" || undefined });
        } else if (kind === "images" && body.join("").trim()) {
            const list = parseJson(body, "podman images");
            snapshot.images = mergeImages((Array.isArray(list) ? list : []).map(serverImage).filter((image): image is ServerImage => image !== undefined));
        } else if (kind === "error" && arg === "images") {
            throw new ToolError("podman images failed on the server");
        }
    }
    const missing = containers.filter((name) => !snapshot.containers.has(name));
    if (missing.length > 0) {
        throw new ToolError(`the server's answer has nothing about ${missing.join(", ")}`);
    }
    return snapshot;
}
