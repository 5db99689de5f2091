#!/bin/sh
# nginx cannot read env vars, so write its health location from the release's ENV.
cat >/etc/nginx/health.conf <<CONF
location = /nginx-health {
  default_type application/json;
  add_header X-Service-Version "$APP_VERSION" always;
  return $HEALTH_STATUS '$HEALTH_JSON\n';
}
CONF
exec nginx -g 'daemon off;'
