import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RegistrySettings, ServiceSettings } from "../config/settings";
import { groupByDigest, resolvePinnedDigest } from "./images";
import { PlainRegistrySource } from "./plainRegistrySource";

/**
 * Resolves the service's pinned tag to an image digest while the program
 * runs, so `pulumi preview` fails on a missing or expired tag before any SSH,
 * and the server runs exactly the digest the preview showed.
 */
export function pinnedDigest(
    service: ServiceSettings,
    registry: RegistrySettings,
    repository?: pulumi.Resource,
): pulumi.Output<string> {
    if (registry.kind === "plain") {
        return pulumi.output(new PlainRegistrySource(registry.host).list(service.repository)).apply(({ images }) =>
            resolvePinnedDigest(service, images),
        );
    }
    const listed = aws.ecr.getImagesOutput(
        { repositoryName: service.repository },
        { parent: repository, dependsOn: repository ? [repository] : [] },
    );
    return listed.imageIds.apply((ids) =>
        resolvePinnedDigest(service, groupByDigest(ids.map((id) => ({ digest: id.imageDigest, tag: id.imageTag || undefined })))),
    );
}
