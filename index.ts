import * as pulumi from "@pulumi/pulumi";
import { ServiceRepository } from "./components/serviceRepository";
import { ServiceRollback } from "./components/serviceRollback";
import { loadSettings } from "./config/load";
import { ServiceSettings } from "./config/settings";
import { PROXY_SERVICE, SERVICES } from "./config/services";
import { serverPullPolicyJson } from "./ecr/pullPolicy";
import { pinnedDigest } from "./registry/pinnedDigest";

const { settings, privateKey } = loadSettings();
const { registry } = settings;
const proxyContainer = SERVICES.find((s) => s.name === PROXY_SERVICE)!.container;

interface ServiceOutput {
    repositoryUrl: pulumi.Output<string>;
    version: string;
    digest: pulumi.Output<string>;
    image: pulumi.Output<string>;
}

/** The service's ECR repository, or its path in the plain registry. */
function repositoryFor(service: ServiceSettings): { url: pulumi.Output<string>; resource?: pulumi.Resource; arn?: pulumi.Output<string> } {
    if (registry.kind === "plain") {
        return { url: pulumi.output(`${registry.host}/${service.repository}`) };
    }
    const repository = new ServiceRepository(service.name, {
        repositoryName: service.repository,
        retentionCount: registry.retentionCount,
        protectedTags: [service.version.tag],
        adoptExisting: registry.adoptExisting,
    });
    return { url: repository.repositoryUrl, resource: repository.repository, arn: repository.repositoryArn };
}

const outputs: Record<string, ServiceOutput> = {};
let previous: ServiceRollback | undefined;
const repositoryArns: pulumi.Output<string>[] = [];

for (const service of settings.services) {
    const { url: repositoryUrl, resource, arn } = repositoryFor(service);
    if (arn) repositoryArns.push(arn);
    const digest = pinnedDigest(service, registry, resource);

    // One service at a time, in the fixed order, each after the previous one succeeded.
    const rollback = new ServiceRollback(service.name, {
        service,
        imageRepository: repositoryUrl,
        imageDigest: digest,
        ecrRegion: registry.kind === "ecr" ? registry.region : undefined,
        connection: settings.connection,
        privateKey,
        compose: settings.compose,
        health: settings.health,
        proxyContainer: service.name === PROXY_SERVICE ? undefined : proxyContainer,
        runAfter: previous,
    });
    previous = rollback;
    outputs[service.name] = { repositoryUrl, version: service.version.tag, digest, image: rollback.image };
}

export const services = outputs;

// --- Server pull permissions (ECR only) ---------------------------------------
// The least-privilege IAM policy document to attach to the server's role or
// user: log in, and pull these four repositories, nothing else. An output, not
// a resource: the server's identity is managed outside this stack.
export const serverPullPolicy =
    registry.kind === "ecr" ? pulumi.all(repositoryArns).apply((arns) => serverPullPolicyJson(arns)) : undefined;
