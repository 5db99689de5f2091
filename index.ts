import * as pulumi from "@pulumi/pulumi";
import { ServiceRepository } from "./components/serviceRepository";
import { ServiceRollback } from "./components/serviceRollback";
import { loadSettings } from "./config/load";
import { PROXY_SERVICE, SERVICES } from "./config/services";

const { settings, privateKey } = loadSettings();
const { registry } = settings;
const proxyContainer = SERVICES.find((s) => s.name === PROXY_SERVICE)!.container;

interface ServiceOutput {
    repositoryUrl: pulumi.Output<string>;
    version: string;
    image: pulumi.Output<string>;
}

const outputs: Record<string, ServiceOutput> = {};
let previous: ServiceRollback | undefined;

for (const service of settings.services) {
    const repositoryUrl =
        registry.kind === "ecr"
            ? new ServiceRepository(service.name, {
                  repositoryName: service.repository,
                  retentionCount: registry.retentionCount,
                  protectedTags: [service.version.tag],
                  adoptExisting: registry.adoptExisting,
              }).repositoryUrl
            : pulumi.output(`${registry.host}/${service.repository}`);

    // One service at a time, in the fixed order, each after the previous one succeeded.
    const rollback = new ServiceRollback(
        service.name,
        {
            service,
            imageRepository: repositoryUrl,
            ecrRegion: registry.kind === "ecr" ? registry.region : undefined,
            connection: settings.connection,
            privateKey,
            compose: settings.compose,
            health: settings.health,
            proxyContainer: service.name === PROXY_SERVICE ? undefined : proxyContainer,
            runAfter: previous,
        },
    );
    previous = rollback;
    outputs[service.name] = { repositoryUrl, version: service.version.tag, image: rollback.image };
}

export const services = outputs;
