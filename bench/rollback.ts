/**
 * npm run bench:rollback (after npm run sandbox:up): one backend rollback
 * done the runbook's way and one done by the program's script, side by side,
 * while requests go through nginx every 20 ms to the backend and to a service
 * that is not rolled back. Prints a table; asserts nothing.
 */
import { execFileSync } from "child_process";
import { commandsOf, runProgram } from "../tests/program/harness";
import { connectionOf, runRemote } from "../tests/e2e/engine";
import { localConfig, releases, runbookBackendRollback, SANDBOX } from "../tests/e2e/sandbox";
import { firstAnswer, ProbeSummary, startProbe, summarise } from "./probe";

const INTERVAL_MS = 20;
const REQUEST_TIMEOUT_MS = 2000;
const SETTLE_MS = 1000;

interface Measurement {
    backend: ProbeSummary;
    other: ProbeSummary;
    wallMs: number;
    newVersionAfterMs?: number;
}

async function programScript(version: string): Promise<string> {
    const run = await runProgram(localConfig({ backend: version }), "local", "real");
    return commandsOf(run).find((c) => c.name === "backend")!.inputs.create;
}

async function measure(script: string, version: string): Promise<Measurement> {
    const connection = connectionOf(commandsOf(await runProgram(localConfig(), "local", "real"))[0]);
    const backend = startProbe(`${SANDBOX.http}/api/v1/health`, INTERVAL_MS, REQUEST_TIMEOUT_MS);
    const other = startProbe(`${SANDBOX.http}/health`, INTERVAL_MS, REQUEST_TIMEOUT_MS);
    await sleep(SETTLE_MS);
    const started = Date.now();
    const result = await runRemote(connection, script);
    const wallMs = Date.now() - started;
    await sleep(SETTLE_MS);
    const [backendResults, otherResults] = await Promise.all([backend.stop(), other.stop()]);
    if (result.code !== 0) {
        throw new Error(`rollback failed:\n${result.stdout}\n${result.stderr}`);
    }
    const answered = firstAnswer(backendResults, version);
    return {
        backend: summarise(backendResults),
        other: summarise(otherResults),
        wallMs,
        newVersionAfterMs: answered === undefined ? undefined : answered - SETTLE_MS,
    };
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Back to the newest release everywhere, the target image already pulled (as after a first attempt). */
function reset(target: string): void {
    execFileSync("bash", [`${__dirname}/../sandbox/up.sh`], { stdio: "ignore" });
    execFileSync("podman", ["pull", "--quiet", `${SANDBOX.registry}/probability-backend:${target}`], { stdio: "ignore" });
}

function row(label: string, values: string[]): string {
    return `| ${label.padEnd(44)} | ${values.map((v) => v.padStart(9)).join(" | ")} |`;
}

async function main(): Promise<void> {
    const runs = Number(process.argv[2] ?? "1");
    const [, target] = await releases("backend");
    const results: Record<"runbook" | "program", Measurement[]> = { runbook: [], program: [] };
    for (let i = 0; i < runs; i++) {
        reset(target);
        // The runbook ends by reading the logs: part of the operator's wall time.
        results.runbook.push(await measure(`${runbookBackendRollback(target)}\npodman logs --tail 50 backend_prod`, target));
        reset(target);
        results.program.push(await measure(await programScript(target), target));
    }
    reset(target);

    const columns = (pick: (m: Measurement) => number | undefined, format: (n: number) => string) =>
        (["runbook", "program"] as const).map((way) =>
            results[way].map((m) => { const v = pick(m); return v === undefined ? "never" : format(v); }).join(" / "),
        );
    const ms = (n: number) => `${Math.round(n)}`;
    const s = (n: number) => (n / 1000).toFixed(1);
    console.log(`backend rollback to ${target} (image already pulled), probes every ${INTERVAL_MS} ms through nginx, ${runs} run(s) each\n`);
    console.log(row("", ["runbook", "program"]));
    console.log(row("---", ["---", "---"]));
    console.log(row("backend requests failed", columns((m) => m.backend.failed, ms)));
    console.log(row("backend requests sent", columns((m) => m.backend.requests, ms)));
    console.log(row("backend longest run of failures (ms)", columns((m) => m.backend.longestOutageMs, ms)));
    console.log(row("frontend (not rolled back) requests failed", columns((m) => m.other.failed, ms)));
    console.log(row("wall time of the commands (s)", columns((m) => m.wallMs, s)));
    console.log(row("new version first answers after (s)", columns((m) => m.newVersionAfterMs, s)));
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
