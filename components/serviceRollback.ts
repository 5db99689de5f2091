import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { prefetchCommand, rollbackCommand } from "../remote/rollback";
import { pinnedImage, remoteCommand, rollbackPlan, ServiceDeployment } from "./deployment";

/**
 * Pulls one service's pinned image onto the server. Pulls depend on nothing,
 * so the engine runs the pulls of all changed services in parallel.
 */
export class ImagePull extends pulumi.ComponentResource {
    readonly command: command.remote.Command;

    constructor(name: string, deployment: ServiceDeployment, opts?: pulumi.ComponentResourceOptions) {
        super("probability:rollback:ImagePull", name, {}, opts);
        const script = rollbackPlan(deployment).apply(prefetchCommand);
        this.command = remoteCommand(`${name}-pull`, deployment, script, { parent: this });
        this.registerOutputs({});
    }
}

export interface ServiceRollbackArgs {
    deployment: ServiceDeployment;
    /** Commands that must have succeeded first: the previous service's rollout and every pull. */
    after: pulumi.Resource[];
}

/**
 * Rolls one service's container to its pinned version over SSH. The command's
 * inputs hold only this service's values, so it runs again only when they change.
 */
export class ServiceRollback extends pulumi.ComponentResource {
    readonly image: pulumi.Output<string>;
    readonly command: command.remote.Command;

    constructor(name: string, args: ServiceRollbackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("probability:rollback:ServiceRollback", name, {}, opts);
        this.image = pinnedImage(args.deployment);
        const script = rollbackPlan(args.deployment).apply(rollbackCommand);
        this.command = remoteCommand(name, args.deployment, script, { parent: this, dependsOn: args.after });
        this.registerOutputs({ image: this.image });
    }
}
