/** One request made through nginx while a rollback runs. */
export interface ProbeResult {
    /** ms since the probe started. */
    at: number;
    ok: boolean;
    body: string;
}

export interface ProbeSummary {
    requests: number;
    failed: number;
    /** Longest stretch of consecutive failed requests, first failure to first success after it. */
    longestOutageMs: number;
}

export function summarise(results: ProbeResult[]): ProbeSummary {
    const ordered = [...results].sort((a, b) => a.at - b.at);
    let longest = 0;
    let outageStart: number | undefined;
    for (const result of ordered) {
        if (!result.ok && outageStart === undefined) {
            outageStart = result.at;
        } else if (result.ok && outageStart !== undefined) {
            longest = Math.max(longest, result.at - outageStart);
            outageStart = undefined;
        }
    }
    if (outageStart !== undefined && ordered.length > 0) {
        longest = Math.max(longest, ordered[ordered.length - 1].at - outageStart);
    }
    return { requests: ordered.length, failed: ordered.filter((r) => !r.ok).length, longestOutageMs: longest };
}

/** When `version` first answered, in ms since the probe started; undefined if it never did. */
export function firstAnswer(results: ProbeResult[], version: string): number | undefined {
    return results.filter((r) => r.ok && r.body.includes(version)).sort((a, b) => a.at - b.at)[0]?.at;
}

/**
 * Sends a GET every `intervalMs` without waiting for the previous one (a hung
 * request must not hide the ones after it), each cut off after `timeoutMs`.
 */
export function startProbe(url: string, intervalMs: number, timeoutMs: number): { stop: () => Promise<ProbeResult[]> } {
    const started = Date.now();
    const pending: Promise<ProbeResult>[] = [];
    const probe = async (): Promise<ProbeResult> => {
        const at = Date.now() - started;
        try {
            const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
            const body = await response.text();
            return { at, ok: response.ok, body };
        } catch (error) {
            return { at, ok: false, body: (error as Error).name };
        }
    };
    const timer = setInterval(() => pending.push(probe()), intervalMs);
    return {
        stop: async () => {
            clearInterval(timer);
            return Promise.all(pending);
        },
    };
}
