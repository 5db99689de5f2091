import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConnectionSettings, parseSettings, RegistrySettings, ServiceSettings } from "../../config/settings";
import { ToolError } from "../../tools/lib/cli";
import { describeSshFailure, hostKeyFromKnownHosts, knownHostsLine, resolveKeyFile, runRemote, sshArgs } from "../../tools/lib/ssh";
import { compareService, formatStatus } from "../../tools/lib/statusReport";
import { MARK, parsePodmanTime, parseStatusOutput, ServerSnapshot, statusScript } from "../../tools/lib/statusScript";
import { sameRelease } from "../../registry/tags";

const HOST_KEY = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"B".repeat(43)}`;
const LOCAL: RegistrySettings = { kind: "plain", host: "127.0.0.1:5050" };
const ECR: RegistrySettings = { kind: "ecr", region: "us-east-1", retentionCount: 5, adoptExisting: false };
const ECR_REPO = "476702565908.dkr.ecr.us-east-1.amazonaws.com/probability-backend";

function settings(versions: Record<string, string> = {}): ServiceSettings[] {
    const config: Record<string, string> = {
        registry: "127.0.0.1:5050",
        host: "127.0.0.1",
        sshUser: "root",
        sshHostKey: HOST_KEY,
        backendVersion: "2026.01.6",
        frontendVersion: "2026.01.6",
        websiteVersion: "2026.01.6",
        nginxVersion: "2026.01.6",
        ...versions,
    };
    return parseSettings((key) => config[key]).services;
}
const backend = (version = "2026.01.6") => settings({ backendVersion: version })[0];

const ID = (c: string) => c.repeat(64);
const image = (id: string, names: string[], repo = "127.0.0.1:5050/probability-backend") => ({
    id,
    names: names.map((tag) => `${repo}:${tag}`),
    repoDigests: [`${repo}@sha256:${id.slice(0, 8)}`],
});
const running = (imageId: string, extra: object = {}) => ({
    name: "backend_prod",
    exists: true,
    imageId,
    state: "running",
    running: true,
    health: "healthy",
    startedAt: new Date("2026-01-20T10:00:00Z"),
    ...extra,
});
function snapshot(container: object | undefined, images: ReturnType<typeof image>[]): ServerSnapshot {
    return { containers: new Map(container ? [["backend_prod", container as never]] : []), images };
}

/** A fake `podman` on PATH that answers as podman 4 does and logs its arguments. */
function fakePodman(dir: string): void {
    const inspect = JSON.stringify([
        {
            Image: ID("a"),
            ImageName: "127.0.0.1:5050/probability-backend:latest",
            State: { Status: "running", Running: true, StartedAt: "2026-01-20T10:00:00.123456789Z", Health: { Status: "healthy" } },
        },
    ]);
    const images = JSON.stringify([
        { Id: ID("a"), Names: ["127.0.0.1:5050/probability-backend:2026.01.6-ce0bf34"], RepoDigests: ["127.0.0.1:5050/probability-backend@sha256:1"] },
        { Id: ID("a"), Names: ["127.0.0.1:5050/probability-backend:latest"], RepoDigests: ["127.0.0.1:5050/probability-backend@sha256:1"] },
    ]);
    fs.writeFileSync(
        path.join(dir, "podman"),
        [
            "#!/bin/bash",
            `printf '%s\\0' "$@" >>"${dir}/args"; printf '\\n' >>"${dir}/args"`,
            `case "$1 $2" in`,
            `  "container exists") [ "$3" = backend_prod ] && exit 0; [ "$3" = broken_prod ] && exit 125; exit 1 ;;`,
            `  "container inspect") printf '%s\\n' '${inspect}' ;;`,
            `  "images --format") printf '%s\\n' '${images}' ;;`,
            `  *) echo "unexpected podman $*" >&2; exit 2 ;;`,
            "esac",
        ].join("\n"),
        { mode: 0o755 },
    );
}

describe("status: the read script", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-test-"));
        fakePodman(dir);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (containers: string[]) =>
        execFileSync("bash", ["-c", statusScript(containers)], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });

    it("inspects each container and lists the images, and its output parses back", () => {
        const containers = ["backend_prod", "frontend_prod", "broken_prod"];
        const parsed = parseStatusOutput(run(containers), containers);
        assert.deepStrictEqual(parsed.containers.get("backend_prod"), {
            name: "backend_prod",
            exists: true,
            imageId: ID("a"),
            imageName: "127.0.0.1:5050/probability-backend:latest",
            state: "running",
            running: true,
            health: "healthy",
            startedAt: new Date("2026-01-20T10:00:00.123Z"),
        });
        assert.deepStrictEqual(parsed.containers.get("frontend_prod"), { name: "frontend_prod", exists: false, error: undefined });
        assert.deepStrictEqual(parsed.containers.get("broken_prod"), { name: "broken_prod", exists: true, error: true });
        // podman lists an image once per tag: merged into one.
        assert.deepStrictEqual(parsed.images, [
            {
                id: ID("a"),
                names: ["127.0.0.1:5050/probability-backend:2026.01.6-ce0bf34", "127.0.0.1:5050/probability-backend:latest"],
                repoDigests: ["127.0.0.1:5050/probability-backend@sha256:1"],
            },
        ]);
    });

    it("runs only read-only podman commands", () => {
        run(["backend_prod", "frontend_prod"]);
        const calls = fs.readFileSync(path.join(dir, "args"), "utf8").trim().split("\n").map((line) => line.split("\0").slice(0, 2).join(" "));
        assert.deepStrictEqual([...new Set(calls)].sort(), ["container exists", "container inspect", "images --format"]);
    });

    it("passes every container name to podman as one word of data", () => {
        const hostile = ["a'b; touch pwned", "$(id)", "-x", "x\ny"];
        run(hostile);
        const args = fs.readFileSync(path.join(dir, "args"), "utf8").split("\0\n").filter(Boolean).map((line) => line.split("\0"));
        assert.deepStrictEqual(
            args.filter((a) => a[1] === "exists").map((a) => a[2]),
            hostile,
        );
        assert.ok(!fs.existsSync(path.join(process.cwd(), "pwned")));
    });

    it("says so when podman is missing, and when the answer is cut short", () => {
        assert.throws(() => parseStatusOutput(`${MARK} fatal podman is not installed on web1\n`, ["backend_prod"]), /on the server: podman is not installed on web1/);
        const output = run(["backend_prod"]);
        assert.throws(() => parseStatusOutput(output.slice(0, output.lastIndexOf(MARK)), ["backend_prod"]), (error: unknown) => error instanceof ToolError && /cut short/.test(error.message));
        assert.throws(() => parseStatusOutput(`${MARK} images\n[]\n${MARK} end\n`, ["backend_prod"]), /nothing about backend_prod/);
    });

    it("reads podman's times, and a container that never started has none", () => {
        assert.deepStrictEqual(parsePodmanTime("2026-01-20T10:00:00.123456789+02:00"), new Date("2026-01-20T08:00:00.123Z"));
        assert.strictEqual(parsePodmanTime("0001-01-01T00:00:00Z"), undefined);
        assert.strictEqual(parsePodmanTime(undefined), undefined);
    });
});

describe("status: drift", () => {
    it("is in line when the container runs the image the pinned tag names", () => {
        const status = compareService(backend(), LOCAL, snapshot(running(ID("a")), [image(ID("a"), ["2026.01.6", "latest"])]));
        assert.deepStrictEqual(status.problems, []);
        assert.deepStrictEqual(status.warnings, []);
        assert.deepStrictEqual(status.runningTags, ["2026.01.6", "latest"]);
    });

    it("finds the pinned release under another of its tags (pulled by YYYY.MM.N-SHA, pinned as YYYY.MM.N or SHA)", () => {
        const images = [image(ID("a"), ["2026.01.6-ce0bf34", "latest"]), image(ID("b"), ["2026.01.5-18c9e87"])];
        for (const pinned of ["2026.01.6", "ce0bf34", "2026.01.6-ce0bf34"]) {
            const status = compareService(backend(pinned), LOCAL, snapshot(running(ID("a")), images));
            assert.strictEqual(status.pinnedImage?.id, ID("a"), pinned);
            assert.deepStrictEqual(status.problems, [], pinned);
        }
        assert.ok(sameRelease("ce0bf34", "2026.01.6-ce0bf34c0ffee"));
        assert.ok(!sameRelease("2026.01.6", "2026.01.16"));
        assert.ok(!sameRelease("latest", "latest"));
        // Two builds with the same CalVer, or one SHA under two CalVers, are not one release.
        assert.ok(!sameRelease("2026.01.6-ce0bf34", "2026.01.6-bad0001"));
        assert.ok(!sameRelease("2026.01.5-ce0bf34", "2026.01.6-ce0bf34"));
        assert.ok(sameRelease("2026.01.6", "2026.01.6-bad0001"));
    });

    it("names the release that runs when someone rolled back by hand", () => {
        const images = [image(ID("a"), ["2026.01.6"]), image(ID("b"), ["2026.01.4-f214c2d", "latest"])];
        const status = compareService(backend(), LOCAL, snapshot(running(ID("b")), images));
        assert.deepStrictEqual(status.problems, ["backend_prod runs 2026.01.4-f214c2d instead of the pinned 2026.01.6"]);
        assert.deepStrictEqual(status.warnings, [
            ":latest on the server is 2026.01.4-f214c2d, not 2026.01.6: recreating backend_prod from the compose file would switch it",
        ]);
    });

    it("differs when the container is stopped, missing, or the pinned tag was never pulled", () => {
        const images = [image(ID("a"), ["2026.01.6"])];
        assert.deepStrictEqual(compareService(backend(), LOCAL, snapshot(running(ID("a"), { state: "exited", running: false }), images)).problems, [
            "backend_prod is exited, not running",
        ]);
        assert.deepStrictEqual(compareService(backend(), LOCAL, snapshot(undefined, images)).problems, ["backend_prod does not exist"]);
        assert.deepStrictEqual(compareService(backend("2026.01.7"), LOCAL, snapshot(running(ID("a")), images)).problems, [
            "backend_prod runs 2026.01.6, and the pinned 2026.01.7 is not on the server: nothing pulled it (has pulumi up run since it was pinned?)",
        ]);
    });

    it("warns, without differing, when the container reports itself unhealthy", () => {
        const status = compareService(backend(), LOCAL, snapshot(running(ID("a"), { health: "unhealthy" }), [image(ID("a"), ["2026.01.6"])]));
        assert.deepStrictEqual(status.problems, []);
        assert.deepStrictEqual(status.warnings, ["backend_prod reports itself unhealthy"]);
    });

    it("only counts tags of the service's repository: the stack's registry, or ECR in the stack's region", () => {
        const elsewhere = image(ID("c"), ["2026.01.6"], "docker.io/library/probability-backend");
        assert.strictEqual(compareService(backend(), LOCAL, snapshot(running(ID("c")), [elsewhere])).pinnedImage, undefined);
        const ecr = image(ID("a"), ["2026.01.6"], ECR_REPO);
        assert.strictEqual(compareService(backend(), ECR, snapshot(running(ID("a")), [ecr])).pinnedImage?.id, ID("a"));
        const otherRegion = image(ID("a"), ["2026.01.6"], ECR_REPO.replace("us-east-1", "eu-west-1"));
        assert.strictEqual(compareService(backend(), ECR, snapshot(running(ID("a")), [otherRegion])).pinnedImage, undefined);
    });

    it("prints the table, the digests, each difference by service, and the verdict", () => {
        const images = [image(ID("a"), ["2026.01.6-ce0bf34", "latest"]), image(ID("b"), ["2026.01.4-f214c2d"])];
        const ok = compareService(backend(), LOCAL, snapshot(running(ID("a")), images));
        const drifted = { ...compareService(backend(), LOCAL, snapshot(running(ID("b")), images)), service: "nginx" };
        assert.strictEqual(
            formatStatus("Pulumi.local.yaml", "root@127.0.0.1:2222", [ok, drifted]),
            [
                "Server root@127.0.0.1:2222 against Pulumi.local.yaml (times UTC; IDs are podman image IDs)",
                "",
                "SERVICE  PINNED     PINNED ID     CONTAINER     STATE    HEALTH   STARTED               RUNNING ID    RUNNING TAGS              RESULT",
                "backend  2026.01.6  aaaaaaaaaaaa  backend_prod  running  healthy  2026-01-20 10:00:00Z  aaaaaaaaaaaa  2026.01.6-ce0bf34 latest  ok",
                "nginx    2026.01.6  aaaaaaaaaaaa  backend_prod  running  healthy  2026-01-20 10:00:00Z  bbbbbbbbbbbb  2026.01.4-f214c2d         DIFFERS",
                "",
                "Repo digests of the running images:",
                "  backend_prod  127.0.0.1:5050/probability-backend@sha256:aaaaaaaa",
                "  backend_prod  127.0.0.1:5050/probability-backend@sha256:bbbbbbbb",
                "",
                "nginx: DIFFERS: backend_prod runs 2026.01.4-f214c2d instead of the pinned 2026.01.6",
                "",
                "1 of 2 services differ from Pulumi.local.yaml: nginx. To bring them in line: pulumi up; or, to keep what runs, pin it in the stack (docs/rollback.md, emergency path).",
                "",
            ].join("\n"),
        );
        assert.match(formatStatus("Pulumi.local.yaml", "h", [ok]), /\nAll 1 services run the version Pulumi.local.yaml pins\.\n$/);
    });
});

describe("status: ssh", () => {
    const connection: ConnectionSettings = { host: "127.0.0.1", port: 2222, user: "root", hostKey: HOST_KEY };

    it("pins the stack's host key in a known_hosts line, port 22 without brackets", () => {
        assert.strictEqual(knownHostsLine(connection), `[127.0.0.1]:2222 ${HOST_KEY}\n`);
        assert.strictEqual(knownHostsLine({ ...connection, host: "prod.example.com", port: 22 }), `prod.example.com ${HOST_KEY}\n`);
        assert.strictEqual(knownHostsLine({ ...connection, host: "[::1]", port: 22 }), `::1 ${HOST_KEY}\n`);
    });

    it("takes the sandbox's host key from its known_hosts file", () => {
        const file = `# comment\nother.example ssh-rsa AAAA\n[127.0.0.1]:2222 ${HOST_KEY}\n`;
        assert.strictEqual(hostKeyFromKnownHosts(file, "127.0.0.1", 2222), HOST_KEY);
        assert.strictEqual(hostKeyFromKnownHosts(file, "127.0.0.1", 22), undefined);
    });

    it("chooses the key: $ROLLBACK_SSH_KEY_FILE, the sandbox's for local, ~/.ssh/id_ed25519", () => {
        assert.deepStrictEqual(resolveKeyFile({ ROLLBACK_SSH_KEY_FILE: "/k" }, "prod", "/home/op"), { file: "/k", from: "ROLLBACK_SSH_KEY_FILE" });
        assert.strictEqual(resolveKeyFile({}, "local", "/home/op").file, "/var/lib/rollback-sandbox/ssh/id_ed25519");
        assert.strictEqual(resolveKeyFile({}, "prod", "/home/op").file, "/home/op/.ssh/id_ed25519");
    });

    it("never prompts and accepts only the pinned host key", () => {
        const args = sshArgs(connection, "/tmp/kh", "/k", "CMD");
        for (const option of ["BatchMode=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/tmp/kh", "GlobalKnownHostsFile=/dev/null"]) {
            assert.ok(args.includes(option), option);
        }
        assert.deepStrictEqual(args.slice(-7), ["-p", "2222", "-l", "root", "--", "127.0.0.1", "CMD"]);
        // The given key only, not first every ssh-agent key ("Too many authentication failures").
        assert.deepStrictEqual(args.slice(args.indexOf("-i") - 2, args.indexOf("-i") + 2), ["-o", "IdentitiesOnly=yes", "-i", "/k"]);
        assert.ok(!sshArgs(connection, "/tmp/kh", undefined, "CMD").includes("IdentitiesOnly=yes"), "with the agent's keys when no key file");
    });

    it("explains a changed host key and a refused key in one line", () => {
        assert.match(
            describeSshFailure("@@@ WARNING\nHost key verification failed.\n", connection, "Pulumi.prod.yaml"),
            /^root@127\.0\.0\.1:2222 did not show the host key that Pulumi\.prod\.yaml pins \(sshHostKey\)/,
        );
        assert.match(describeSshFailure("root@127.0.0.1: Permission denied (publickey).\n", connection, "x"), /set ROLLBACK_SSH_KEY_FILE/);
        assert.strictEqual(describeSshFailure("ssh: connect to host 127.0.0.1 port 2222: Connection refused\n", connection, "x"),
            "cannot connect to root@127.0.0.1:2222: ssh: connect to host 127.0.0.1 port 2222: Connection refused");
    });

    describe("runRemote, with a fake ssh on PATH", () => {
        let dir: string;
        let path0: string | undefined;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-ssh-"));
            path0 = process.env.PATH;
            process.env.PATH = `${dir}:${path0}`;
        });
        afterEach(() => {
            process.env.PATH = path0;
            fs.rmSync(dir, { recursive: true, force: true });
        });
        const fakeSsh = (body: string) => fs.writeFileSync(path.join(dir, "ssh"), `#!/bin/bash\n${body}\n`, { mode: 0o755 });

        it("hands the command over as one argument and the pinned key in a temporary known_hosts file", async () => {
            fakeSsh(`for a in "$@"; do case $a in UserKnownHostsFile=*) kh=\${a#*=};; esac; done; echo "$kh"; cat "$kh"; printf '%s' "\${@: -1}"`);
            const [knownHosts, ...rest] = (await runRemote(connection, "/k", "echo 'a b'", "Pulumi.local.yaml")).split("\n");
            assert.strictEqual(rest.join("\n"), `[127.0.0.1]:2222 ${HOST_KEY}\necho 'a b'`);
            assert.ok(knownHosts.startsWith(os.tmpdir()));
            assert.ok(!fs.existsSync(knownHosts), "the temporary known_hosts file is removed");
        });

        it("turns ssh's exit 255 into one line", async () => {
            fakeSsh(`echo 'Host key verification failed.' >&2; exit 255`);
            await assert.rejects(runRemote(connection, "/k", "true", "Pulumi.prod.yaml"), (error: unknown) => error instanceof ToolError && /did not show the host key/.test(error.message));
        });
    });
});
