import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ComposeSettings, ConnectionSettings, ServiceSettings } from "../config/settings";
import { DEFAULT_LIMITS, RollbackPlan } from "../remote/rollback";

/** One service's pinned release on one server: what both of its remote commands are built from. */
export interface ServiceDeployment {
    service: ServiceSettings;
    /** `<registry>/<repository>` without tag. */
    imageRepository: pulumi.Input<string>;
    /** `sha256:...` of the pinned version's image, resolved at preview. */
    imageDigest: pulumi.Input<string>;
    /** ECR login on the server; absent for a registry without login. */
    ecrRegion?: string;
    connection: ConnectionSettings;
    privateKey: pulumi.Input<string>;
    compose: ComposeSettings;
    /** Container reloaded after this service changed (nginx), absent for nginx itself. */
    proxyContainer?: string;
}

// Bounded SSH dialling: an unreachable host fails in about half a minute, not minutes.
const DIAL_ATTEMPTS = 3;
const DIAL_TIMEOUT_SECONDS = 10;

/** The image the server runs: `<repository>@sha256:...`. */
export function pinnedImage(deployment: ServiceDeployment): pulumi.Output<string> {
    return pulumi.interpolate`${deployment.imageRepository}@${deployment.imageDigest}`;
}

export function rollbackPlan(deployment: ServiceDeployment): pulumi.Output<RollbackPlan> {
    return pulumi.all([deployment.imageRepository, pinnedImage(deployment)]).apply(([imageRepository, targetImage]) => ({
        stack: pulumi.getStack(),
        service: deployment.service,
        imageRepository,
        targetImage,
        ecrLogin: deployment.ecrRegion ? { region: deployment.ecrRegion, registryHost: imageRepository.split("/")[0] } : undefined,
        compose: deployment.compose,
        proxyContainer: deployment.proxyContainer,
        limits: DEFAULT_LIMITS,
    }));
}

/**
 * A command run on the server over SSH with the pinned host key. It has no
 * delete command: removing it from the stack leaves the server alone.
 */
export function remoteCommand(
    name: string,
    deployment: ServiceDeployment,
    script: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): command.remote.Command {
    const { connection } = deployment;
    return new command.remote.Command(
        name,
        {
            connection: {
                host: connection.host,
                port: connection.port,
                user: connection.user,
                hostKey: connection.hostKey,
                privateKey: deployment.privateKey,
                dialErrorLimit: DIAL_ATTEMPTS,
                perDialTimeout: DIAL_TIMEOUT_SECONDS,
            },
            create: script,
            addPreviousOutputInEnv: false,
        },
        // With ECR the command handles a registry token. It only flows through a
        // pipe and nothing prints it, but the recorded output is kept secret anyway;
        // the live progress lines in the Pulumi log are not affected.
        deployment.ecrRegion ? { ...opts, additionalSecretOutputs: ["stdout", "stderr"] } : opts,
    );
}
