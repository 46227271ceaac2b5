/**
 * The shell scripts inside the sandbox "trading service" images (busybox only). The service
 * validates its configuration file at start, logs like a Spring Boot app, and serves
 * /actuator/health and /actuator/info with busybox httpd on 127.0.0.1:$PORT (host networking).
 * Health is UP only when the configuration is valid and the build is not a broken one.
 */

/** `/app/start`: the container's command. PID 1 stays a shell so SIGTERM stops it at once. */
export const START_SCRIPT = `#!/bin/sh
PORT="\${PORT:-8080}"
VERSION="$(cat /app/VERSION)"
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $1 [trading-service] $2"; }
log INFO "Starting TradeMaster Trading Service v$VERSION on port $PORT"
status=UP
if ! problems="$(/app/validate-config /config/application.conf)"; then
  echo "$problems" | while read -r line; do log ERROR "Configuration validation failed: $line" >&2; done
  status=DOWN
fi
if [ -f /app/BROKEN ]; then
  while read -r line; do log ERROR "$line" >&2; done < /app/BROKEN
  status=DOWN
fi
mkdir -p /www/actuator
printf '{"status":"%s","version":"%s"}\\n' "$status" "$VERSION" > /www/actuator/health
printf '{"app":{"name":"trading-service","version":"%s"}}\\n' "$VERSION" > /www/actuator/info
httpd -f -p "127.0.0.1:$PORT" -h /www &
pid=$!
trap 'log INFO "Shutting down"; kill $pid; exit 0' TERM INT
log INFO "Started TradeMaster Trading Service v$VERSION (health $status)"
wait $pid
log ERROR "httpd exited with status $?"
exit 1
`;

/** `/app/validate-config [file]`: exit 0 and "config OK" when valid, else 1 and one line per problem. */
export const VALIDATE_CONFIG_SCRIPT = `#!/bin/sh
file="\${1:-/config/application.conf}"
if [ ! -r "$file" ]; then echo "cannot read $file"; exit 1; fi
fail=0
for key in trading.db.url trading.pricing.url trading.pool.size; do
  grep -q "^$key=." "$file" || { echo "missing $key in $file"; fail=1; }
done
size="$(sed -n 's/^trading.pool.size=//p' "$file")"
case "$size" in
  '') ;;
  *[!0-9]*) echo "trading.pool.size is not a number: $size"; fail=1 ;;
esac
[ "$fail" = 0 ] && echo "config OK: $file"
exit $fail
`;

/** The image's own configuration: valid. */
export const GOOD_CONFIG = `trading.db.url=postgres://trademaster@127.0.0.1:5432/trademaster_trading
trading.pricing.url=http://127.0.0.1:9090/prices
trading.pool.size=20
`;

/** A bad configuration push: an emptied key and a typo'd number. */
export const BROKEN_CONFIG = `trading.db.url=postgres://trademaster@127.0.0.1:5432/trademaster_trading
trading.pricing.url=
trading.pool.size=twenty
`;

/** What the broken build logs at start (it still answers, with health DOWN). */
export const BROKEN_BUILD_LOG = `Application run failed: org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'pricingEngine'
Caused by: java.lang.NullPointerException: Cannot invoke "MarketDataFeed.subscribe()" because "this.feed" is null
`;
