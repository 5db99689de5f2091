import { ComposeSettings, HealthTiming, ServiceSettings } from "../config/settings";
import { assign, bashCommand, quote, quotePath } from "./shell";

/**
 * Everything one service's rollback script needs, resolved to plain values.
 * Built by the ServiceRollback component from settings and resource outputs.
 */
export interface RollbackPlan {
    stack: string;
    service: ServiceSettings;
    /** `<registry>/<repository>`, without tag. */
    imageRepository: string;
    /** The image to run, pinned by digest: `<imageRepository>@sha256:...`. */
    targetImage: string;
    /** Set for ECR: the server logs in with its own AWS credentials. */
    ecrLogin?: { region: string; registryHost: string };
    compose: ComposeSettings;
    health: HealthTiming;
    /** The proxy container to restart after the service changed; absent for the proxy itself. */
    proxyContainer?: string;
    limits: StepLimits;
}

/** Seconds each remote step may take before it is cut off. */
export interface StepLimits {
    lockWait: number;
    login: number;
    pull: number;
    podman: number;
    compose: number;
}

export const DEFAULT_LIMITS: StepLimits = { lockWait: 300, login: 60, pull: 600, podman: 60, compose: 180 };

/** The command @pulumi/command runs on the server for one service. */
export function rollbackCommand(plan: RollbackPlan): string {
    return bashCommand([
        "set -euo pipefail",
        `# Roll ${plan.service.name} to ${plan.service.version.tag} (stack ${plan.stack}).`,
        ...variables(plan),
        ...helpers(),
        ...recreateFunction(),
        ...restartProxyFunction(plan),
        ...switchFunction(),
        ...lockStep(),
        ...(plan.ecrLogin ? loginStep(plan.ecrLogin) : []),
        ...pullStep(),
        ...convergeStep(),
        ...switchStep(),
    ]);
}

/** Every value the script uses, quoted once, at the top where a diff shows it. */
export function variables(plan: RollbackPlan): string[] {
    const { service, compose, health, limits } = plan;
    return [
        assign("stack", plan.stack),
        assign("service", service.name),
        assign("version", service.version.tag),
        assign("container", service.container),
        assign("compose_service", service.composeService),
        assign("image_repository", plan.imageRepository),
        assign("target_image", plan.targetImage),
        `compose_dir=${quotePath(compose.dir)}`,
        assign("compose_file", compose.file),
        assign("health_url", service.healthUrl),
        `health_start_period=${health.startPeriodSeconds} health_interval=${health.intervalSeconds} health_timeout=${health.timeoutSeconds}`,
        `limit_lock=${limits.lockWait} limit_login=${limits.login} limit_pull=${limits.pull} limit_podman=${limits.podman} limit_compose=${limits.compose}`,
        // The lock and the audit trail sit next to the compose directory.
        `lock_file="$(dirname "$compose_dir")/.rollback.lock"`,
        `audit_log="$(dirname "$compose_dir")/rollback-audit.log"`,
    ];
}

/** Logging, bounded execution, health polling and the audit line. */
export function helpers(): string[] {
    return [
        `say() { printf '[%s] %s\\n' "$service" "$*"; }`,
        `fail() { printf '[%s] FAILED: %s\\n' "$service" "$*" >&2; exit 1; }`,
        "# bounded LIMIT CMD...: runs CMD, cut off after LIMIT seconds. CMD does not get the",
        "# lock's fd 9: podman would hand it to the container's conmon, which outlives this script.",
        "bounded() {",
        `  local limit=$1 status=0; shift`,
        `  timeout --kill-after=5 "$limit" "$@" 9>&- || status=$?`,
        `  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then say "timed out after \${limit}s: $*" >&2; fi`,
        `  return "$status"`,
        "}",
        `image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null; }`,
        `running_image() { podman container inspect --format '{{if .State.Running}}{{.Image}}{{end}}' "$container" 2>/dev/null || true; }`,
        "# release_tags ID: the image's tags in this repository but latest, or its short ID.",
        "release_tags() {",
        `  local tags`,
        `  tags=$(podman image inspect --format '{{range .RepoTags}}{{println .}}{{end}}' "$1" 2>/dev/null |`,
        `    awk -v p="$image_repository:" 'index($0, p) == 1 && substr($0, length(p) + 1) != "latest" { printf "%s%s", sep, substr($0, length(p) + 1); sep = " " }') || true`,
        `  printf '%s' "\${tags:-\${1:0:12}}"`,
        "}",
        "wait_healthy() {",
        `  sleep "$health_start_period"`,
        `  local deadline=$((SECONDS + health_timeout))`,
        `  until [ "$(running_image)" = "$1" ] && curl -fsS -o /dev/null --max-time 5 "$health_url"; do`,
        `    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi`,
        `    sleep "$health_interval"`,
        "  done",
        "}",
        "audit() {",
        `  printf '%s stack=%s service=%s from=%s to=%s outcome=%s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$stack" "$service" "$1" "$2" "$3" >>"$audit_log" || true`,
        "}",
    ];
}

/**
 * Recreates the container from the local `:latest` tag, as the runbook does for
 * backend, frontend and website. nginx goes the same way rather than the
 * runbook's `up -d --force-recreate --no-deps nginx`: podman-compose 1.0.3
 * still brings up `depends_on` services with --no-deps, and --force-recreate
 * then recreates all four containers (measured in the sandbox); after stop and
 * rm, `up` recreates nginx alone and only starts the others if they are down.
 * Steps are chained with && because bash ignores `set -e` inside a function
 * called from an `if`, and the caller decides what a failure means.
 */
export function recreateFunction(): string[] {
    return [
        "recreate() {",
        `  cd "$compose_dir" &&`,
        `  bounded "$limit_podman" podman stop --ignore "$container" >/dev/null &&`,
        `  bounded "$limit_podman" podman rm --ignore "$container" >/dev/null &&`,
        `  bounded "$limit_compose" podman-compose -f "$compose_file" up -d --no-deps "$compose_service"`,
        "}",
    ];
}

/** nginx resolves the services' addresses when it starts: restart it after one moved. */
export function restartProxyFunction(plan: RollbackPlan): string[] {
    const body = plan.proxyContainer ? `bounded "$limit_podman" podman restart ${quote(plan.proxyContainer)} >/dev/null` : ":";
    return [`restart_proxy() { ${body}; }`];
}

/**
 * One rollback at a time per host. flock's lock dies with its holder, so a
 * cancelled run never leaves the host locked.
 */
export function lockStep(): string[] {
    return [
        `exec 9>>"$lock_file"`,
        "if ! flock -n 9; then",
        `  say "waiting up to \${limit_lock}s for another rollback: $(cat "$lock_file.holder" 2>/dev/null || echo unknown)"`,
        `  flock -w "$limit_lock" 9 || fail "another rollback still holds $lock_file after \${limit_lock}s: $(cat "$lock_file.holder" 2>/dev/null || echo unknown); nothing was changed"`,
        "fi",
        `printf 'stack %s, service %s, pid %s, since %s\\n' "$stack" "$service" "$$" "$(date -u +%H:%M:%SZ)" >"$lock_file.holder"`,
    ];
}

/** The server logs in with its own AWS credentials: no token passes through Pulumi. */
export function loginStep(login: { region: string; registryHost: string }): string[] {
    return [
        `say "logging in to ${login.registryHost}"`,
        `aws ecr get-login-password --region ${quote(login.region)} | bounded "$limit_login" podman login --username AWS --password-stdin ${quote(login.registryHost)} >/dev/null \\`,
        `  || fail "could not log in to ${login.registryHost}: check the server's AWS credentials; nothing was changed"`,
    ];
}

export function pullStep(): string[] {
    return [
        `say "pulling $target_image"`,
        `if ! bounded "$limit_pull" podman pull --quiet "$target_image" >/dev/null; then`,
        `  fail "could not pull $target_image ($service $version): the tag is not in the registry or the registry is unreachable; nothing was changed, $container still runs $(release_tags "$(running_image)")"`,
        "fi",
        // Pulled by digest: tag it with its version too, so `podman images` and
        // the messages below name it as the runbook's pull by tag did.
        `podman tag "$target_image" "$image_repository:$version"`,
        `target_id=$(image_id "$target_image")`,
        `previous_id=$(running_image)`,
    ];
}

/** Already there: keep `:latest` on it and touch nothing else. */
export function convergeStep(): string[] {
    return [
        `if [ "$previous_id" = "$target_id" ]; then`,
        `  podman tag "$target_image" "$image_repository:latest"`,
        `  say "already running $version, nothing to do"`,
        "  exit 0",
        "fi",
    ];
}

/** Points `:latest` at IMAGE, recreates the container from it and waits until it is healthy. */
export function switchFunction(): string[] {
    return [
        "switch_to() {",
        `  podman tag "$1" "$image_repository:latest" && recreate && restart_proxy && wait_healthy "$1"`,
        "}",
    ];
}

/**
 * Health gate: the container must run the target image and the health URL
 * must answer in time. Otherwise the image that ran before is put back, and
 * the command fails so the stack keeps the old version as applied.
 */
export function switchStep(): string[] {
    return [
        `say "switching $container to $version, then waiting up to \${health_timeout}s for $health_url"`,
        `if switch_to "$target_id"; then`,
        `  audit "$(release_tags "$previous_id")" "$version $target_id" deployed`,
        `  say "running $version, healthy"`,
        "  exit 0",
        "fi",
        `if [ -z "$previous_id" ]; then`,
        `  audit none "$version $target_id" failed`,
        `  fail "$version did not become healthy within \${health_timeout}s and no earlier container existed to restore"`,
        "fi",
        `previous_tags=$(release_tags "$previous_id")`,
        `say "$version is not healthy, restoring $previous_tags"`,
        `if switch_to "$previous_id"; then`,
        `  audit "$version $target_id" "$previous_tags" reverted`,
        `  fail "$version did not become healthy within \${health_timeout}s; reverted: $container runs $previous_tags again and is healthy"`,
        "fi",
        `audit "$version $target_id" "$previous_tags" revert-unhealthy`,
        `fail "$version did not become healthy, and the restored $previous_tags is not healthy either: the service needs a person now"`,
    ];
}
