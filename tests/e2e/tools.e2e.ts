import * as assert from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { key, stackConfig } from "../program/harness";
import { runRemote } from "./engine";
import { CONTAINERS, imageId, releases, runbookBackendRollback, runningImage, SANDBOX, sandboxScript, Service, SERVICES, throughNginx } from "./sandbox";
import { collectVersions } from "../../tools/versions";
import { ToolError } from "../../tools/lib/cli";
import { configReader, loadStackFile } from "../../tools/lib/stackFile";
import { formatVersions } from "../../tools/lib/versionsReport";
import { ImageSource } from "../../registry/imageSource";
import { PlainRegistrySource } from "../../registry/plainRegistrySource";

/**
 * The operator tools, `npm run versions` and `npm run status`, run as an
 * operator runs them (the package.json scripts, in a child process) against
 * the sandbox: its registry, and its server over SSH.
 *
 * Touches the sandbox: run the whole file under the shared lock. Alone
 * (--no-config, else mocha adds the unit suite from .mocharc.json):
 *   flock /tmp/sandbox-e2e.lock npx mocha --no-config -r ts-node/register --timeout 240000 tests/e2e/tools.e2e.ts
 * or with the other e2e tests: flock /tmp/sandbox-e2e.lock npm run test:e2e
 */

const ROOT = path.resolve(__dirname, "../..");
const STACK_FILE = "Pulumi.local.yaml";

interface ToolRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** `npm run <tool> -- <args>` from the repository root, as the docs tell operators to run it. */
function runTool(tool: "versions" | "status", args: string[], extraEnv: Record<string, string> = {}): ToolRun {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
    if (!extraEnv.ROLLBACK_SSH_KEY_FILE) {
        delete env.ROLLBACK_SSH_KEY_FILE; // the local stack's default: the sandbox's key
    }
    const run = spawnSync("npm", ["run", "--silent", tool, "--", ...args], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
    if (run.error) {
        throw run.error;
    }
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function show(run: ToolRun): string {
    return `exit ${run.code}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;
}

/**
 * The rows of the first plain-text table in `lines` whose header starts with
 * `headers[0]`, each cut at the header's column offsets; the table ends at the
 * first blank line, `!` note or `(...)` remark.
 */
function parseTable(lines: string[], headers: string[]): Array<Record<string, string>> {
    const start = lines.findIndex((line) => line.trim().startsWith(`${headers[0]} `));
    assert.ok(start >= 0, `no table with header ${headers[0]} in:\n${lines.join("\n")}`);
    const header = lines[start];
    const offsets: number[] = [];
    for (const name of headers) {
        const at = header.indexOf(name, offsets.length ? offsets[offsets.length - 1] + 1 : 0);
        assert.ok(at >= 0, `column ${name} missing from ${JSON.stringify(header)}`);
        offsets.push(at);
    }
    const rows: Array<Record<string, string>> = [];
    for (const line of lines.slice(start + 1)) {
        if (line.trim() === "" || line.trim().startsWith("!") || line.trim().startsWith("(")) {
            break;
        }
        rows.push(Object.fromEntries(headers.map((name, i) => [name, line.slice(offsets[i], offsets[i + 1]).trim()])));
    }
    return rows;
}

/** A registry manifest digest, read with the registry API directly (not through the tools' code). */
async function registryDigest(service: Service, tag: string): Promise<string> {
    const response = await fetch(`http://${SANDBOX.registry}/v2/probability-${service}/manifests/${tag}`, {
        method: "HEAD",
        headers: { Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
        signal: AbortSignal.timeout(5000),
    });
    assert.strictEqual(response.status, 200, `${service}:${tag} in the registry`);
    return response.headers.get("docker-content-digest")!;
}

/** Every tag of the repository, from the registry API directly. */
async function registryTags(service: Service): Promise<string[]> {
    const response = await fetch(`http://${SANDBOX.registry}/v2/probability-${service}/tags/list`, { signal: AbortSignal.timeout(5000) });
    return ((await response.json()) as { tags: string[] }).tags;
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer().listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
        server.on("error", reject);
    });
}

const pinnedIn = (service: Service, config = stackConfig("local")) => config[key(`${service}Version`)];

/** The pipeline's tags on release `2026.01.4-1c58315`: long, short CalVer, SHA. */
function pipelineTags(release: string): string[] {
    const [calver, sha] = release.split("-");
    return [release, calver, sha];
}

/** A service's section of the versions report: its heading line and its table rows. */
function versionsSection(stdout: string, service: Service): { heading: string; rows: Array<Record<string, string>>; notes: string[] } {
    const lines = stdout.split("\n");
    const start = lines.findIndex((line) => line.startsWith(`${service} (probability-${service}),`));
    assert.ok(start >= 0, `no ${service} section in:\n${stdout}`);
    const end = lines.findIndex((line, i) => i > start && line === "");
    const section = lines.slice(start, end < 0 ? undefined : end);
    return {
        heading: section[0],
        rows: section.some((line) => line.startsWith("  MARK ")) ? parseTable(section.slice(1), ["MARK", "TAGS", "CREATED", "SIZE", "DIGEST"]) : [],
        notes: section.filter((line) => line.startsWith("  !")),
    };
}

/**
 * The section lists exactly the registry's releases, newest first (as
 * `releases()` orders them), each with the pipeline's tags and its digest,
 * `latest` on the newest only, and `pinned` on the pinned release only.
 */
async function assertVersionsSection(stdout: string, service: Service, pin: string): Promise<void> {
    const expected = await releases(service);
    const { heading, rows, notes } = versionsSection(stdout, service);
    assert.ok(expected.length >= 2, `the sandbox registry has ${expected.length} ${service} releases: run sandbox/up.sh`);
    assert.strictEqual(heading, `${service} (probability-${service}), pinned ${pin} in ${STACK_FILE}`);
    assert.deepStrictEqual(notes, [], `${service}: unexpected notes`);
    assert.deepStrictEqual(
        rows.map((row) => row.TAGS.split(" ")[0]),
        expected,
        `${service}: rows are not the registry's releases newest first:\n${stdout}`,
    );
    for (const [i, row] of rows.entries()) {
        const release = expected[i];
        assert.deepStrictEqual(row.TAGS.split(" "), [...pipelineTags(release), ...(i === 0 ? ["latest"] : [])], `${service} ${release}: tags`);
        const digest = await registryDigest(service, release);
        assert.strictEqual(row.DIGEST, digest.slice("sha256:".length, "sha256:".length + 12), `${service} ${release}: digest`);
        const pinned = row.TAGS.split(" ").includes(pin);
        assert.deepStrictEqual(row.MARK.split(" ").filter(Boolean), [...(i === 0 ? ["latest"] : []), ...(pinned ? ["pinned"] : [])], `${service} ${release}: markers`);
        assert.match(row.CREATED, /^\d{4}-\d\d-\d\d \d\d:\d\dZ$/, `${service} ${release}: date`);
        assert.match(row.SIZE, /^\d+(\.\d)? (B|KiB|MiB|GiB)$/, `${service} ${release}: size`);
    }
    assert.strictEqual(rows.filter((row) => row.MARK.includes("pinned")).length, 1, `${service}: one pinned row`);
    // Every tag in the registry is on some row, and `latest` is the newest release's digest.
    assert.deepStrictEqual(rows.flatMap((row) => row.TAGS.split(" ")).sort(), (await registryTags(service)).sort(), `${service}: tags missing or extra`);
    assert.strictEqual(await registryDigest(service, "latest"), await registryDigest(service, expected[0]), `${service}: latest in the registry`);
}

describe("npm run versions against the sandbox registry", function () {
    this.timeout(120_000);

    // The registry as sandbox:up leaves it: the baseline releases, no test release left by another run.
    before(() => sandboxScript("up.sh"));

    it("lists backend's releases newest first, with their tags, latest and the version Pulumi.local.yaml pins", async () => {
        const run = runTool("versions", ["backend", "--stack", "local"]);
        assert.strictEqual(run.code, 0, show(run));
        assert.strictEqual(run.stderr, "", show(run));
        assert.match(run.stdout, /^Stack local: images in registry 127\.0\.0\.1:5050, newest first/);
        assert.ok(!/^(frontend|website|nginx) \(/m.test(run.stdout), `only backend was asked for:\n${run.stdout}`);
        await assertVersionsSection(run.stdout, "backend", pinnedIn("backend"));
    });

    it("without a service lists all four, each with its own pin", async () => {
        const run = runTool("versions", ["--stack", "local"]);
        assert.strictEqual(run.code, 0, show(run));
        for (const service of SERVICES) {
            await assertVersionsSection(run.stdout, service, pinnedIn(service));
        }
    });

    it("marks an older pinned release, pinned by its short CalVer tag, and only that one", async () => {
        const older = (await releases("backend"))[3];
        const pin = pipelineTags(older)[1];
        const read = configReader(loadStackFile("local"), { backendVersion: pin });
        const report = await collectVersions(read, new PlainRegistrySource(SANDBOX.registry), { stack: "local", stackFile: STACK_FILE }, "backend");
        await assertVersionsSection(formatVersions(report), "backend", pin);
        assert.strictEqual(versionsSection(formatVersions(report), "backend").rows[3].MARK, "pinned");
    });

    it("a service that does not exist: a clear error naming the services, exit 2, nothing listed", () => {
        const run = runTool("versions", ["payments", "--stack", "local"]);
        assert.strictEqual(run.code, 2, show(run));
        assert.strictEqual(run.stdout, "", show(run));
        assert.strictEqual(run.stderr.trim(), 'versions: "payments" is not a service: backend, frontend, website, nginx');
    });

    it("a repository that is not in the registry is reported on its service; an unreachable registry stops the tool", async () => {
        const registry = new PlainRegistrySource(SANDBOX.registry);
        const renamed: ImageSource = { description: registry.description, dateLabel: registry.dateLabel, list: (repository: string) => registry.list(`${repository}-gone`) };
        const read = configReader(loadStackFile("local"));
        const report = await collectVersions(read, renamed, { stack: "local", stackFile: STACK_FILE }, "backend");
        const { rows, notes } = versionsSection(formatVersions(report), "backend");
        assert.deepStrictEqual(rows, []);
        assert.deepStrictEqual(notes, [
            `  ! repository probability-backend-gone does not exist in the registry ${SANDBOX.registry}`,
        ]);
        const port = await closedPort();
        await assert.rejects(
            collectVersions(read, new PlainRegistrySource(`127.0.0.1:${port}`), { stack: "local", stackFile: STACK_FILE }),
            (error: Error) => error instanceof ToolError && error.message === `cannot reach the registry at http://127.0.0.1:${port} (ECONNREFUSED): is it running?`,
        );
    });
});

const STATUS_HEADERS = ["SERVICE", "PINNED", "PINNED ID", "CONTAINER", "STATE", "HEALTH", "STARTED", "RUNNING ID", "RUNNING TAGS", "RESULT"];

interface Status {
    run: ToolRun;
    rows: Record<Service, Record<string, string>>;
    /** The `<service>: DIFFERS: ...` lines. */
    differs: string[];
    verdict: string;
}

function status(env: Record<string, string> = {}): Status {
    const run = runTool("status", ["--stack", "local"], env);
    assert.ok(/^SERVICE /m.test(run.stdout), `no status table:\n${show(run)}`);
    const lines = run.stdout.split("\n");
    const table = parseTable(lines, STATUS_HEADERS);
    assert.deepStrictEqual(table.map((row) => row.SERVICE), SERVICES, show(run));
    return {
        run,
        rows: Object.fromEntries(table.map((row) => [row.SERVICE, row])) as Status["rows"],
        differs: lines.filter((line) => / DIFFERS: /.test(line)),
        verdict: lines.filter(Boolean).pop() ?? "",
    };
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

/** Every service but `differing` is `ok`, running its pinned image; the differing ones are named, alone. */
function assertOnlyDiffering(result: Status, differing: Service[]): void {
    const pins = stackConfig("local");
    for (const service of SERVICES) {
        const row = result.rows[service];
        assert.strictEqual(row.PINNED, pinnedIn(service, pins), `${service}: pinned\n${show(result.run)}`);
        assert.strictEqual(row.CONTAINER, CONTAINERS[service]);
        assert.strictEqual(row.RESULT, differing.includes(service) ? "DIFFERS" : "ok", `${service}: result\n${show(result.run)}`);
        if (!differing.includes(service)) {
            assert.strictEqual(row.STATE, "running", `${service}: state`);
            assert.strictEqual(row["RUNNING ID"], short(runningImage(service)), `${service}: running image`);
            assert.strictEqual(row["PINNED ID"], row["RUNNING ID"], `${service}: pinned image`);
        }
    }
    assert.deepStrictEqual(
        [...new Set(result.differs.map((line) => line.split(":")[0]))],
        differing,
        `services named as differing\n${show(result.run)}`,
    );
    if (differing.length === 0) {
        assert.strictEqual(result.run.code, 0, show(result.run));
        assert.strictEqual(result.verdict, `All 4 services run the version ${STACK_FILE} pins.`);
    } else {
        assert.strictEqual(result.run.code, 1, show(result.run));
        assert.ok(
            result.verdict.startsWith(`${differing.length} of 4 services differ from ${STACK_FILE}: ${differing.join(", ")}. `),
            `verdict: ${result.verdict}`,
        );
    }
}

/** The server's SSH access, as the sandbox hands it out (sandbox/README.md). */
function sandboxConnection() {
    const hostKey = fs.readFileSync(`${SANDBOX.state}/ssh/known_hosts`, "utf8").trim().split(/\s+/).slice(1, 3).join(" ");
    return { host: "127.0.0.1", port: 2222, user: "root", hostKey, privateKey: fs.readFileSync(`${SANDBOX.state}/ssh/id_ed25519`, "utf8") };
}

/** The runbook's manual rollback of backend, typed by an operator over SSH. */
async function manualRollback(version: string): Promise<void> {
    const result = await runRemote(sandboxConnection(), `set -e\n${runbookBackendRollback(version)}`);
    assert.strictEqual(result.code, 0, `the runbook's commands failed:\n${result.stdout}\n${result.stderr}`);
}

function podman(...args: string[]): void {
    execFileSync("podman", args, { stdio: "ignore" });
}

describe("npm run status against the sandbox server", function () {
    this.timeout(240_000);

    // Every case starts from the server as sandbox:up leaves it: the newest releases, which Pulumi.local.yaml pins.
    beforeEach(() => sandboxScript("up.sh"));
    after(() => sandboxScript("up.sh"));

    it("in line with Pulumi.local.yaml: every service ok, exit 0", () => {
        for (const service of SERVICES) {
            assert.strictEqual(imageId(service, pinnedIn(service)), runningImage(service), `precondition: ${service} runs its pinned version`);
        }
        const result = status();
        assert.strictEqual(result.run.stderr, "", show(result.run));
        assertOnlyDiffering(result, []);
        for (const service of SERVICES) {
            assert.deepStrictEqual(result.rows[service]["RUNNING TAGS"].split(" "), [pinnedIn(service), "latest"], `${service}: running tags`);
        }
    });

    it("after backend was rolled back by hand with the runbook: exit 1, backend and only backend differs", async () => {
        const older = (await releases("backend"))[2];
        const pin = pinnedIn("backend");
        assert.notStrictEqual(older, pin);
        await manualRollback(older);
        // The rollback really happened (checked without the tool).
        assert.strictEqual(runningImage("backend"), imageId("backend", older), "precondition: backend runs the older release");
        assert.ok((await throughNginx("backend")).body.includes(older), "precondition: nginx serves the older backend");

        const result = status();
        assertOnlyDiffering(result, ["backend"]);
        const row = result.rows.backend;
        assert.strictEqual(row.STATE, "running");
        assert.strictEqual(row["RUNNING ID"], short(imageId("backend", older)));
        assert.strictEqual(row["PINNED ID"], short(imageId("backend", pin)));
        assert.deepStrictEqual(row["RUNNING TAGS"].split(" "), [older, "latest"]);
        assert.deepStrictEqual(result.differs, [`backend: DIFFERS: backend_prod runs ${older} instead of the pinned ${pin}`]);
        assert.ok(
            result.run.stdout.includes(`backend: warning: :latest on the server is ${older}, not ${pin}`),
            `no warning about :latest\n${show(result.run)}`,
        );
    });

    it("a stopped container differs: exit 1, only that service named", () => {
        podman("stop", CONTAINERS.website);
        const result = status();
        assertOnlyDiffering(result, ["website"]);
        assert.strictEqual(result.rows.website.STATE, "exited");
        assert.deepStrictEqual(result.differs, ["website: DIFFERS: website_prod is exited, not running"]);
    });

    it("a removed container differs: exit 1, reported absent", () => {
        podman("rm", "--force", CONTAINERS.website);
        const result = status();
        assertOnlyDiffering(result, ["website"]);
        assert.strictEqual(result.rows.website.STATE, "absent");
        assert.deepStrictEqual(result.differs, ["website: DIFFERS: website_prod does not exist"]);
    });

    it("a key the server refuses: a clear error, exit 2, no table", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tools-e2e-"));
        try {
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/key`]);
            const run = runTool("status", ["--stack", "local"], { ROLLBACK_SSH_KEY_FILE: `${dir}/key` });
            assert.strictEqual(run.code, 2, show(run));
            assert.strictEqual(run.stdout, "", show(run));
            assert.match(run.stderr, /^status: root@127\.0\.0\.1:2222 refused the key \(.*Permission denied.*\): set ROLLBACK_SSH_KEY_FILE to the private key for root\n$/);
            // A key file that is not there is not silently replaced by the ssh-agent's keys.
            const missing = runTool("status", ["--stack", "local"], { ROLLBACK_SSH_KEY_FILE: `${dir}/nokey`, SSH_AUTH_SOCK: `${dir}/agent.sock` });
            assert.strictEqual(missing.code, 2, show(missing));
            assert.strictEqual(missing.stdout, "", show(missing));
            assert.strictEqual(missing.stderr, `status: ROLLBACK_SSH_KEY_FILE names ${dir}/nokey, which does not exist: set it to the private key for root@127.0.0.1\n`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("connects with the stack's key even when the operator's ssh-agent holds many other keys", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tools-e2e-"));
        const socket = `${dir}/agent.sock`;
        const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
        try {
            for (let i = 0; !fs.existsSync(socket); i++) {
                assert.ok(i < 50, "ssh-agent did not start");
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            // More keys than sshd's MaxAuthTries (6), none of them the server's.
            for (let i = 0; i < 7; i++) {
                execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/key${i}`]);
                execFileSync("ssh-add", ["-q", `${dir}/key${i}`], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore" });
            }
            const result = status({ SSH_AUTH_SOCK: socket });
            assert.strictEqual(result.run.stderr, "", show(result.run));
            assertOnlyDiffering(result, []);
        } finally {
            agent.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
