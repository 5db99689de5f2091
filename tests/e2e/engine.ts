import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { commandsOf, ProgramRun, RegisteredResource, runProgram } from "../program/harness";

/**
 * What `pulumi up` does with this program's remote commands, without the
 * Pulumi CLI (which cannot be installed here): evaluate the program with the
 * stack's config, then run the `create` script of each command whose inputs
 * differ from the last successful run, over real SSH, in dependency order,
 * stopping at the first failure (its dependents do not run, and the failed
 * command keeps its old inputs as applied, so the next up retries it).
 */

export interface Connection {
    host: string;
    port: number;
    user: string;
    hostKey: string;
    privateKey: string;
}

export interface RemoteResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface UpResult {
    /** Commands whose script ran, in order. */
    ran: string[];
    /** The first command that failed, with what it printed; or a program error (config, missing tag). */
    failure?: { command?: string; message: string };
    /** What every script printed, by command. */
    logs: Record<string, RemoteResult>;
    run?: ProgramRun;
}

/** @pulumi/command wraps the connection as a secret: unwrap it as the provider would. */
export function connectionOf(command: RegisteredResource): Connection {
    const input = command.inputs.connection;
    return (input && "value" in input ? input.value : input) as Connection;
}

/** Runs a command on the server as @pulumi/command would: one SSH session, pinned host key. */
export async function runRemote(connection: Connection, script: string): Promise<RemoteResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollback-ssh-"));
    try {
        const keyFile = path.join(dir, "key");
        const knownHosts = path.join(dir, "known_hosts");
        fs.writeFileSync(keyFile, connection.privateKey.endsWith("\n") ? connection.privateKey : `${connection.privateKey}\n`, { mode: 0o600 });
        fs.writeFileSync(knownHosts, `[${connection.host}]:${connection.port} ${connection.hostKey}\n`);
        const args = [
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", `UserKnownHostsFile=${knownHosts}`,
            "-o", "ConnectTimeout=10",
            // Only the stack's key, as the provider does; not first every key an ssh-agent holds.
            "-o", "IdentitiesOnly=yes",
            "-i", keyFile,
            "-p", String(connection.port),
            `${connection.user}@${connection.host}`,
            "--",
            script,
        ];
        return await new Promise((resolve, reject) => {
            const child = spawn("ssh", args, { stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk) => (stdout += chunk));
            child.stderr.on("data", (chunk) => (stderr += chunk));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Commands ordered so that each comes after the ones it depends on. */
function inDependencyOrder(commands: RegisteredResource[]): RegisteredResource[] {
    const ordered: RegisteredResource[] = [];
    const pending = [...commands];
    while (pending.length > 0) {
        const next = pending.findIndex((c) => c.dependsOn.every((d) => ordered.some((o) => o.key === d) || !pending.some((p) => p.key === d)));
        if (next < 0) {
            throw new Error("dependency cycle between remote commands");
        }
        ordered.push(...pending.splice(next, 1));
    }
    return ordered;
}

export class MiniEngine {
    /** Inputs of each command as last applied successfully, like the stack's state. */
    private applied: Record<string, string> = {};

    constructor(private readonly stack: string) {}

    async up(config: Record<string, string | undefined>): Promise<UpResult> {
        let run: ProgramRun;
        try {
            run = await runProgram(config, this.stack, "real");
        } catch (error) {
            return { ran: [], logs: {}, failure: { message: (error as Error).message } };
        }
        const result: UpResult = { ran: [], logs: {}, run };
        for (const command of inDependencyOrder(commandsOf(run))) {
            const inputs = JSON.stringify(command.inputs);
            if (this.applied[command.name] === inputs) {
                continue;
            }
            const remote = await runRemote(connectionOf(command), command.inputs.create);
            result.ran.push(command.name);
            result.logs[command.name] = remote;
            if (remote.code !== 0) {
                result.failure = { command: command.name, message: remote.stderr };
                break;
            }
            this.applied[command.name] = inputs;
        }
        return result;
    }
}
