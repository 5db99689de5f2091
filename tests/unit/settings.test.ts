import * as assert from "assert";
import { ConfigError, parseSettings } from "../../config/settings";

const VALID: Record<string, string> = {
    "aws:region": "us-east-1",
    host: "prod.example.test",
    sshUser: "deploy",
    sshHostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${"B".repeat(43)}`,
    backendVersion: "2026.01.5-18c9e87",
    frontendVersion: "2026.01.5-18c9e87",
    websiteVersion: "2026.01.5-18c9e87",
    nginxVersion: "2026.01.5-18c9e87",
};

function parse(extra: Record<string, string>) {
    const config = { ...VALID, ...extra };
    return parseSettings((key) => config[key]);
}

describe("settings: containerHealth", () => {
    it("is off by default: every service uses the runbook's order", () => {
        assert.ok(parse({}).services.every((s) => s.containerHealth === undefined));
    });

    it("reads PORT/PATH per service", () => {
        const services = parse({ containerHealth: JSON.stringify({ backend: "8080/api/v1/health", website: "3000/" }) }).services;
        assert.deepStrictEqual(services.map((s) => s.containerHealth), [
            { port: 8080, path: "/api/v1/health" },
            undefined,
            { port: 3000, path: "/" },
            undefined,
        ]);
    });

    for (const [value, expected] of [
        [{ backend: "http://x/health" }, /containerHealth\.backend: "http:\/\/x\/health" is not PORT\/PATH/],
        [{ backend: "70000/health" }, /containerHealth\.backend: "70000\/health" is not PORT\/PATH/],
        [{ backend: "8080/$(id)" }, /containerHealth\.backend: .* is not PORT\/PATH/],
        [{ nginx: "80/" }, /containerHealth\.nginx: nginx publishes the host's ports/],
        [{ api: "8080/" }, /containerHealth\."api" is not a service/],
    ] as const) {
        it(`refuses ${JSON.stringify(value)}`, () => {
            assert.throws(() => parse({ containerHealth: JSON.stringify(value) }), (error: Error) => error instanceof ConfigError && expected.test(error.message));
        });
    }
});

describe("settings: health timing per service", () => {
    it("takes the stack's timing, with a service's healthTimings entry over it", () => {
        const services = parse({ healthTimeoutSeconds: "30", healthTimings: JSON.stringify({ backend: { timeoutSeconds: 120, startPeriodSeconds: 5 } }) }).services;
        assert.deepStrictEqual(services[0].health, { startPeriodSeconds: 5, intervalSeconds: 1, timeoutSeconds: 120 });
        assert.deepStrictEqual(services[1].health, { startPeriodSeconds: 0, intervalSeconds: 1, timeoutSeconds: 30 });
    });

    for (const [value, expected] of [
        [{ backend: { timeoutSeconds: 0 } }, /healthTimings\.backend\.timeoutSeconds: "0" is not a whole number from 1 to 1800/],
        [{ backend: { timeoutSeconds: "60" } }, /healthTimings\.backend\.timeoutSeconds: "60" is not a whole number/],
        [{ backend: { timeout: 60 } }, /healthTimings\.backend\."timeout" is not one of startPeriodSeconds, intervalSeconds, timeoutSeconds/],
        [{ backend: 60 }, /healthTimings\.backend is not an object/],
        [{ db: {} }, /healthTimings\."db" is not a service/],
    ] as const) {
        it(`refuses ${JSON.stringify(value)}`, () => {
            assert.throws(() => parse({ healthTimings: JSON.stringify(value) }), (error: Error) => expected.test(error.message));
        });
    }
});
