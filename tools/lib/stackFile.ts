import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ConfigReader } from "../../config/settings";
import { showValue } from "../../config/show";
import { ToolError } from "./cli";

export const PROJECT = "probability-rollback";
/** The repository root, where the Pulumi.<stack>.yaml files are. */
export const ROOT = path.resolve(__dirname, "../..");
export const DEFAULT_STACK = "prod";

/** A committed stack file's config, keys as `namespace:key`, values as Pulumi hands them to the program. */
export interface StackFile {
    stack: string;
    /** Path shown in messages, relative to the working directory. */
    file: string;
    values: Record<string, string>;
}

function stacksIn(root: string): string[] {
    return fs
        .readdirSync(root)
        .map((name) => /^Pulumi\.(.+)\.yaml$/.exec(name)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** Reads Pulumi.<stack>.yaml. Object values (healthUrls, secrets) are kept as JSON, as Pulumi passes them. */
export function loadStackFile(stack: string, root = ROOT): StackFile {
    const file = path.relative(process.cwd(), path.join(root, `Pulumi.${stack}.yaml`)) || `Pulumi.${stack}.yaml`;
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(stack) || !fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`))) {
        throw new ToolError(`--stack ${showValue(stack)}: there is no ${file}; stacks: ${stacksIn(root).join(", ")}`);
    }
    let document: unknown;
    try {
        document = yaml.load(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"));
    } catch (error) {
        throw new ToolError(`${file} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
    }
    const config = (document as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new ToolError(`${file}: \`config\` is not a mapping`);
    }
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        if (value !== null && value !== undefined) {
            values[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
        }
    }
    return { stack, file, values };
}

/** Reads `key` (this project's namespace) or `namespace:key`, as config/load.ts does under Pulumi. */
export function configReader(stackFile: StackFile, overrides: Record<string, string> = {}): ConfigReader {
    return (key) => overrides[key] ?? stackFile.values[key.includes(":") ? key : `${PROJECT}:${key}`];
}
