/**
 * npm run status [-- --stack prod|local]
 *
 * What runs on the server, per container (image, ID, repo digests, state,
 * health, start time), beside the version the stack pins. Exits 1 naming each
 * service that differs: another image than the pinned tag, or not running.
 *
 * Connects with the system ssh client, as the stack's sshUser to host:sshPort,
 * accepting only the stack's sshHostKey. Private key: $ROLLBACK_SSH_KEY_FILE,
 * else ~/.ssh/id_ed25519 (local stack: the sandbox's key, and the sandbox's
 * host key when the stack file has no sshHostKey).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSettings } from "../config/settings";
import { startTool } from "./lib/args";
import { EXIT, runTool, ToolError } from "./lib/cli";
import { hostKeyFromKnownHosts, KEY_FILE_ENV, resolveKeyFile, runRemote, SANDBOX_SSH_DIR } from "./lib/ssh";
import { configReader, StackFile } from "./lib/stackFile";
import { compareService, formatStatus } from "./lib/statusReport";
import { parseStatusOutput, statusScript } from "./lib/statusScript";

const USAGE = `usage: npm run status [-- --stack <stack>]
  --stack    the stack file to compare with, Pulumi.<stack>.yaml (default: prod)
Private key: $${KEY_FILE_ENV}, else ~/.ssh/id_ed25519 (local stack: ${SANDBOX_SSH_DIR}/id_ed25519).
Exit code: 0 every service runs its pinned version, 1 some differ (named), 2 could not check.`;

/** The local stack's file may not pin the sandbox's host key: take it from the sandbox's known_hosts. */
function sandboxHostKey(stackFile: StackFile): Record<string, string> {
    const read = configReader(stackFile);
    if (stackFile.stack !== "local" || read("sshHostKey") !== undefined) {
        return {};
    }
    const file = path.join(SANDBOX_SSH_DIR, "known_hosts");
    const contents = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const key = hostKeyFromKnownHosts(contents, read("host") ?? "", Number(read("sshPort") ?? 22));
    if (!key) {
        throw new ToolError(`${stackFile.file} has no sshHostKey and ${file} has no key for the sandbox: is the sandbox up (sandbox/README.md)?`);
    }
    return { sshHostKey: key };
}

async function main(): Promise<number> {
    const started = startTool(process.argv.slice(2), false, USAGE);
    if (!started) {
        return EXIT.ok;
    }
    const { stackFile } = started;
    const settings = parseSettings(configReader(stackFile, sandboxHostKey(stackFile)));
    const key = resolveKeyFile(process.env, stackFile.stack, os.homedir());
    if (!fs.existsSync(key.file) && key.from === KEY_FILE_ENV) {
        // Named on purpose: falling back to the ssh-agent's keys would hide the mistake.
        throw new ToolError(`${KEY_FILE_ENV} names ${key.file}, which does not exist: set it to the private key for ${settings.connection.user}@${settings.connection.host}`);
    }
    if (!fs.existsSync(key.file) && !process.env.SSH_AUTH_SOCK) {
        throw new ToolError(`no private key at ${key.file} (${key.from}) and no ssh-agent: set ${KEY_FILE_ENV} to the key for ${settings.connection.user}@${settings.connection.host}`);
    }
    const containers = settings.services.map((service) => service.container);
    const output = await runRemote(settings.connection, fs.existsSync(key.file) ? key.file : undefined, statusScript(containers), stackFile.file);
    const snapshot = parseStatusOutput(output, containers);
    const statuses = settings.services.map((service) => compareService(service, settings.registry, snapshot));
    const { user, host, port } = settings.connection;
    process.stdout.write(formatStatus(stackFile.file, `${user}@${host}:${port}`, statuses));
    return statuses.some((status) => status.problems.length > 0) ? EXIT.problem : EXIT.ok;
}

if (require.main === module) {
    runTool("status", main);
}
