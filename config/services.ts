/**
 * The four production services, as the operators' runbook names them
 * (shared/runbook/rollback-calver.es.md). The order is the order in which
 * several rollbacks in one `pulumi up` are applied: one at a time, each after
 * the previous one succeeded (runbook note 4), nginx last because it fronts
 * the other three.
 */
export const SERVICE_NAMES = ["backend", "frontend", "website", "nginx"] as const;

export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServiceDefinition {
    name: ServiceName;
    /** ECR repository name. */
    repository: string;
    /** Service name in podman-compose.yaml. */
    composeService: string;
    /** container_name in podman-compose.yaml. */
    container: string;
    /** Stack config key holding the pinned version. */
    versionKey: string;
}

function define(name: ServiceName, composeService: string): ServiceDefinition {
    return {
        name,
        repository: `probability-${name}`,
        composeService,
        container: `${name}_prod`,
        versionKey: `${name}Version`,
    };
}

export const SERVICES: readonly ServiceDefinition[] = [
    define("backend", "back-central"),
    define("frontend", "front-central"),
    define("website", "front-website"),
    define("nginx", "nginx"),
];

/** The service every other service is reached through. */
export const PROXY_SERVICE: ServiceName = "nginx";
