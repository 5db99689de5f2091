import * as assert from "assert";
import { execFileSync } from "child_process";
import { assign, bashCommand, quote, quotePath } from "../../remote/shell";

const HOSTILE = [
    "plain",
    "",
    "it's",
    `"double"`,
    "$(touch /tmp/pwned)",
    "`id`",
    "a;b",
    "a && b",
    "line\nbreak",
    "tab\there",
    "back\\slash",
    "-rf",
    "*",
    "~root",
    "${HOME}",
    "ROLLBACK_SCRIPT",
    "ünïcödé ／ｅｔｃ",
    "x".repeat(5000),
];

function bash(script: string): string {
    return execFileSync("bash", ["-c", script], { encoding: "utf8" });
}

describe("shell quoting", () => {
    for (const value of HOSTILE) {
        it(`keeps ${JSON.stringify(value.slice(0, 30))} as one word of data`, () => {
            assert.strictEqual(bash(`printf '%s|' ${quote(value)}`), `${value}|`);
            assert.strictEqual(bash(`${assign("v", value)}; printf '%s' "$v"`), value);
        });
    }

    it("refuses a NUL byte, which no shell word can hold", () => {
        assert.throws(() => quote("a\0b"), /NUL/);
    });

    it("resolves ~/ paths against the remote user's home", () => {
        assert.strictEqual(bash(`HOME=/home/op; printf '%s' ${quotePath("~/probability/infra/compose-prod")}`), "/home/op/probability/infra/compose-prod");
        assert.strictEqual(bash(`printf '%s' ${quotePath("/srv/it's here")}`), "/srv/it's here");
    });
});

describe("bashCommand", () => {
    it("runs the lines with bash through a POSIX login shell, unexpanded", () => {
        const command = bashCommand(["set -euo pipefail", `echo "$BASH_VERSION" | grep -q . && echo bash`, "echo '$(not run)' `echo ran`"]);
        assert.strictEqual(execFileSync("sh", ["-c", command], { encoding: "utf8" }), "bash\n$(not run) ran\n");
    });

    it("leaves the script's stdin to the script", () => {
        const command = bashCommand(["cat"]);
        assert.strictEqual(execFileSync("sh", ["-c", command], { input: "from stdin", encoding: "utf8" }), "from stdin");
    });

    it("refuses a line that would end the heredoc early", () => {
        assert.throws(() => bashCommand(["ROLLBACK_SCRIPT"]), /may not be ROLLBACK_SCRIPT/);
    });
});
