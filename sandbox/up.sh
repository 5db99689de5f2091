#!/usr/bin/env bash
# Start (or reset) the local "production server": registry, sshd, and the compose project
# running the newest release of every service. Idempotent; see README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root: sudo bash sandbox/up.sh"
take_lock "$0" "$@"
SECONDS=0

install_packages
configure_podman
start_registry
start_sshd
log "registry: checking baseline releases $RELEASE_MONTH.1 .. $RELEASE_MONTH.$RELEASE_COUNT"
for svc in "${SERVICES[@]}"; do reset_registry "$svc"; done
reset_server
wait_healthy
log "server: all services healthy through nginx on 127.0.0.1:$HTTP_PORT"

cat <<INFO

  ssh host:     $SSH_HOST
  ssh port:     $SSH_PORT
  ssh user:     $SSH_USER
  ssh key:      $SSH_KEY
  known_hosts:  $SSH_KNOWN_HOSTS
                $(cat "$SSH_KNOWN_HOSTS")
  compose dir:  $COMPOSE_DIR
  registry:     http://$REGISTRY  (repositories ${REPO_PREFIX}{backend,frontend,website,nginx})
  web:          http://127.0.0.1:$HTTP_PORT  (/api/v1/health /health /website/health /nginx-health)
  took:         ${SECONDS}s

  To point the local stack at it (needs the Pulumi CLI; the keys change only with down.sh --purge):
    pulumi config set -s local sshHostKey "$(cut -d' ' -f2- "$SSH_KNOWN_HOSTS")"
    pulumi config set -s local --secret sshPrivateKey < $SSH_KEY
INFO
