import * as assert from "assert";
import { firstAnswer, summarise } from "../../bench/probe";

describe("benchmark probe summary", () => {
    const ok = (at: number, body = "backend 2026.01.6") => ({ at, ok: true, body });
    const failed = (at: number) => ({ at, ok: false, body: "502" });

    it("counts failures and measures the longest outage from its first failure to the next success", () => {
        const results = [ok(0), failed(20), failed(40), ok(60), failed(80), failed(100), failed(120), ok(140), ok(160)];
        assert.deepStrictEqual(summarise(results), { requests: 9, failed: 5, longestOutageMs: 60 });
    });

    it("orders results by time: requests finish out of order", () => {
        assert.deepStrictEqual(summarise([ok(60), failed(20), ok(0), failed(40)]), { requests: 4, failed: 2, longestOutageMs: 40 });
    });

    it("counts an outage still open at the end up to the last request", () => {
        assert.strictEqual(summarise([ok(0), failed(20), failed(100)]).longestOutageMs, 80);
    });

    it("finds when a version first answered", () => {
        assert.strictEqual(firstAnswer([ok(0), ok(40, "backend 2026.01.5"), ok(20, "backend 2026.01.5")], "2026.01.5"), 20);
        assert.strictEqual(firstAnswer([ok(0)], "2026.01.5"), undefined);
    });
});
