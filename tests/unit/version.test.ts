import * as assert from "assert";
import { parseVersion } from "../../config/version";

describe("parseVersion", () => {
    for (const [tag, form] of [
        ["2026.01.4-f214c2d", "calver-sha"],
        ["2026.12.10-18c9e87", "calver-sha"],
        ["2026.01.4", "calver"],
        ["f214c2d", "sha"],
        ["18c9e87a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "sha"],
    ]) {
        it(`accepts ${tag} as ${form}`, () => {
            assert.deepStrictEqual(parseVersion("backendVersion", tag), { tag, form });
        });
    }

    for (const bad of [
        "latest",
        "",
        "v2026.01.4",
        "2026.1.4",
        "2026.13.4",
        "2026.01.04",
        "2026.01.4-F214C2D",
        "2026.01.4-f214c2",
        "2026.01.4-f214c2d;reboot",
        "f214c2",
        "2026.01.4 ",
        "-f214c2d",
        "$(id)",
    ]) {
        it(`refuses ${JSON.stringify(bad)} naming the key, the value and the accepted forms`, () => {
            assert.throws(
                () => parseVersion("frontendVersion", bad),
                (error: Error) =>
                    error.message.startsWith(`frontendVersion: ${JSON.stringify(bad)} is not a release tag`) &&
                    error.message.includes("YYYY.MM.N-SHA") &&
                    error.message.includes("short git SHA"),
            );
        });
    }

    it("explains why latest cannot be pinned", () => {
        assert.throws(() => parseVersion("nginxVersion", "latest"), /moves with every release/);
    });
});
