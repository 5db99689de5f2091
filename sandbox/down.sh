#!/usr/bin/env bash
# Stop the sandbox: containers, compose network, sshd, registry. Keeps the apt packages,
# the registry data and the built images so the next up.sh is fast.
# --purge also deletes the state dir (keys, registry data, CI images) and the local images.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root: sudo bash sandbox/down.sh"
[[ ${1:-} == "" || $1 == --purge ]] || die "usage: down.sh [--purge]"
take_lock "$0" "$@"

if command -v podman >/dev/null; then
  for svc in "${SERVICES[@]}"; do
    container=$(svc_field "$svc" 2)
    if podman container exists "$container"; then podman rm -f "$container" >/dev/null; log "server: removed $container"; fi
  done
  remove_extra_containers
  if podman network exists compose-prod_default; then
    podman network rm -f compose-prod_default >/dev/null; log "server: removed network compose-prod_default"
  fi
fi
stop_pid sshd "$SSHD_PID"
stop_pid registry "$REGISTRY_PID"

if [[ ${1:-} == --purge ]]; then
  command -v podman >/dev/null && remove_local_images
  rm -rf "$SANDBOX_STATE"
  log "purged $SANDBOX_STATE and the local images"
fi

for port in "$SSH_PORT" "${REGISTRY##*:}" "$HTTP_PORT"; do
  ss -Hltn "sport = :$port" | grep -q . && die "port $port is still in use"
done
log "down: ports $SSH_PORT, ${REGISTRY##*:}, $HTTP_PORT are free"
