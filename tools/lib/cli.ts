import { ConfigError } from "../../config/settings";

/** A failure the operator can act on: printed as one line (or the listed problems), no stack trace. */
export class ToolError extends Error {}

/** Exit codes shared by the tools (docs/rollback.md). */
export const EXIT = {
    /** Everything is as the stack says. */
    ok: 0,
    /** The tool ran and found a problem: drift, a repository it could not list. */
    problem: 1,
    /** The tool could not run: bad arguments, stack file, credentials, connection. */
    error: 2,
} as const;

/** Runs a tool's main function: known errors become one message on stderr and exit code 2. */
export function runTool(name: string, main: () => Promise<number>): void {
    main().then(
        (code) => {
            process.exitCode = code;
        },
        (error: unknown) => {
            if (error instanceof ToolError || error instanceof ConfigError) {
                process.stderr.write(`${name}: ${error.message}\n`);
            } else {
                process.stderr.write(`${name}: unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
            }
            process.exitCode = EXIT.error;
        },
    );
}
