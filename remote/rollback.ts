import { ComposeSettings, ServiceSettings } from "../config/settings";
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
    /** The proxy container to reload after the service changed; absent for the proxy itself. */
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
        ...recoverStep(),
        ...(plan.ecrLogin ? loginStep(plan.ecrLogin) : []),
        ...pullStep(),
        ...inspectStep(),
        ...convergeStep(),
        ...switchStep(),
    ]);
}

/**
 * Pulls the service's image ahead of the rollouts. Pulls of several services
 * run in parallel and need no host lock; every rollout waits for all of them,
 * so no container is recreated while an image is still downloading.
 */
export function prefetchCommand(plan: RollbackPlan): string {
    return bashCommand([
        "set -euo pipefail",
        `# Pull ${plan.service.name} ${plan.service.version.tag} before any container changes (stack ${plan.stack}).`,
        ...imageVariables(plan),
        `limit_login=${plan.limits.login} limit_pull=${plan.limits.pull}`,
        ...helpers(),
        ...(plan.ecrLogin ? loginStep(plan.ecrLogin) : []),
        ...pullStep(),
    ]);
}

/** What identifies the image: all a pull needs, so nothing else re-runs it. */
function imageVariables(plan: RollbackPlan): string[] {
    return [
        assign("stack", plan.stack),
        assign("service", plan.service.name),
        assign("version", plan.service.version.tag),
        assign("image_repository", plan.imageRepository),
        assign("target_image", plan.targetImage),
    ];
}

/** Every value the script uses, quoted once, at the top where a diff shows it. */
export function variables(plan: RollbackPlan): string[] {
    const { service, compose, limits } = plan;
    const { health } = service;
    return [
        ...imageVariables(plan),
        assign("container", service.container),
        assign("compose_service", service.composeService),
        `compose_dir=${quotePath(compose.dir)}`,
        assign("compose_file", compose.file),
        assign("health_url", service.healthUrl),
        // Empty: no direct check, so the old container stops before the new one starts (runbook order).
        `container_health_port=${service.containerHealth?.port ?? ""} container_health_path=${quote(service.containerHealth?.path ?? "")}`,
        `health_start_period=${health.startPeriodSeconds} health_interval=${health.intervalSeconds} health_timeout=${health.timeoutSeconds}`,
        `limit_lock=${limits.lockWait} limit_login=${limits.login} limit_pull=${limits.pull} limit_podman=${limits.podman} limit_compose=${limits.compose}`,
        // The lock and the audit trail sit next to the compose directory.
        `lock_file="$(dirname "$compose_dir")/.rollback.lock"`,
        `audit_log="$(dirname "$compose_dir")/rollback-audit.log"`,
        // podman-compose prints each `podman run` with the service's environment:
        // it goes to a log on the server, never into Pulumi's output or state.
        `compose_log="$(dirname "$compose_dir")/rollback-compose.log"`,
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
        "# release_tag IMAGE_ID: the image's most precise release tag in this repository, or none.",
        "release_tag() {",
        `  podman image inspect --format '{{range .RepoTags}}{{println .}}{{end}}' "$1" 2>/dev/null |`,
        `    awk -v p="$image_repository:" 'index($0, p) == 1 { t = substr($0, length(p) + 1); if (t != "latest" && length(t) > length(best)) best = t }`,
        `      END { print (best == "" ? "none" : best) }'`,
        "}",
        "# repo_digest IMAGE_ID: the image's digest in this repository, or none.",
        "repo_digest() {",
        `  podman image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$1" 2>/dev/null |`,
        `    awk -v p="$image_repository@" 'index($0, p) == 1 { d = substr($0, length(p) + 1) } END { print (d == "" ? "none" : d) }'`,
        "}",
        "wait_healthy() {",
        `  sleep "$health_start_period"`,
        `  local deadline=$((SECONDS + health_timeout))`,
        `  until [ "$(running_image)" = "$1" ] && curl --globoff -fsS -o /dev/null --max-time 5 "$health_url"; do`,
        `    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi`,
        `    sleep "$health_interval"`,
        "  done",
        "}",
        "# wait_ready NAME IMAGE_ID: the container runs the image and answers on its own address.",
        "wait_ready() {",
        `  local deadline=$((SECONDS + health_timeout)) ip`,
        `  until [ "$(podman container inspect --format '{{if .State.Running}}{{.Image}}{{end}}' "$1" 2>/dev/null)" = "$2" ] &&`,
        `    ip=$(podman container inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{ print $1 }') &&`,
        `    curl --globoff -fsS -o /dev/null --max-time 5 "http://$ip:$container_health_port$container_health_path"; do`,
        `    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi`,
        `    sleep "$health_interval"`,
        "  done",
        "}",
        "# audit OUTCOME FROM_IMAGE_ID TO_IMAGE_ID: one key=value line per deploy or revert.",
        "audit() {",
        `  printf '%s stack=%s service=%s outcome=%s from=%s from_digest=%s to=%s to_digest=%s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \\`,
        `    "$stack" "$service" "$1" "$(release_tag "$2")" "$(repo_digest "$2")" "$(release_tag "$3")" "$(repo_digest "$3")" >>"$audit_log" || true`,
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
        `  compose_up`,
        "}",
        "compose_up() {",
        `  bounded "$limit_compose" podman-compose -f "$compose_file" up -d --no-deps "$compose_service" >>"$compose_log" 2>&1 ||`,
        `    { say "podman-compose failed, see $compose_log" >&2; return 1; }`,
        "}",
    ];
}

/**
 * nginx resolves the services' addresses when it (re)loads its config. A
 * graceful reload keeps serving every service while it re-resolves; the
 * runbook's restart drops all four for a moment. Just after a container is
 * recreated, podman's DNS can briefly miss a name and nginx then refuses the
 * reload (measured in the sandbox), so it is tried a few times; restart only
 * if it keeps failing.
 */
export function restartProxyFunction(plan: RollbackPlan): string[] {
    if (!plan.proxyContainer) {
        return [`restart_proxy() { :; }`];
    }
    const proxy = quote(plan.proxyContainer);
    return [
        "restart_proxy() {",
        "  local attempt",
        "  for attempt in 1 2 3 4 5; do",
        `    if bounded "$limit_podman" podman exec ${proxy} nginx -s reload >/dev/null 2>&1; then return 0; fi`,
        "    sleep 1",
        "  done",
        `  say "nginx did not reload, restarting ${plan.proxyContainer}"`,
        `  bounded "$limit_podman" podman restart ${proxy} >/dev/null`,
        "}",
    ];
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
        `bounded "$limit_login" aws ecr get-login-password --region ${quote(login.region)} | bounded "$limit_login" podman login --username AWS --password-stdin ${quote(login.registryHost)} >/dev/null \\`,
        `  || fail "could not log in to ${login.registryHost}: check the server's AWS credentials; nothing was changed"`,
    ];
}

export function pullStep(): string[] {
    return [
        `say "pulling $target_image"`,
        `if ! bounded "$limit_pull" podman pull --quiet "$target_image" >/dev/null; then`,
        `  fail "could not pull $target_image ($service $version): the tag is not in the registry or the registry is unreachable; nothing was changed"`,
        "fi",
        // Pulled by digest: tag it with its version too, so `podman images` and
        // the messages below name it as the runbook's pull by tag did.
        `podman tag "$target_image" "$image_repository:$version"`,
    ];
}

/** What runs now, and what should. */
export function inspectStep(): string[] {
    return [`target_id=$(image_id "$target_image")`, `previous_id=$(running_image)`];
}

/**
 * Already there: keep `:latest` on it and touch nothing else, but only call it
 * done when it is healthy (an earlier run may have been cut off before its gate).
 */
export function convergeStep(): string[] {
    return [
        `if [ "$previous_id" = "$target_id" ]; then`,
        `  podman tag "$target_image" "$image_repository:latest"`,
        `  wait_healthy "$target_id" || fail "already running $version, but it is not healthy within \${health_timeout}s; nothing was changed"`,
        `  say "already running $version, healthy, nothing to do"`,
        "  exit 0",
        "fi",
    ];
}

/**
 * A run cut off in the middle of a side-by-side switch leaves the old
 * container as `<container>-previous`: keep whichever one serves under the
 * real name, and let nginx forget the other.
 */
export function recoverStep(): string[] {
    return [
        `if podman container exists "$container-previous"; then`,
        `  if [ -n "$(running_image)" ]; then`,
        `    say "removing $container-previous, left by an interrupted run"`,
        `    bounded "$limit_podman" podman rm --force "$container-previous" >/dev/null`,
        "  else",
        `    say "restoring $container from $container-previous, left by an interrupted run"`,
        `    podman rm --force --ignore "$container" >/dev/null && podman rename "$container-previous" "$container" &&`,
        `    bounded "$limit_podman" podman start "$container" >/dev/null`,
        "  fi",
        "  restart_proxy",
        "fi",
    ];
}

/**
 * Points `:latest` at IMAGE and moves the service to it, then waits until it
 * is healthy where users reach it. With a direct container check, the new
 * container starts beside the old one (renamed, still serving under the same
 * compose service name) and traffic moves only once it answers: nginx, reloaded
 * while both run, fails over from the old one as it stops. Without one, the
 * runbook's order: stop, remove, start.
 */
export function switchFunction(): string[] {
    return [
        "switch_to() {",
        `  podman tag "$1" "$image_repository:latest" || return 1`,
        `  if [ -z "$container_health_port" ] || [ -z "$(running_image)" ]; then`,
        `    recreate && restart_proxy && wait_healthy "$1"`,
        "    return",
        "  fi",
        `  local old="$container-previous"`,
        `  podman rm --force --ignore "$old" >/dev/null 2>&1; podman rename "$container" "$old" || return 1`,
        `  if ! { cd "$compose_dir" && compose_up && wait_ready "$container" "$1"; }; then`,
        `    say "the new container is not ready; the running one kept serving"`,
        `    podman rm --force --ignore "$container" >/dev/null; podman rename "$old" "$container"`,
        "    return 1",
        "  fi",
        `  restart_proxy && bounded "$limit_podman" podman stop "$old" >/dev/null && restart_proxy &&`,
        `  podman rm --ignore "$old" >/dev/null && wait_healthy "$1"`,
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
        `  audit deployed "$previous_id" "$target_id"`,
        `  say "running $version, healthy"`,
        "  exit 0",
        "fi",
        `if [ -z "$previous_id" ]; then`,
        `  audit failed "" "$target_id"`,
        `  fail "$version did not become healthy within \${health_timeout}s and no earlier container existed to restore"`,
        "fi",
        `previous=$(release_tag "$previous_id")`,
        `say "$version is not healthy, restoring $previous"`,
        `if [ "$(running_image)" = "$previous_id" ] && podman tag "$previous_id" "$image_repository:latest" && wait_healthy "$previous_id" || switch_to "$previous_id"; then`,
        `  audit reverted "$target_id" "$previous_id"`,
        `  fail "$version did not become healthy within \${health_timeout}s; reverted: $container runs $previous again and is healthy"`,
        "fi",
        `audit revert-unhealthy "$target_id" "$previous_id"`,
        `fail "$version did not become healthy, and the restored $previous is not healthy either: the service needs a person now"`,
    ];
}
