#!/usr/bin/env bash
# Push one extra release of a service to the sandbox registry, as the pipeline would:
# tags VERSION-SHA, VERSION, SHA and latest. up.sh deletes such extra releases again.
#   push-release.sh SERVICE YYYY.MM.N-SHA [--unhealthy | --slow-start SECONDS | --no-start] [--no-latest]
#   --unhealthy   container runs, its health path answers 500
#   --slow-start  container runs but serves nothing for SECONDS
#   --no-start    container exits at once (exit 1), so it restarts in a loop
#   --no-latest   do not move the registry's latest tag
set -euo pipefail
source "$(dirname "$0")/lib.sh"
usage() { sed -n '4,8s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "run as root"
take_lock "$0" "$@"
(( $# >= 2 )) || usage
svc=$1 version=$2 mode=normal slow=0 latest=yes
shift 2
[[ -v SERVICE_INFO[$svc] ]] || die "unknown service '$svc' (one of: ${SERVICES[*]})"
[[ $version =~ ^[0-9]{4}\.[0-9]{2}\.[0-9]+-[0-9a-f]{7}$ ]] || die "version must look like 2026.01.7-abc1234"
while (( $# )); do
  case $1 in
    --unhealthy) mode=unhealthy ;;
    --no-start) mode=no-start ;;
    --slow-start) [[ ${2:-} =~ ^[0-9]+$ ]] || usage; slow=$2; shift ;;
    --no-latest) latest=no ;;
    *) usage ;;
  esac
  shift
done
curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 || die "registry $REGISTRY is not up: run sandbox/up.sh"
push_release "$svc" "$version" "$mode" "$slow" "$latest"
