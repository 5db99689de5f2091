import * as assert from "assert";
import { commandsOf, ecrDigest, key, prodConfig, resourceNamed, runProgram, TEST_HOST_KEY } from "./harness";

const SERVICES = ["backend", "frontend", "website", "nginx"];
const REGISTRY = "476702565908.dkr.ecr.us-east-1.amazonaws.com";

function script(run: Awaited<ReturnType<typeof runProgram>>, service: string): string {
    return resourceNamed(run, "command:remote:Command", service).inputs.create;
}

describe("the program with Pulumi.prod.yaml", () => {
    let run: Awaited<ReturnType<typeof runProgram>>;
    before(async () => {
        run = await runProgram(prodConfig());
    });

    describe("ECR repositories", () => {
        for (const service of SERVICES) {
            it(`probability-${service}: release tags immutable, latest movable, scanned, encrypted, protected, adopted`, () => {
                const repo = resourceNamed(run, "aws:ecr/repository:Repository", service);
                assert.strictEqual(repo.inputs.name, `probability-${service}`);
                assert.strictEqual(repo.inputs.imageTagMutability, "IMMUTABLE_WITH_EXCLUSION");
                assert.deepStrictEqual(repo.inputs.imageTagMutabilityExclusionFilters, [{ filter: "latest", filterType: "WILDCARD" }]);
                assert.deepStrictEqual(repo.inputs.imageScanningConfiguration, { scanOnPush: true });
                assert.deepStrictEqual(repo.inputs.encryptionConfigurations, [{ encryptionType: "AES256" }]);
                assert.strictEqual(repo.inputs.forceDelete, false);
                assert.strictEqual(repo.protect, true);
                // Pulumi.prod.yaml sets adoptExistingRepositories: the existing repositories are imported.
                assert.strictEqual(repo.importId, `probability-${service}`);
            });

            it(`probability-${service}: keeps 5 images and never expires latest or the pinned version`, () => {
                const policy = JSON.parse(resourceNamed(run, "aws:ecr/lifecyclePolicy:LifecyclePolicy", service).inputs.policy);
                assert.deepStrictEqual(
                    policy.rules.map((r: any) => [r.rulePriority, r.selection.tagStatus, r.selection.tagPatternList, r.selection.countNumber]),
                    [
                        [1, "tagged", ["latest"], 1],
                        [2, "tagged", ["2026.01.5-18c9e87"], 1],
                        [3, "any", undefined, 5],
                    ],
                );
            });
        }

        it("creates the repositories when adoptExistingRepositories is off", async () => {
            const fresh = await runProgram(prodConfig({ [key("adoptExistingRepositories")]: "false" }));
            assert.ok(fresh.resources.filter((r) => r.type === "aws:ecr/repository:Repository").every((r) => r.importId === undefined));
        });

        it("takes the retention count from config", async () => {
            const seven = await runProgram(prodConfig({ [key("retentionCount")]: "7" }));
            const policy = JSON.parse(resourceNamed(seven, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "backend").inputs.policy);
            assert.strictEqual(policy.rules.at(-1).selection.countNumber, 7);
        });
    });

    describe("rollback commands", () => {
        const PULLS = SERVICES.map((service) => `command:remote:Command::${service}-pull`);

        it("pulls every service's image first, with no dependency, so the engine pulls them in parallel", () => {
            const pulls = commandsOf(run).filter((c) => c.name.endsWith("-pull"));
            assert.deepStrictEqual(pulls.map((c) => c.key), PULLS);
            assert.ok(pulls.every((c) => c.dependsOn.length === 0));
            for (const service of SERVICES) {
                const pull = script(run, `${service}-pull`);
                assert.match(pull, /podman pull --quiet "\$target_image"/);
                assert.ok(!pull.includes("recreate") && !pull.includes("flock"), `${service}-pull only pulls`);
            }
        });

        it("rolls out one service at a time in the fixed order backend, frontend, website, nginx, each after the previous and after every pull", () => {
            const rollouts = commandsOf(run).filter((c) => !c.name.endsWith("-pull"));
            assert.deepStrictEqual(rollouts.map((c) => c.name), SERVICES);
            rollouts.forEach((command, index) => {
                const expected = index === 0 ? PULLS : [rollouts[index - 1].key, ...PULLS];
                assert.deepStrictEqual(command.dependsOn, expected, `${command.name} depends on`);
            });
        });

        it("connects with the pinned host key, bounded dialling, and the private key as a secret; keeps the output of commands that log in secret", () => {
            for (const command of commandsOf(run)) {
                assert.ok(["stdout", "stderr"].every((o) => command.additionalSecretOutputs.includes(o)), command.name);
                const connection = command.inputs.connection;
                // The whole connection is wrapped as a secret because it holds the key.
                assert.strictEqual(connection["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
                assert.strictEqual(connection.value.hostKey, TEST_HOST_KEY);
                assert.strictEqual(connection.value.dialErrorLimit, 3);
                assert.strictEqual(connection.value.perDialTimeout, 10);
            }
        });

        for (const [service, composeService, container] of [
            ["backend", "back-central", "backend_prod"],
            ["frontend", "front-central", "frontend_prod"],
            ["website", "front-website", "website_prod"],
        ]) {
            it(`${service}: logs in to ECR on the server, pulls, retags latest, stop/rm/up ${composeService}, reloads nginx, gates on health`, () => {
                const text = script(run, service);
                assert.match(text, new RegExp(`^container=${container}$`, "m"));
                assert.match(text, new RegExp(`^compose_service=${composeService}$`, "m"));
                // Pinned by the digest the pinned tag had at preview.
                const digest = ecrDigest(`probability-${service}`, "2026.01.5");
                assert.match(text, new RegExp(`^target_image=${REGISTRY}/probability-${service}@${digest}$`, "m"));
                assert.match(text, /^version=2026\.01\.5-18c9e87$/m);
                assert.match(text, /aws ecr get-login-password --region us-east-1 \| bounded "\$limit_login" podman login --username AWS --password-stdin 476702565908\.dkr\.ecr\.us-east-1\.amazonaws\.com/);
                assert.match(text, /podman pull --quiet "\$target_image"/);
                assert.match(text, /podman tag "\$1" "\$image_repository:latest"/);
                assert.match(text, /podman stop --ignore "\$container"[^\n]*&&\n[^\n]*podman rm --ignore "\$container"[^\n]*&&\n\s*compose_up\n/);
                // A graceful reload re-resolves the service's new address; a restart only if it fails.
                assert.match(text, /for attempt in 1 2 3 4 5; do\n.*podman exec nginx_prod nginx -s reload[^\n]*then return 0; fi\n(.*\n){3}.*podman restart nginx_prod/);
                assert.ok(!text.includes("--force-recreate"));
                // podman-compose prints the service's environment: it stays on the server.
                assert.match(text, /podman-compose -f "\$compose_file" up -d --no-deps "\$compose_service" >>"\$compose_log" 2>&1/);
            });
        }

        it("nginx: stop, rm and up like the others (podman-compose's --force-recreate would recreate all four), no restart of itself", () => {
            const text = script(run, "nginx");
            assert.match(text, /^compose_service=nginx$/m);
            assert.match(text, /podman stop --ignore "\$container"[^\n]*&&\n[^\n]*podman rm --ignore "\$container"[^\n]*&&\n\s*compose_up\n/);
            assert.ok(!text.includes("--force-recreate"));
            assert.match(text, /^restart_proxy\(\) \{ :; \}$/m);
        });

        it("uses the health URLs of the stack", () => {
            assert.match(script(run, "backend"), /^health_url=https:\/\/app\.probabilityia\.com\.co\/api\/v1\/health$/m);
            assert.match(script(run, "website"), /^health_url=https:\/\/probabilityia\.com\.co\/$/m);
        });
    });

    it("exports, per service, the repository URL, the pinned version, its digest and the deployed image", () => {
        for (const service of SERVICES) {
            const digest = ecrDigest(`probability-${service}`, "2026.01.5");
            assert.deepStrictEqual(run.outputs.services[service], {
                repositoryUrl: `${REGISTRY}/probability-${service}`,
                version: "2026.01.5-18c9e87",
                digest,
                image: `${REGISTRY}/probability-${service}@${digest}`,
            });
        }
    });
});

describe("changing one pinned version", () => {
    it("changes the inputs of that service's commands alone", async () => {
        const before = await runProgram(prodConfig());
        const after = await runProgram(prodConfig({ [key("backendVersion")]: "2026.01.4-f214c2d" }));
        const changed = commandsOf(after)
            .filter((command) => JSON.stringify(command.inputs) !== JSON.stringify(resourceNamed(before, command.type, command.name).inputs))
            .map((command) => command.name);
        assert.deepStrictEqual(changed, ["backend-pull", "backend"]);
        assert.match(script(after, "backend"), /^version=2026\.01\.4-f214c2d$/m);
    });

    it("gives the same inputs when nothing changed, so an unchanged up does no remote work", async () => {
        const first = commandsOf(await runProgram(prodConfig())).map((c) => c.inputs);
        const second = commandsOf(await runProgram(prodConfig())).map((c) => c.inputs);
        assert.deepStrictEqual(second, first);
    });
});

describe("a pinned tag that is not in the repository", () => {
    it("fails the program (so the preview) naming the service, the tag and the versions still available, newest first", async () => {
        await assert.rejects(
            runProgram(prodConfig({ [key("frontendVersion")]: "2026.01.9-deadbee" })),
            (error: Error) =>
                error.message.includes(
                    "frontendVersion: frontend cannot be deployed at 2026.01.9-deadbee: no image in probability-frontend has that tag (never pushed, or expired). " +
                        "Versions that can still be rolled back to, newest first: 2026.01.5-18c9e87, 2026.01.4-f214c2d, 2026.01.3-abc1234, 2026.01.2-4d5e6f7, 2026.01.1-0a1b2c3.",
                ),
        );
    });

    it("resolves the short CalVer and SHA forms to the same image", async () => {
        for (const tag of ["2026.01.4", "f214c2d"]) {
            const run = await runProgram(prodConfig({ [key("backendVersion")]: tag }));
            assert.strictEqual(run.outputs.services.backend.digest, ecrDigest("probability-backend", "2026.01.4"));
        }
    });
});

describe("bad config is refused before any resource is registered", () => {
    for (const service of SERVICES) {
        for (const bad of ["latest", "2026.1.4", "v2026.01.4", "18c9e8", "2026.01.4-f214c2d; rm -rf /"]) {
            it(`${service}Version=${JSON.stringify(bad)}`, async () => {
                await assert.rejects(
                    runProgram(prodConfig({ [key(`${service}Version`)]: bad })),
                    (error: Error & { registered: unknown[] }) =>
                        error.message.includes(`${service}Version: ${JSON.stringify(bad)} is not a release tag`) &&
                        error.message.includes("Accepted forms: YYYY.MM.N-SHA") &&
                        error.registered.length === 0,
                );
            });
        }
    }

    it("a missing version names its key and how to set it", async () => {
        await assert.rejects(runProgram(prodConfig({ [key("websiteVersion")]: undefined })), /websiteVersion is required: .*pulumi config set websiteVersion/);
    });

    it("a stack without a pinned host key fails with how to get one", async () => {
        await assert.rejects(runProgram(prodConfig({ [key("sshHostKey")]: undefined })), /sshHostKey is required: .*ssh-keyscan/);
    });

    it("a stack without the private key fails naming it", async () => {
        await assert.rejects(runProgram(prodConfig({ [key("sshPrivateKey")]: undefined })), /sshPrivateKey/);
    });

    it("reports every problem at once", async () => {
        await assert.rejects(
            runProgram(prodConfig({ [key("backendVersion")]: "latest", [key("sshPort")]: "0", [key("host")]: "a b" })),
            (error: Error) => /backendVersion/.test(error.message) && /sshPort/.test(error.message) && /host: "a b"/.test(error.message),
        );
    });
});
