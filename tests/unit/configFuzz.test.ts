import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as util from "util";
import { ConfigError, parseSettings, Settings } from "../../config/settings";
import { DEFAULT_LIMITS, rollbackCommand, RollbackPlan, variables } from "../../remote/rollback";
import { bashCommand } from "../../remote/shell";

/**
 * Every config key parseSettings reads gets every hostile value. A value is
 * either refused with an error naming the key, or, for the free-form keys
 * (composeDir, healthUrls.*), accepted and then shown to stay data: the
 * variables section of the real rollback script, run with bash the way the
 * server runs it, holds exactly the value and leaves nothing behind.
 */

const MARK = "rollback-fuzz-pwned";
const GLOBAL_MARK = path.join(os.tmpdir(), MARK);

/** Fragments a config value could use to break out of a shell word, an option or a review. */
const PAYLOADS: string[] = [
    "", " ", "\t", "'", '"', "\\", "'\\''", `'"'"'`, "`", "$", "${", "}", "(", ")", ";", "&", "|", "<", ">", "#", "!", "~", "*", "?", "=", ",",
    `$(touch ${MARK})`, "`touch " + MARK + "`", `;touch ${MARK}`, `; touch "$HOME/${MARK}"`, `&& touch ${MARK}`, `|| touch ${MARK}`,
    `| tee ${MARK}`, `>${MARK}`, `>>${MARK}`, `<(touch ${MARK})`, `>(touch ${MARK})`, `$(touch ${GLOBAL_MARK})`, `&touch ${MARK}&`,
    `\ntouch ${MARK}`, `\rtouch ${MARK}`, `\r\ntouch ${MARK}`, "\n", "\0", `a\0b`, `\0touch ${MARK}`, "\u0007", "\u001b[2J", "\u007f",
    "${IFS}", "$IFS", "$HOME", "${HOME}", "$((1+1))", "${PATH:0:1}", "$'\\x41'", "$0", "$@", "!!", "!$",
    "~", "~root", "~/", "~+", "*", "/*", "?", "[a-z]", "{a,b}", "{1..3}", "**", "#not-a-comment",
    "-", "-rf", "--", "--help", "-oProxyCommand=touch " + MARK, "--force-recreate", "-e", "-n",
    "a b", "a\tb", "a  b", " leading", "trailing ", "..", "../..", "/etc/passwd", "%0a", "%27", "%24(id)",
    "ROLLBACK_SCRIPT", "\nROLLBACK_SCRIPT\n", "latest", ":latest", "@sha256:", "null", "undefined", "true", "0", "-1", "1e3", "0x10",
    // Unicode look-alikes and invisible or direction-changing characters.
    "／etc／passwd", "；touch " + MARK, "＆＆", "＄(id)", "｀id｀", "ｌａｔｅｓｔ", "bаckend", "nginх", "ѕѕh-ed25519", "usе-east-1",
    "\u202e", "abc\u202edcba", "\u2066x\u2069", "\u200b", "\u200d", "\ufeff", "\u00a0", "a\u0301", "\u2028", "\u2029", "\ud83d\ude00",
    "１２", "２０２６.０１.５", "٢٢", "\u2212" + "1",
];

/** Deterministic so a failure reproduces: mulberry32. */
function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = Math.imul(state ^ (state >>> 15), 1 | state);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function hostileCorpus(): string[] {
    const next = random(20260105);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
    const filler = ["a", "prod", "2026.01.5", "18c9e87", "x.y", "/srv", "https://h/", "22", "ssh-ed25519 AAAA", "us-east-1"];
    const generated: string[] = [];
    for (let i = 0; i < 160; i++) {
        const parts = Array.from({ length: 2 + Math.floor(next() * 3) }, () => (next() < 0.6 ? pick(PAYLOADS) : pick(filler)));
        generated.push(parts.join(""));
    }
    const long = [
        "a".repeat(300), "A".repeat(100_000), "$(".repeat(2000), "a/".repeat(5000), "9".repeat(50), `${"a".repeat(63)}.`.repeat(8),
        "'".repeat(10_000), "\n".repeat(1000), "x".repeat(70) + `$(touch ${MARK})`,
    ];
    return [...new Set([...PAYLOADS, ...generated, ...long])].filter((value) => value !== "ecr");
}

const CORPUS = hostileCorpus();

/**
 * Hostile: holds a character a shell, an option parser or a reviewer could
 * take for more than data (anything quote() has to quote), starts with a dash,
 * is empty, or is longer than any config value needs.
 */
const UNSAFE = /[^A-Za-z0-9_@%+=:,.\/-]/;
function hostile(value: string): boolean {
    return UNSAFE.test(value) || value.startsWith("-") || value === "" || value.length > 10_000;
}

/**
 * The corpus for a strict key: the hostile values alone, and each glued to a
 * valid value as a smuggled suffix (`2026.01.5-18c9e87; reboot`) or prefix.
 */
function smuggled(valid: string): string[] {
    const alone = CORPUS.filter(hostile);
    const suffixes = CORPUS.filter((v) => UNSAFE.test(v) || v.length > 10_000).map((v) => `${valid}${v}`);
    const prefixes = alone.map((v) => `${v}${valid}`);
    return [...new Set([...alone, ...suffixes, ...prefixes])].filter((v) => v !== valid);
}

/** A complete, valid production config, as keys parseSettings reads them. */
const VALID: Record<string, string> = {
    "aws:region": "us-east-1",
    adoptExistingRepositories: "true",
    retentionCount: "5",
    host: "prod.example.test",
    sshUser: "deploy",
    sshPort: "22",
    sshHostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"B".repeat(43)}`,
    composeDir: "~/probability/infra/compose-prod",
    composeFile: "podman-compose.yaml",
    healthStartPeriodSeconds: "2",
    healthIntervalSeconds: "1",
    healthTimeoutSeconds: "60",
    healthUrls: JSON.stringify({
        backend: "https://app.probabilityia.com.co/api/v1/health",
        frontend: "https://app.probabilityia.com.co/",
        website: "https://probabilityia.com.co/",
        nginx: "https://app.probabilityia.com.co/api/v1/health",
    }),
    backendVersion: "2026.01.5-18c9e87",
    frontendVersion: "2026.01.5",
    websiteVersion: "18c9e87",
    nginxVersion: "2026.01.5-18c9e87",
};

const SERVICE_NAMES = ["backend", "frontend", "website", "nginx"] as const;

/** Keys whose every value must match a strict pattern: a hostile value is refused. */
const STRICT_KEYS = [
    "registry", "aws:region", "retentionCount", "adoptExistingRepositories", "host", "sshUser", "sshPort", "sshHostKey",
    "composeFile", "healthStartPeriodSeconds", "healthIntervalSeconds", "healthTimeoutSeconds", "healthUrls",
    ...SERVICE_NAMES.map((s) => `${s}Version`),
];

type Outcome = { refused: string[] } | { settings: Settings };

function parse(overrides: Record<string, string>): Outcome {
    const config = { ...VALID, ...overrides };
    try {
        return { settings: parseSettings((key) => config[key]) };
    } catch (error) {
        assert.ok(error instanceof ConfigError, `parseSettings threw ${String(error)}, not a ConfigError`);
        return { refused: error.problems };
    }
}

/**
 * Why a refusal is not good enough, or undefined: every problem names the key
 * (the rest of the config is valid), and shows the value escaped, so no
 * newline, control or direction character of the value reaches a CI log.
 */
function badRefusal(problems: string[], key: string): string | undefined {
    if (problems.length === 0) {
        return "refused without a problem";
    }
    const unnamed = problems.find((p) => !(p.startsWith(`${key}:`) || p.startsWith(`${key} `) || p.startsWith(`${key}.`)));
    if (unnamed !== undefined) {
        return `a problem does not name ${key}: ${JSON.stringify(unnamed)}`;
    }
    const raw = problems.find((p) => !/^[\x20-\x7e…]*$/.test(p));
    return raw === undefined ? undefined : `a problem shows raw characters: ${JSON.stringify(raw.slice(0, 120))}`;
}

function shown(value: string): string {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…(${value.length})` : value);
}

/** Feeds every value to one key, collecting what went wrong. */
function fuzz(values: string[], overrides: (value: string) => Record<string, string>, key: string,
    accepted: (value: string, settings: Settings) => string | undefined): string[] {
    const failures: string[] = [];
    for (const value of values) {
        const outcome = parse(overrides(value));
        const why = "refused" in outcome ? badRefusal(outcome.refused, key) : accepted(value, outcome.settings);
        if (why !== undefined) {
            failures.push(`${key}=${shown(value)}: ${why}`);
        }
    }
    return failures;
}

const REGISTRY_HOST = "476702565908.dkr.ecr.us-east-1.amazonaws.com";

function planFor(settings: Settings, serviceName: string): RollbackPlan {
    const service = settings.services.find((s) => s.name === serviceName)!;
    const imageRepository = `${REGISTRY_HOST}/${service.repository}`;
    return {
        stack: "prod",
        service,
        imageRepository,
        targetImage: `${imageRepository}@sha256:${"0123456789abcdef".repeat(4)}`,
        ecrLogin: { region: "us-east-1", registryHost: REGISTRY_HOST },
        compose: settings.compose,
        proxyContainer: serviceName === "nginx" ? undefined : "nginx_prod",
        limits: DEFAULT_LIMITS,
    };
}

const PRINTED = ["compose_dir", "health_url", "lock_file", "audit_log", "stack", "service", "version", "container",
    "compose_service", "image_repository", "target_image", "compose_file"] as const;

/**
 * Runs the variables section of the real script as the server would (the
 * same heredoc wrapper, through sh, bash underneath), in an empty directory
 * with an empty HOME; returns why the value did not stay data, or undefined.
 */
function runsAsData(plan: RollbackPlan, expected: Expected): string | undefined {
    const section = variables(plan);
    if (!rollbackCommand(plan).includes(section.join("\n"))) {
        return "the variables section is not part of the real script";
    }
    return runSection(section, plan, expected);
}

interface Expected {
    composeDir?: string;
    healthUrl?: string;
}

/** An empty HOME and working directory for the runs, made once and checked empty after each run. */
let sandboxRoot: string | undefined;
function sandbox(): { root: string; home: string; work: string } {
    sandboxRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), "config-fuzz-"));
    const home = path.join(sandboxRoot, "home");
    const work = path.join(sandboxRoot, "work");
    fs.mkdirSync(home, { recursive: true });
    fs.mkdirSync(work, { recursive: true });
    return { root: sandboxRoot, home, work };
}

/** GNU dirname, run without a shell, as the script's `dirname "$compose_dir"` sees it. */
const dirnames = new Map<string, string>();
function dirname(dir: string): string {
    let parent = dirnames.get(dir);
    if (parent === undefined) {
        parent = execFileSync("dirname", ["--", dir], { encoding: "utf8" }).replace(/\n$/, "");
        dirnames.set(dir, parent);
    }
    return parent;
}

function runSection(section: string[], plan: RollbackPlan, expected: Expected): string | undefined {
    const { root, home, work } = sandbox();
    const script = bashCommand([
        "set -euo pipefail",
        ...section,
        `printf '%s\\0' ${PRINTED.map((name) => `"$${name}"`).join(" ")}`,
    ]);
    const result = spawnSync("sh", ["-c", script], {
        cwd: work,
        env: { PATH: process.env.PATH, HOME: home, LC_ALL: "C.UTF-8" },
        encoding: "utf8",
    });
    const left = [...fs.readdirSync(work), ...fs.readdirSync(home)];
    if (left.length > 0 || fs.readdirSync(root).length !== 2 || fs.existsSync(GLOBAL_MARK)) {
        fs.rmSync(root, { recursive: true, force: true });
        sandboxRoot = undefined;
        return `side effect: left ${JSON.stringify(left)}`;
    }
    if (result.status !== 0 || result.stderr !== "") {
        return `exit ${result.status}, stderr ${JSON.stringify(result.stderr)}`;
    }
    const values = Object.fromEntries(result.stdout.split("\0").slice(0, PRINTED.length).map((v, i) => [PRINTED[i], v]));
    const composeDir = expected.composeDir ?? plan.compose.dir;
    const dir = composeDir.startsWith("~/") ? `${home}/${composeDir.slice(2)}` : composeDir;
    const want: Record<string, string> = {
        compose_dir: dir,
        health_url: expected.healthUrl ?? plan.service.healthUrl,
        lock_file: `${dirname(dir)}/.rollback.lock`,
        audit_log: `${dirname(dir)}/rollback-audit.log`,
        stack: plan.stack,
        service: plan.service.name,
        version: plan.service.version.tag,
        container: plan.service.container,
        compose_service: plan.service.composeService,
        image_repository: plan.imageRepository,
        target_image: plan.targetImage,
        compose_file: plan.compose.file,
    };
    const wrong = PRINTED.filter((name) => values[name] !== want[name]);
    return wrong.length === 0
        ? undefined
        : `variables differ: ${wrong.map((n) => `${n}=${JSON.stringify(values[n])}, expected ${JSON.stringify(want[n])}`).join("; ")}`;
}

describe("config fuzz: hostile values are refused or stay data", () => {
    before(() => fs.rmSync(GLOBAL_MARK, { force: true }));
    after(() => {
        if (sandboxRoot !== undefined) {
            fs.rmSync(sandboxRoot, { recursive: true, force: true });
        }
        assert.ok(!fs.existsSync(GLOBAL_MARK), `${GLOBAL_MARK} was created`);
    });

    it(`has at least 200 distinct hostile values (${CORPUS.length})`, () => {
        assert.ok(CORPUS.length >= 200);
        for (const must of ["\0", "\n", "`", "$(", ";", "&&", "\u202e", "／", "а", "--", "*"]) {
            assert.ok(CORPUS.some((value) => value.includes(must)), `no value holds ${JSON.stringify(must)}`);
        }
        assert.ok(CORPUS.some((value) => value.length >= 100_000));
        assert.ok(CORPUS.some((value) => value.startsWith("-")));
    });

    it("accepts the valid config it starts from (so every refusal below is the fuzzed key's)", () => {
        assert.ok("settings" in parse({}));
        assert.ok("settings" in parse({ registry: "127.0.0.1:5050" }));
    });

    for (const key of STRICT_KEYS) {
        it(`${key}: refuses every hostile value, naming the key`, () => {
            const values = smuggled(key === "registry" ? "127.0.0.1:5050" : VALID[key]);
            assert.ok(values.length >= 400);
            // Whitespace around the healthUrls JSON is still the same object: that alone may pass.
            const sameUrls = (value: string) =>
                key === "healthUrls" && util.isDeepStrictEqual(JSON.parse(value), JSON.parse(VALID.healthUrls)) ? undefined : "accepted";
            const failures = fuzz(values, (value) => ({ [key]: value }), key, sameUrls);
            assert.deepStrictEqual(failures, []);
        });
    }

    it("healthUrls: refuses hostile service names and non-string URLs, naming the key", () => {
        const failures = [
            ...fuzz(CORPUS, (name) => ({ healthUrls: JSON.stringify({ [name]: "https://app.example.test/" }) }), "healthUrls",
                () => "accepted"),
            ...fuzz(["__proto__", "constructor", "toString", "Backend", "backend ", "bаckend"],
                (name) => ({ healthUrls: `{${JSON.stringify(name)}: "https://app.example.test/"}` }), "healthUrls", () => "accepted"),
            ...fuzz(["1", "true", "[]", "{}", `["https://a/"]`, `{"url": "https://a/"}`],
                (json) => ({ healthUrls: `{"backend": ${json}}` }), "healthUrls.backend", () => "accepted"),
        ];
        assert.deepStrictEqual(failures, []);
    });

    it("composeDir: refuses a hostile path or keeps it as data, ~/ resolving to $HOME, with no side effect", function () {
        this.timeout(120_000);
        const values = [...CORPUS, ...CORPUS.map((v) => `/${v}`), ...CORPUS.map((v) => `~/${v}`), ...CORPUS.map((v) => `/srv/${v}/x`)];
        let kept = 0;
        const failures = fuzz(values, (value) => ({ composeDir: value }), "composeDir", (value, settings) => {
            kept++;
            return runsAsData(planFor(settings, "backend"), { composeDir: value });
        });
        assert.deepStrictEqual(failures, []);
        assert.ok(kept >= 20, `only ${kept} paths were accepted: the data check ran too rarely`);
    });

    for (const service of SERVICE_NAMES) {
        it(`healthUrls.${service}: refuses a hostile URL or keeps it as data, with no side effect`, function () {
            this.timeout(120_000);
            const values = [...CORPUS, ...CORPUS.map((v) => `https://app.example.test/${v}`), ...CORPUS.map((v) => `http://${v}`)];
            let kept = 0;
            const urls = JSON.parse(VALID.healthUrls);
            const failures = fuzz(values, (value) => ({ healthUrls: JSON.stringify({ ...urls, [service]: value }) }),
                `healthUrls.${service}`, (value, settings) => {
                    kept++;
                    return runsAsData(planFor(settings, service), { healthUrl: value });
                });
            assert.deepStrictEqual(failures, []);
            assert.ok(kept >= 20, `only ${kept} URLs were accepted: the data check ran too rarely`);
        });
    }

    describe("the checks themselves can fail", () => {
        it("a value that is not refused fails a strict key", () => {
            assert.deepStrictEqual(fuzz(["deploy"], (value) => ({ sshUser: value }), "sshUser", () => "accepted"), [
                `sshUser="deploy": accepted`,
            ]);
        });

        it("a refusal that blames another key, or shows a raw newline, fails", () => {
            assert.match(badRefusal(["host: \"x\" is not a host"], "sshUser")!, /does not name sshUser/);
            assert.match(badRefusal(["sshUser: \"a\nb\" is not a Unix user name"], "sshUser")!, /raw characters/);
        });

        it("a value that expands, or a script that writes, is caught", () => {
            const plan = planFor((parse({}) as { settings: Settings }).settings, "backend");
            const section = variables(plan);
            const replaced = (line: string) => section.map((l) => (l.startsWith("health_url=") ? line : l));
            assert.strictEqual(runSection(section, plan, {}), undefined);
            // As if the quoting were lost: the URL written into the script bare or double-quoted.
            assert.match(runSection(replaced(`health_url=https://h/$(touch ${MARK})`), plan, {})!, /side effect/);
            assert.match(runSection(replaced(`health_url="https://h/$HOME"`), plan, { healthUrl: "https://h/$HOME" })!, /health_url=/);
            assert.match(runSection(section, plan, { composeDir: "/srv/y" })!, /compose_dir=/);
        });
    });
});
