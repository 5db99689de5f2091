import * as pulumi from "@pulumi/pulumi";
import { parseSettings, Settings } from "./settings";

/** Reads and validates the stack's config; throws before any resource is registered. */
export function loadSettings(): { settings: Settings; privateKey: pulumi.Output<string> } {
    const config = new pulumi.Config();
    const settings = parseSettings((key) => {
        const [namespace, name] = key.includes(":") ? key.split(":") : [undefined, key];
        return new pulumi.Config(namespace).get(name);
    });
    return { settings, privateKey: config.requireSecret("sshPrivateKey") };
}
