#!/usr/bin/env bash
# Run the runbook's manual rollback commands over ssh against the sandbox (registry and
# compose dir substituted), check health through nginx after each, then reset with up.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root"
take_lock "$0" "$@"
LOG=$SANDBOX_STATE/check-runbook.log
: >"$LOG"
failed=0

# health_version SERVICE: the version that answers through nginx ("-" when none in 3s).
health_version() {
  curl -fsS -m 3 "http://127.0.0.1:$HTTP_PORT$(svc_field "$1" 4)" 2>/dev/null | jq -r .version 2>/dev/null || echo -
}

# expect SERVICE VERSION WHAT: poll up to 10s for VERSION ("-" = unreachable), print PASS/FAIL.
expect() {
  local got
  for _ in {1..20}; do got=$(health_version "$1"); [[ $got == "$2" ]] && break; sleep 0.5; done
  if [[ $got == "$2" ]]; then echo "PASS  $3"; else echo "FAIL  $3 (got $got)"; failed=1; fi
}

# rollback_script SERVICE VERSION [NGINX-STEP]: the runbook's commands for one service.
rollback_script() {
  local repo; repo=$(repo_of "$1")
  cat <<SCRIPT
set -e
VERSION_ROLLBACK="$2"
podman pull $repo:\${VERSION_ROLLBACK}
podman tag $repo:\${VERSION_ROLLBACK} $repo:latest
cd $COMPOSE_DIR
SCRIPT
  if [[ $1 == nginx ]]; then
    echo "podman-compose -f podman-compose.yaml up -d --force-recreate --no-deps nginx"
  else
    echo "podman stop $(svc_field "$1" 2)"
    echo "podman rm $(svc_field "$1" 2)"
    echo "podman-compose -f podman-compose.yaml up -d --no-deps $(svc_field "$1" 1)"
    echo "${3:-}"
  fi
  echo "podman logs --tail 50 $(svc_field "$1" 2)"
}

# rollback SERVICE VERSION NGINX-STEP: run the runbook's commands over ssh, as a client would.
rollback() {
  ssh_sandbox "$(rollback_script "$@")" >>"$LOG" 2>&1 || { echo "FAIL  $1 -> $2: runbook commands failed (see $LOG)"; failed=1; }
}
container_ids() { podman ps -q --no-trunc | sort; }

for svc in backend frontend website; do
  v=$(release_version "$svc" 4)
  rollback "$svc" "$v" "podman restart nginx_prod"
  expect "$svc" "$v" "$svc -> $v (stop, rm, up --no-deps, podman restart nginx_prod)"
done
before=$(container_ids)
v=$(release_version nginx 4)
rollback nginx "$v"
expect nginx "$v" "nginx -> $v (up -d --force-recreate --no-deps nginx)"
echo "      ...which recreated $(comm -23 <(echo "$before") <(container_ids) | wc -l) of the 4 containers"

v=$(release_version backend 3)
rollback backend "$v" ""   # no nginx restart: it still proxies to the old container's IP
expect backend - "backend -> $v without restarting nginx: unreachable through nginx"
ssh_sandbox "podman exec nginx_prod nginx -s reload" >>"$LOG" 2>&1
expect backend "$v" "backend -> $v after 'podman exec nginx_prod nginx -s reload'"

echo "network aliases of backend_prod: $(podman inspect backend_prod --format \
  '{{range $net, $s := .NetworkSettings.Networks}}{{$net}}={{$s.Aliases}}{{end}}')"
bash "$SANDBOX_SRC/up.sh" >/dev/null && echo "reset with up.sh"
exit "$failed"
