import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConnectionSettings } from "../../config/settings";
import { ToolError } from "./cli";

/** The sandbox's client key and known_hosts (sandbox/config.sh), the defaults for the local stack. */
export const SANDBOX_SSH_DIR = "/var/lib/rollback-sandbox/ssh";
export const KEY_FILE_ENV = "ROLLBACK_SSH_KEY_FILE";
const TIMEOUT_MS = 60_000;

/** The host as ssh and known_hosts write it: `[::1]` → `::1`. */
function bare(host: string): string {
    return host.replace(/^\[(.*)\]$/, "$1");
}

/** The known_hosts name of host:port: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
    return port === 22 ? bare(host) : `[${bare(host)}]:${port}`;
}

/** One known_hosts line pinning the stack's `sshHostKey`. */
export function knownHostsLine(connection: ConnectionSettings): string {
    return `${knownHostsName(connection.host, connection.port)} ${connection.hostKey}\n`;
}

/** The `type base64` host key a known_hosts file holds for host:port; undefined when it has none. */
export function hostKeyFromKnownHosts(contents: string, host: string, port: number): string | undefined {
    const name = knownHostsName(host, port);
    for (const line of contents.split("\n")) {
        const [names, type, key] = line.trim().split(/\s+/);
        if (names && !names.startsWith("#") && names.split(",").includes(name) && type && key) {
            return `${type} ${key}`;
        }
    }
    return undefined;
}

/**
 * The private key file: $ROLLBACK_SSH_KEY_FILE, else the sandbox's key for the
 * local stack, else ~/.ssh/id_ed25519.
 */
export function resolveKeyFile(env: NodeJS.ProcessEnv, stack: string, home: string): { file: string; from: string } {
    if (env[KEY_FILE_ENV]) {
        return { file: env[KEY_FILE_ENV]!, from: KEY_FILE_ENV };
    }
    if (stack === "local") {
        return { file: path.join(SANDBOX_SSH_DIR, "id_ed25519"), from: "the sandbox's key" };
    }
    return { file: path.join(home, ".ssh", "id_ed25519"), from: "the default key" };
}

/**
 * The system ssh client's arguments: no prompts, only the given key (when one
 * is given), and only the pinned host key is accepted (a known_hosts file
 * holding just that key; the user's own known_hosts files are not consulted).
 */
export function sshArgs(connection: ConnectionSettings, knownHostsFile: string, keyFile: string | undefined, command: string): string[] {
    return [
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", `UserKnownHostsFile=${knownHostsFile}`,
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "UpdateHostKeys=no",
        "-o", "ConnectTimeout=10",
        "-o", "LogLevel=ERROR",
        // Only that key: ssh would offer every ssh-agent key before it, and a server
        // refuses the connection after MaxAuthTries (6) failures ("Too many authentication failures").
        ...(keyFile ? ["-o", "IdentitiesOnly=yes", "-i", keyFile] : []),
        "-p", String(connection.port),
        "-l", connection.user,
        "--",
        bare(connection.host),
        command,
    ];
}

/** Explains an ssh failure (exit 255) in one line. */
export function describeSshFailure(stderr: string, connection: ConnectionSettings, stackFile: string): string {
    const where = `${connection.user}@${connection.host}:${connection.port}`;
    const said = stderr.trim().split("\n").filter(Boolean).pop() ?? "no message";
    if (/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(stderr)) {
        return `${where} did not show the host key that ${stackFile} pins (sshHostKey): refusing to connect (${said})`;
    }
    if (/permission denied/i.test(stderr)) {
        return `${where} refused the key (${said}): set ${KEY_FILE_ENV} to the private key for ${connection.user}`;
    }
    return `cannot connect to ${where}: ${said}`;
}

/**
 * Runs `command` on the server with the system ssh client and returns its
 * standard output. The pinned host key goes into a temporary known_hosts file,
 * removed afterwards.
 */
export async function runRemote(
    connection: ConnectionSettings,
    keyFile: string | undefined,
    command: string,
    stackFile: string,
): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollback-status-"));
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, knownHostsLine(connection), { mode: 0o600 });
    try {
        return await new Promise<string>((resolve, reject) => {
            execFile(
                "ssh",
                sshArgs(connection, knownHosts, keyFile, command),
                { timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
                (error, stdout, stderr) => {
                    if (!error) {
                        return resolve(stdout);
                    }
                    const failure = error as { code?: unknown; killed?: boolean };
                    if (failure.code === "ENOENT") {
                        return reject(new ToolError("the ssh client is not installed (apt-get install openssh-client)"));
                    }
                    if (failure.killed) {
                        return reject(new ToolError(`the server did not answer within ${TIMEOUT_MS / 1000}s`));
                    }
                    if (failure.code === 255) {
                        return reject(new ToolError(describeSshFailure(stderr, connection, stackFile)));
                    }
                    reject(new ToolError(`the read script failed on the server (exit ${failure.code}): ${stderr.trim().split("\n").pop() ?? ""}`));
                },
            );
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
