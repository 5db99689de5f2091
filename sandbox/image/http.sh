#!/bin/sh
# One HTTP exchange on stdin/stdout, run by `nc -ll -e` per connection.
# (busybox httpd cannot map an extension-less path like /api/v1/health to a script,
# so it could not answer 500 there; this tiny handler can.)
read -r _ path _
cr=$(printf '\r')
while read -r line && [ "${line%"$cr"}" != "" ]; do :; done
path=${path%%\?*}
case "$path" in
  "$HEALTH_PATH") status=$HEALTH_STATUS type=application/json body=$HEALTH_JSON ;;
  /|/version) status=200 type=text/plain body="$SERVICE $APP_VERSION" ;;
  *) status=404 type=text/plain body="$SERVICE $APP_VERSION: not found: $path" ;;
esac
case "$status" in 200) reason=OK ;; 404) reason="Not Found" ;; *) reason="Internal Server Error" ;; esac
printf 'HTTP/1.0 %s %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nX-Service-Version: %s\r\nConnection: close\r\n\r\n%s\n' \
  "$status" "$reason" "$type" "$((${#body} + 1))" "$APP_VERSION" "$body"
