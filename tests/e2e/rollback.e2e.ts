import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { commandsOf, runProgram } from "../program/harness";
import { Connection, connectionOf, MiniEngine, runRemote, UpResult } from "./engine";
import {
    containerId, containerIds, imageId, localConfig, releases, runningImage, sandboxScript, SANDBOX, Service, SERVICES,
    startedAt, throughNginx,
} from "./sandbox";

/**
 * The program's own rollback commands, run over real SSH against the sandbox
 * (podman, podman-compose, nginx, registry), the way `pulumi up` would run
 * them. The cases run in order, each starting from the state the previous one
 * left, as successive `pulumi up`s on one stack do.
 */
describe("rollback against the sandbox", function () {
    this.timeout(240_000);

    const engine = new MiniEngine("local");
    let newest: Record<Service, string>;
    let all: Record<Service, string[]>;
    let pinned: Partial<Record<Service, string>>;
    /** Other config keys changed by earlier cases; they stay, as `pulumi config set` values do. */
    let extra: Record<string, string> = {};

    function up(changes: Partial<Record<Service, string>> = {}, settings: Record<string, string> = {}): Promise<UpResult> {
        pinned = { ...pinned, ...changes };
        extra = { ...extra, ...settings };
        return engine.up(localConfig(pinned, extra));
    }

    function assertSucceeded(result: UpResult): void {
        assert.strictEqual(result.failure, undefined, `up failed: ${JSON.stringify(result.failure)}\n${JSON.stringify(result.logs, null, 1)}`);
    }

    /** The changed services' images were all pulled (in any order) before their rollouts ran, in the fixed order. */
    function assertRan(result: UpResult, changed: Service[]): void {
        const firstRollout = result.ran.findIndex((name) => !name.endsWith("-pull"));
        const pulls = firstRollout < 0 ? result.ran : result.ran.slice(0, firstRollout);
        assert.deepStrictEqual([...pulls].sort(), changed.map((s) => `${s}-pull`).sort(), `ran ${result.ran}`);
        assert.deepStrictEqual(result.ran.slice(pulls.length), changed, `ran ${result.ran}`);
    }

    async function assertServes(service: Service, version: string): Promise<void> {
        const { status, body } = await throughNginx(service);
        assert.strictEqual(status, 200, `${service} through nginx: ${body}`);
        assert.ok(body.includes(version), `${service} through nginx answers ${body}, expected ${version}`);
    }

    before(async () => {
        sandboxScript("up.sh");
        all = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await releases(s)]))) as Record<Service, string[]>;
        newest = Object.fromEntries(SERVICES.map((s) => [s, all[s][0]])) as Record<Service, string>;
        pinned = { ...newest };
    });

    // Leave the sandbox as sandbox:up made it: newest releases, no test release in the registry.
    after(() => sandboxScript("up.sh"));

    it("first up on a server that already runs the pinned versions: every command runs and changes nothing", async () => {
        const before = containerIds();
        const result = await up();
        assertSucceeded(result);
        assertRan(result, SERVICES);
        for (const service of SERVICES) {
            assert.match(result.logs[service].stdout, /already running .*, nothing to do/);
        }
        assert.deepStrictEqual(containerIds(), before);
    });

    it("rolls backend back to an older release: exactly that image runs, latest points at it, the others keep their containers", async () => {
        const target = all.backend[2];
        const others = containerIds();
        const result = await up({ backend: target });
        assertSucceeded(result);
        assertRan(result, ["backend"]);
        assert.strictEqual(runningImage("backend"), imageId("backend", target));
        assert.strictEqual(imageId("backend", "latest"), imageId("backend", target));
        for (const service of SERVICES.filter((s) => s !== "backend" && s !== "nginx")) {
            assert.strictEqual(containerId(service), others[service], `${service} was recreated`);
        }
        assert.notStrictEqual(containerId("backend"), others.backend);
        await assertServes("backend", target);
        assert.match(fs.readFileSync(SANDBOX.auditLog, "utf8"), new RegExp(`service=backend outcome=deployed from=${newest.backend} from_digest=sha256:[0-9a-f]{64} to=${target} to_digest=sha256:[0-9a-f]{64}\\n$`));        // The host lock went with the script: no container process inherited it.
        execFileSync("flock", ["--nonblock", SANDBOX.lockFile, "true"]);
    });

    it("applying the same config again runs nothing and recreates nothing", async () => {
        const before = containerIds();
        const result = await up();
        assertSucceeded(result);
        assert.deepStrictEqual(result.ran, []);
        assert.deepStrictEqual(containerIds(), before);
    });

    it("a spurious re-run of every command (an input such as the health timeout changed) changes nothing on the server", async () => {
        const before = containerIds();
        const result = await up({}, { healthTimeoutSeconds: "31" });
        assertSucceeded(result);
        // The pulls keep their inputs (the image did not change): only the rollouts run.
        assert.deepStrictEqual(result.ran, SERVICES);
        assert.deepStrictEqual(containerIds(), before);
    });

    it("a tag that is not in the registry fails before any SSH, naming service and tag, and the container is untouched", async () => {
        const before = containerIds();
        const serving = pinned.backend!;
        const result = await up({ backend: "2026.01.9-deadbee" });
        assert.deepStrictEqual(result.ran, []);
        assert.match(result.failure!.message, /backendVersion: backend cannot be deployed at 2026\.01\.9-deadbee: no image in probability-backend has that tag/);
        assert.ok(result.failure!.message.includes(`newest first: ${all.backend.join(", ")}`), result.failure!.message);
        assert.deepStrictEqual(containerIds(), before);
        await assertServes("backend", serving);
        pinned.backend = serving;
    });

    it("two services changed in one config roll one after the other in the fixed order", async () => {
        const result = await up({ website: all.website[3], frontend: all.frontend[1] });
        assertSucceeded(result);
        // Both images are pulled before the first container changes.
        assertRan(result, ["frontend", "website"]);
        assert.ok(startedAt("frontend") < startedAt("website"), "frontend was recreated before website");
        await assertServes("frontend", all.frontend[1]);
        await assertServes("website", all.website[3]);
    });

    it("without containerHealth (the prod default) a service goes the runbook's way and nginx is reloaded, not restarted", async () => {
        const before = containerIds();
        const nginxStarted = startedAt("nginx");
        const target = all.website[1];
        // Only website loses its direct check; the other services' commands keep their inputs.
        const result = await up({ website: target }, { containerHealth: JSON.stringify({ backend: "8080/api/v1/health", frontend: "8080/health" }) });
        assertSucceeded(result);
        assertRan(result, ["website"]);
        assert.strictEqual(runningImage("website"), imageId("website", target));
        assert.notStrictEqual(containerId("website"), before.website);
        assert.ok(!result.logs.website.stdout.includes("restarting"), result.logs.website.stdout);
        assert.strictEqual(startedAt("nginx"), nginxStarted, "nginx was restarted");
        for (const service of ["backend", "frontend", "nginx"] as const) {
            assert.strictEqual(containerId(service), before[service], `${service} was recreated`);
        }
        await assertServes("website", target);
    });

    it("rolls nginx back without recreating the services behind it", async () => {
        const before = containerIds();
        const result = await up({ nginx: all.nginx[1] });
        assertSucceeded(result);
        assertRan(result, ["nginx"]);
        assert.strictEqual(runningImage("nginx"), imageId("nginx", all.nginx[1]));
        for (const service of SERVICES.filter((s) => s !== "nginx")) {
            assert.strictEqual(containerId(service), before[service], `${service} was recreated`);
        }
        await assertServes("nginx", all.nginx[1]);
        await assertServes("backend", pinned.backend!);
    });

    it("an unhealthy release is reverted automatically: the old version serves again and the up fails saying so", async () => {
        const broken = "2026.01.7-badbad7";
        sandboxScript("push-release.sh", "backend", broken, "--unhealthy");
        const serving = pinned.backend!;
        const servingImage = runningImage("backend");
        const result = await up({ backend: broken }, { healthTimeoutSeconds: "8" });
        assertRan(result, ["backend"]);
        assert.strictEqual(result.failure?.command, "backend");
        assert.match(
            result.failure!.message,
            new RegExp(`${broken} did not become healthy within 8s; reverted: backend_prod runs ${serving.replace(/\./g, "\\.")}.* again and is healthy`),
        );
        assert.strictEqual(runningImage("backend"), servingImage);
        assert.strictEqual(imageId("backend", "latest"), servingImage);
        await assertServes("backend", serving);
        assert.match(fs.readFileSync(SANDBOX.auditLog, "utf8"), new RegExp(`service=backend outcome=reverted from=2026\\.01\\.7-badbad7 from_digest=sha256:[0-9a-f]{64} to=${serving} to_digest=sha256:[0-9a-f]{64}\\n$`));
        // The stack still has the old version applied: the next up tries the broken one again.
        pinned.backend = serving;
        extra.healthTimeoutSeconds = "31";
    });

    it("without containerHealth, an unhealthy release is reverted by recreating the old image", async () => {
        const broken = "2026.01.7-badbad8";
        sandboxScript("push-release.sh", "website", broken, "--unhealthy");
        const serving = pinned.website!;
        const servingImage = runningImage("website");
        const result = await up({ website: broken }, { healthTimeoutSeconds: "8" });
        assert.strictEqual(result.failure?.command, "website", JSON.stringify(result.failure));
        assert.match(result.failure!.message, new RegExp(`${broken} did not become healthy within 8s; reverted: website_prod runs ${serving} again and is healthy`));
        assert.strictEqual(runningImage("website"), servingImage);
        await assertServes("website", serving);
        pinned.website = serving;
        extra.healthTimeoutSeconds = "8";
    });

    it("a container left beside the service by an interrupted run is cleaned up by the next one", async () => {
        execFileSync("podman", ["run", "-d", "--name", "backend_prod-previous", "--network", "compose-prod_default",
            "--network-alias", "back-central", `${SANDBOX.registry}/probability-backend:latest`], { stdio: "ignore" });
        const result = await up({}, { healthTimeoutSeconds: "32" });
        assertSucceeded(result);
        assert.match(result.logs.backend.stdout, /removing backend_prod-previous, left by an interrupted run/);
        assert.throws(() => execFileSync("podman", ["container", "exists", "backend_prod-previous"]));
        await assertServes("backend", pinned.backend!);
    });

    /** The create scripts the program builds for a config, by service, without running them. */
    async function scriptsFor(changes: Partial<Record<Service, string>>): Promise<Record<string, { connection: Connection; script: string }>> {
        const run = await runProgram(localConfig({ ...pinned, ...changes }, extra), "local", "real");
        return Object.fromEntries(commandsOf(run).map((c) => [c.name, { connection: connectionOf(c), script: c.inputs.create as string }]));
    }

    it("two rollbacks started at once on one host run one after the other", async () => {
        const scripts = await scriptsFor({ backend: all.backend[1], frontend: all.frontend[2] });
        const [backend, frontend] = await Promise.all(
            [scripts.backend, scripts.frontend].map(({ connection, script }) => runRemote(connection, script)),
        );
        assert.strictEqual(backend.code, 0, backend.stderr);
        assert.strictEqual(frontend.code, 0, frontend.stderr);
        const waited = [backend, frontend].filter((r) => /waiting up to 300s for another rollback: stack local, service (backend|frontend)/.test(r.stdout));
        assert.strictEqual(waited.length, 1, `exactly one waited:\n${backend.stdout}\n${frontend.stdout}`);
        await assertServes("backend", all.backend[1]);
        await assertServes("frontend", all.frontend[2]);
    });

    it("a rollback that cannot get the lock in time fails saying who holds it, and changes nothing", async () => {
        const { backend } = await scriptsFor({ backend: all.backend[0] });
        const before = containerIds();
        const holder = runRemote(
            backend.connection,
            `exec 9>>${SANDBOX.lockFile}; flock 9; echo 'stack other, service manual, pid 1, since now' >${SANDBOX.lockFile}.holder; sleep 6`,
        );
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const result = await runRemote(backend.connection, backend.script.replace(/\blimit_lock=\d+/, "limit_lock=2"));
        await holder;
        assert.notStrictEqual(result.code, 0);
        assert.match(result.stderr, /another rollback still holds .*after 2s: stack other, service manual, pid 1, since now; nothing was changed/);
        assert.deepStrictEqual(containerIds(), before);
    });

    it("a step that hangs is cut off at its limit and changes nothing", async () => {
        const { backend } = await scriptsFor({ backend: all.backend[0] });
        const before = containerIds();
        // A registry that accepts connections and never answers.
        const silent = net.createServer(() => undefined);
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        const port = (silent.address() as net.AddressInfo).port;
        const script = backend.script
            .replace(/\blimit_pull=\d+/, "limit_pull=3")
            .replace(/^target_image=.*$/m, `target_image=127.0.0.1:${port}/probability-backend:2026.01.1`);
        const started = Date.now();
        const result = await runRemote(backend.connection, script);
        silent.close();
        assert.notStrictEqual(result.code, 0);
        assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
        assert.match(result.stderr, /timed out after 3s: podman pull/);
        assert.match(result.stderr, /could not pull .*nothing was changed/);
        assert.deepStrictEqual(containerIds(), before);
    });

    it("rolls forward to the newest release again", async () => {
        const result = await up({ ...newest });
        assertSucceeded(result);
        for (const service of SERVICES) {
            assert.strictEqual(runningImage(service), imageId(service, newest[service]));
            await assertServes(service, newest[service]);
        }
    });
});
