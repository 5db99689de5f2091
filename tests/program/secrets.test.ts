import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import { commandsOf, ProgramRun, prodConfig, runProgram, TEST_PRIVATE_KEY } from "./harness";

/** Pulumi's wire form of a secret: `{ [SIG_KEY]: SECRET_SIG, value }`. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The private key in every form it could take in a serialised state or log:
 * as is, its distinctive middle line alone (a partial copy or a re-wrapped
 * key), JSON-escaped (newlines as \n), and base64.
 */
const NEEDLES = [
    TEST_PRIVATE_KEY,
    TEST_PRIVATE_KEY.split("\n")[1],
    JSON.stringify(TEST_PRIVATE_KEY).slice(1, -1),
    Buffer.from(TEST_PRIVATE_KEY).toString("base64"),
];

/** A place where a value sits, as a path from the root: `resources[3].inputs.create`. */
interface Finding {
    path: string;
    inSecret: boolean;
}

/** Walks a serialised value and reports every string holding a needle, and whether a secret wrapper encloses it. */
function findNeedles(value: unknown, path: string, inSecret = false, found: Finding[] = []): Finding[] {
    if (typeof value === "string") {
        if (NEEDLES.some((needle) => value.includes(needle))) {
            found.push({ path, inSecret });
        }
    } else if (Array.isArray(value)) {
        value.forEach((item, index) => findNeedles(item, `${path}[${index}]`, inSecret, found));
    } else if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        const secret = inSecret || record[SIG_KEY] === SECRET_SIG;
        for (const [key, item] of Object.entries(record)) {
            // The key of an object is serialised too: a secret could hide there.
            findNeedles(key, `${path}{key ${JSON.stringify(key)}}`, secret, found);
            findNeedles(item, `${path}.${key}`, secret, found);
        }
    }
    return found;
}

/** The stack outputs as the engine stores them: the program's exports, serialised with their secrets wrapped. */
async function serialisedStackOutputs(): Promise<Record<string, unknown>> {
    const exports = require.cache[require.resolve("../../index")]?.exports as Record<string, unknown> | undefined;
    assert.ok(exports, "index.ts was not loaded by the run");
    return pulumi.runtime.serializeProperties("stack outputs", exports as pulumi.Inputs);
}

/** Every leak of the key in a run: registered inputs (the mocks' outputs are those inputs) and stack outputs. */
function leaks(run: ProgramRun, stackOutputs: Record<string, unknown>): string[] {
    const found = [
        ...run.resources.flatMap((r) => findNeedles(r.inputs, `${r.type}::${r.name}.inputs`)),
        ...findNeedles(stackOutputs, "stack outputs"),
    ];
    return found.filter((f) => !f.inSecret).map((f) => f.path);
}

describe("the SSH private key stays secret (Pulumi.prod.yaml)", () => {
    let run: ProgramRun;
    let stackOutputs: Record<string, unknown>;
    before(async () => {
        run = await runProgram(prodConfig());
        stackOutputs = await serialisedStackOutputs();
    });

    it("reaches the state only inside Pulumi's secret wrapper, once per remote command", () => {
        const wrapped = run.resources.flatMap((r) => findNeedles(r.inputs, `${r.type}::${r.name}.inputs`)).filter((f) => f.inSecret);
        assert.deepStrictEqual(
            wrapped.map((f) => f.path),
            ["backend-pull", "frontend-pull", "website-pull", "nginx-pull", "backend", "frontend", "website", "nginx"].map(
                (s) => `command:remote:Command::${s}.inputs.connection.value.privateKey`,
            ),
        );
    });

    it("appears nowhere outside a secret wrapper: no resource input or output, no stack output", () => {
        assert.deepStrictEqual(leaks(run, stackOutputs), []);
    });

    it("is in no script the server runs", () => {
        const commands = commandsOf(run);
        assert.strictEqual(commands.length, 8);
        for (const command of commands) {
            for (const script of ["create", "update", "delete"]) {
                const text = command.inputs[script];
                if (text !== undefined) {
                    assert.ok(!NEEDLES.some((needle) => JSON.stringify(text).includes(needle)), `${command.name}.${script} holds the key`);
                }
            }
        }
    });

    it("the stack outputs were serialised from the program's exports", () => {
        assert.deepStrictEqual(Object.keys(stackOutputs).sort(), Object.keys(run.outputs).sort());
        assert.ok(Object.keys(stackOutputs).includes("services"));
    });

    describe("the check itself can fail", () => {
        it("finds the key planted in a script", () => {
            const planted: ProgramRun = JSON.parse(JSON.stringify(run));
            const command = planted.resources.find((r) => r.type === "command:remote:Command")!;
            command.inputs.create += `\necho ${JSON.stringify(TEST_PRIVATE_KEY)} >/dev/null`;
            assert.deepStrictEqual(leaks(planted, stackOutputs), [`command:remote:Command::${command.name}.inputs.create`]);
        });

        it("finds the key unwrapped in a connection, partially or as base64 in an output", () => {
            const planted: ProgramRun = JSON.parse(JSON.stringify(run));
            const command = planted.resources.find((r) => r.type === "command:remote:Command")!;
            command.inputs.connection = command.inputs.connection.value;
            const outputs = { ...stackOutputs, a: "test-only-not-a-key", b: { c: [Buffer.from(TEST_PRIVATE_KEY).toString("base64")] } };
            assert.deepStrictEqual(leaks(planted, outputs), [
                `command:remote:Command::${command.name}.inputs.connection.privateKey`,
                "stack outputs.a",
                "stack outputs.b.c[0]",
            ]);
        });

        it("finds a key made a stack output with pulumi.unsecret", async () => {
            const leaked = await pulumi.runtime.serializeProperties("stack outputs", {
                fine: pulumi.secret(TEST_PRIVATE_KEY),
                leaked: pulumi.unsecret(pulumi.secret(TEST_PRIVATE_KEY)),
            });
            assert.deepStrictEqual(leaks({ resources: [], outputs: {} }, leaked), ["stack outputs.leaked"]);
        });
    });
});
