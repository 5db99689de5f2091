import * as pulumi from "@pulumi/pulumi";
import { ServiceDeployment } from "./components/deployment";
import { ServiceRepository } from "./components/serviceRepository";
import { ImagePull, ServiceRollback } from "./components/serviceRollback";
import { loadSettings } from "./config/load";
import { ServiceSettings } from "./config/settings";
import { PROXY_SERVICE, SERVICES } from "./config/services";
import { serverPullPolicyJson } from "./ecr/pullPolicy";
import { pinnedDigest } from "./registry/pinnedDigest";

const { settings, privateKey } = loadSettings();
const { registry } = settings;
const proxyContainer = SERVICES.find((s) => s.name === PROXY_SERVICE)!.container;

interface ServiceRepositoryRef {
    url: pulumi.Output<string>;
    /** ECR only: the repository resource and its ARN. */
    ecr?: { repository: pulumi.Resource; arn: pulumi.Output<string> };
}

/** The service's ECR repository, or its path in the plain registry. */
function repositoryFor(service: ServiceSettings): ServiceRepositoryRef {
    if (registry.kind === "plain") {
        return { url: pulumi.output(`${registry.host}/${service.repository}`) };
    }
    const repository = new ServiceRepository(service.name, {
        repositoryName: service.repository,
        retentionCount: registry.retentionCount,
        protectedTags: [service.version.tag],
        adoptExisting: registry.adoptExisting,
    });
    return { url: repository.repositoryUrl, ecr: { repository: repository.repository, arn: repository.repositoryArn } };
}

const releases = settings.services.map((service) => {
    const repository = repositoryFor(service);
    const deployment: ServiceDeployment = {
        service,
        imageRepository: repository.url,
        imageDigest: pinnedDigest(service, registry, repository.ecr?.repository),
        ecrRegion: registry.kind === "ecr" ? registry.region : undefined,
        connection: settings.connection,
        privateKey,
        compose: settings.compose,
        proxyContainer: service.name === PROXY_SERVICE ? undefined : proxyContainer,
    };
    return { service, repository, deployment, pull: new ImagePull(service.name, deployment) };
});

// The rollouts go one at a time in the fixed order, each after the previous one
// succeeded and after every pull finished (pulls run in parallel).
const pulls = releases.map((release) => release.pull.command);
let previous: ServiceRollback | undefined;
const outputs: Record<string, object> = {};
for (const { service, repository, deployment } of releases) {
    const rollback: ServiceRollback = new ServiceRollback(service.name, {
        deployment,
        after: previous ? [previous.command, ...pulls] : pulls,
    });
    previous = rollback;
    outputs[service.name] = {
        repositoryUrl: repository.url,
        version: service.version.tag,
        digest: deployment.imageDigest,
        image: rollback.image,
    };
}

export const services = outputs;

// The least-privilege IAM policy document to attach to the server's role or
// user: log in, and pull these four repositories, nothing else. An output, not
// a resource: the server's identity is managed outside this stack.
export const serverPullPolicy =
    registry.kind === "ecr"
        ? pulumi.all(releases.map((r) => r.repository.ecr!.arn)).apply(serverPullPolicyJson)
        : "none: the registry needs no login";
