import { parseArgs } from "util";
import { SERVICE_NAMES, ServiceName } from "../../config/services";
import { showValue } from "../../config/show";
import { ToolError } from "./cli";
import { DEFAULT_STACK, loadStackFile, StackFile } from "./stackFile";

export interface ToolArgs {
    stack: string;
    /** Only this service; all of them when absent. */
    service?: ServiceName;
    help: boolean;
}

/** `[<service>] [--stack <name>]`; `allowService` false refuses a service argument. */
export function parseToolArgs(argv: string[], allowService: boolean): ToolArgs {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            options: { stack: { type: "string", short: "s" }, help: { type: "boolean", short: "h" } },
            allowPositionals: true,
            strict: true,
        });
    } catch (error) {
        throw new ToolError((error as Error).message);
    }
    const { positionals, values } = parsed;
    if (positionals.length > (allowService ? 1 : 0)) {
        throw new ToolError(`unexpected argument ${showValue(positionals[allowService ? 1 : 0])}`);
    }
    const service = positionals[0];
    if (service !== undefined && !(SERVICE_NAMES as readonly string[]).includes(service)) {
        throw new ToolError(`${showValue(service)} is not a service: ${SERVICE_NAMES.join(", ")}`);
    }
    return { stack: values.stack ?? DEFAULT_STACK, service: service as ServiceName | undefined, help: values.help ?? false };
}

/** Parses the arguments and loads the stack file; undefined once the usage was printed for --help. */
export function startTool(argv: string[], allowService: boolean, usage: string): { args: ToolArgs; stackFile: StackFile } | undefined {
    const args = parseToolArgs(argv, allowService);
    if (args.help) {
        process.stdout.write(`${usage}\n`);
        return undefined;
    }
    return { args, stackFile: loadStackFile(args.stack) };
}
