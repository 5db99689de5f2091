#!/bin/sh
# shellcheck disable=SC2089,SC2090  # HEALTH_JSON's quotes are JSON, meant literally
# Entry point of every sandbox image. A release's behaviour is in its image ENV:
#   SERVICE, APP_VERSION, RELEASE_MODE (normal|unhealthy|no-start), SLOW_START (seconds).
if [ "$RELEASE_MODE" = no-start ]; then
  echo "$SERVICE $APP_VERSION: broken release, exiting at start" >&2
  exit 1
fi
if [ "${SLOW_START:-0}" -gt 0 ]; then
  echo "$SERVICE $APP_VERSION: slow start, serving in ${SLOW_START}s"
  sleep "$SLOW_START"
fi
HEALTH_STATUS=200 HEALTH_STATE=ok
if [ "$RELEASE_MODE" = unhealthy ]; then HEALTH_STATUS=500 HEALTH_STATE=error; fi
HEALTH_JSON="{\"status\":\"$HEALTH_STATE\",\"service\":\"$SERVICE\",\"version\":\"$APP_VERSION\"}"
export HEALTH_STATUS HEALTH_JSON
echo "$SERVICE $APP_VERSION starting: $*"
# Run the server as a child: as PID 1 it would ignore SIGTERM and `podman stop` would wait 10s.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
wait "$child"
