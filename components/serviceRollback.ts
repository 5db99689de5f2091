import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ComposeSettings, ConnectionSettings, HealthTiming, ServiceSettings } from "../config/settings";
import { DEFAULT_LIMITS, rollbackCommand } from "../remote/rollback";

export interface ServiceRollbackArgs {
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
    health: HealthTiming;
    /** Container restarted after this service changed (nginx), absent for nginx itself. */
    proxyContainer?: string;
    /** The rollback that must have succeeded before this one runs. */
    runAfter?: ServiceRollback;
}

// Bounded SSH dialling: an unreachable host fails in about half a minute, not minutes.
const DIAL_ATTEMPTS = 3;
const DIAL_TIMEOUT_SECONDS = 10;

/**
 * Rolls one service's container to its pinned version over SSH. The command's
 * inputs hold only this service's values, so it runs again only when they change.
 * It has no delete command: removing a service from the stack leaves the server alone.
 */
export class ServiceRollback extends pulumi.ComponentResource {
    readonly image: pulumi.Output<string>;
    readonly command: command.remote.Command;

    constructor(name: string, args: ServiceRollbackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("probability:rollback:ServiceRollback", name, {}, opts);

        const { service, connection } = args;
        this.image = pulumi.interpolate`${args.imageRepository}@${args.imageDigest}`;
        const script = pulumi.all([args.imageRepository, this.image]).apply(([imageRepository, targetImage]) =>
            rollbackCommand({
                stack: pulumi.getStack(),
                service,
                imageRepository,
                targetImage,
                ecrLogin: args.ecrRegion
                    ? { region: args.ecrRegion, registryHost: imageRepository.split("/")[0] }
                    : undefined,
                compose: args.compose,
                health: args.health,
                proxyContainer: args.proxyContainer,
                limits: DEFAULT_LIMITS,
            }),
        );

        this.command = new command.remote.Command(
            name,
            {
                connection: {
                    host: connection.host,
                    port: connection.port,
                    user: connection.user,
                    hostKey: connection.hostKey,
                    privateKey: args.privateKey,
                    dialErrorLimit: DIAL_ATTEMPTS,
                    perDialTimeout: DIAL_TIMEOUT_SECONDS,
                },
                create: script,
                addPreviousOutputInEnv: false,
            },
            { parent: this, dependsOn: args.runAfter ? [args.runAfter.command] : [] },
        );

        this.registerOutputs({ image: this.image });
    }
}
