/**
 * npm run versions [-- <service>] [--stack prod|local]
 *
 * The images each service can still be rolled back to, newest first, with all
 * their tags, and which one is `latest` and which one the stack pins.
 * ECR (the stack's aws:region, the usual AWS credential chain) or, when the
 * stack's `registry` is a host:port, that registry's HTTP API.
 */
import { ECRClient } from "@aws-sdk/client-ecr";
import { ConfigReader, parseRegistrySettings, RegistrySettings } from "../config/settings";
import { SERVICES } from "../config/services";
import { parseVersion } from "../config/version";
import { EXIT, runTool, ToolError } from "./lib/cli";
import { EcrSource } from "../registry/ecrSource";
import { ImageSource, ImageSourceError } from "../registry/imageSource";
import { startTool } from "./lib/args";
import { PlainRegistrySource } from "../registry/plainRegistrySource";
import { configReader } from "./lib/stackFile";
import { formatVersions, ServiceImages, VersionsReport } from "./lib/versionsReport";

const USAGE = `usage: npm run versions [-- <service>] [--stack <stack>]
  <service>  one of ${SERVICES.map((s) => s.name).join(", ")} (default: all)
  --stack    the stack file to read, Pulumi.<stack>.yaml (default: prod)
Exit code: 0 listed, 1 a repository could not be listed, 2 could not run.`;

export function sourceFor(registry: RegistrySettings): ImageSource {
    // The SDK warns on every run that it will need node 22 from 2027; an on-call reader needs the table.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    return registry.kind === "ecr" ? new EcrSource(new ECRClient({ region: registry.region }), registry.region) : new PlainRegistrySource(registry.host);
}

/** Lists the services' repositories; stops at the first error that would hit every repository. */
export async function collectVersions(
    read: ConfigReader,
    source: ImageSource,
    meta: { stack: string; stackFile: string },
    only?: string,
): Promise<VersionsReport> {
    const services: ServiceImages[] = [];
    for (const service of SERVICES.filter((s) => !only || s.name === only)) {
        const raw = read(service.versionKey);
        let pinned;
        let pinProblem: string | undefined;
        try {
            pinned = raw === undefined ? undefined : parseVersion(service.versionKey, raw);
            pinProblem = raw === undefined ? `${service.versionKey} is not set in ${meta.stackFile}` : undefined;
        } catch (error) {
            pinProblem = (error as Error).message;
        }
        let listing: ServiceImages["listing"];
        try {
            listing = await source.list(service.repository);
        } catch (error) {
            if (!(error instanceof ImageSourceError) || error.fatal) {
                throw error instanceof ImageSourceError ? new ToolError(error.message) : error;
            }
            listing = { error: error.message };
        }
        services.push({ service: service.name, repository: service.repository, pinned, pinProblem, listing });
    }
    return { ...meta, source: source.description, dateLabel: source.dateLabel, services };
}

async function main(): Promise<number> {
    const started = startTool(process.argv.slice(2), true, USAGE);
    if (!started) {
        return EXIT.ok;
    }
    const { args, stackFile } = started;
    const read = configReader(stackFile);
    const report = await collectVersions(read, sourceFor(parseRegistrySettings(read)), { stack: stackFile.stack, stackFile: stackFile.file }, args.service);
    process.stdout.write(formatVersions(report));
    return report.services.some((s) => "error" in s.listing) ? EXIT.problem : EXIT.ok;
}

if (require.main === module) {
    runTool("versions", main);
}
