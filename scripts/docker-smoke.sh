#!/usr/bin/env bash
# Builds Warren's image and checks it as a user would, on a machine with Docker (the test suite
# checks what can be checked without an engine: test/container.test.ts).
#
#   bash scripts/docker-smoke.sh             # build warren:smoke, check it, remove the container and volume
#   WARREN_IMAGE=warren:1.2.3 bash scripts/docker-smoke.sh --no-build   # check an image built elsewhere
#
# Checks: `--version` prints package.json's version; the container runs as uid 999 and becomes
# healthy; a pika round trip (and a persistent message) with the user from WARREN_DEFAULT_USER /
# WARREN_DEFAULT_PASS through the published port; the management API answers; `docker exec
# warrenctl` reaches the broker; `docker stop` (SIGTERM to PID 1) stops it gracefully, exit code 0,
# well before the grace period; after `docker start` the persistent message is still there (the volume).
# Needs docker and Debian's python3-pika (PYTHON=/usr/bin/python3 by default). Exits non-zero on
# the first failed check, naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${WARREN_IMAGE:-warren:smoke}"
PYTHON="${PYTHON:-/usr/bin/python3}"
NAME="warren-smoke-$$"
VOLUME="warren-smoke-data-$$"
USER_NAME=smoke
USER_PASS="smoke-$$-$RANDOM"
build=1
[ "${1:-}" = "--no-build" ] && build=0

say() { echo "docker-smoke: $*" >&2; }
fail() {
  say "FAILED: $*"
  docker logs --tail 30 "$NAME" >&2 2>&1 || true
  exit 1
}

command -v docker >/dev/null || { say "docker is not installed here"; exit 2; }
docker info >/dev/null 2>&1 || { say "no Docker engine answers here (docker info failed)"; exit 2; }
"$PYTHON" -c 'import pika' 2>/dev/null || { say "$PYTHON cannot import pika (apt-get install -y python3-pika)"; exit 2; }

cleanup() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm "$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

version="$(node -p 'require("./package.json").version' 2>/dev/null || sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)"
if [ "$build" = 1 ]; then
  say "building $IMAGE"
  docker build -t "$IMAGE" .
fi

got="$(docker run --rm "$IMAGE" --version)"
[ "$got" = "$version" ] || fail "--version printed '$got', package.json says '$version'"
say "--version: $got"

docker run -d --name "$NAME" -v "$VOLUME:/var/lib/warren" \
  -p 127.0.0.1::5672 -p 127.0.0.1::15672 \
  -e WARREN_DEFAULT_USER="$USER_NAME" -e WARREN_DEFAULT_PASS="$USER_PASS" \
  --health-interval 2s --health-start-period 60s "$IMAGE" >/dev/null

wait_healthy() {
  for _ in $(seq 1 90); do
    case "$(docker inspect -f '{{.State.Health.Status}}' "$NAME")" in
      healthy) return 0 ;;
      unhealthy) fail "the health check reports unhealthy" ;;
    esac
    [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" = true ] || fail "the container exited"
    sleep 1
  done
  fail "not healthy within 90 s"
}
wait_healthy
say "healthy"

uid="$(docker exec "$NAME" id -u)"
[ "$uid" = 999 ] || fail "the broker runs as uid $uid, not 999"

ports() {
  AMQP_PORT="$(docker port "$NAME" 5672/tcp | head -n1 | sed 's/.*://')"
  HTTP_PORT="$(docker port "$NAME" 15672/tcp | head -n1 | sed 's/.*://')"
}
ports

pika_run() {
  "$PYTHON" - "$AMQP_PORT" "$USER_NAME" "$USER_PASS" "$1" <<'PY'
import sys, pika
port, user, password, step = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
params = pika.ConnectionParameters("127.0.0.1", port, "/", pika.PlainCredentials(user, password))
connection = pika.BlockingConnection(params)
channel = connection.channel()
if step == "before":
    channel.queue_declare("smoke", durable=True)
    channel.confirm_delivery()
    channel.basic_publish("", "smoke", b"round trip")
    method, _, body = channel.basic_get("smoke", auto_ack=True)
    assert body == b"round trip", body
    channel.basic_publish("", "smoke", b"kept", pika.BasicProperties(delivery_mode=2))
else:
    method, _, body = channel.basic_get("smoke", auto_ack=True)
    assert body == b"kept", body
connection.close()
print("pika ok:", step)
PY
}
pika_run before || fail "pika round trip"

"$PYTHON" - "$HTTP_PORT" "$USER_NAME" "$USER_PASS" "$version" <<'PY' || fail "management API"
import base64, json, sys, urllib.request
port, user, password, version = sys.argv[1:5]
request = urllib.request.Request(f"http://127.0.0.1:{port}/api/overview")
request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
overview = json.load(urllib.request.urlopen(request, timeout=10))
assert overview["product_version"] == version, overview["product_version"]
print("management API ok:", overview["product_name"], overview["product_version"])
PY

docker exec "$NAME" warrenctl list_queues name messages | grep -q "^smoke"$'\t'"1$" || fail "docker exec warrenctl list_queues does not show queue smoke with 1 message"
say "warrenctl in the container ok"

started=$(date +%s)
docker stop -t 30 "$NAME" >/dev/null
took=$(($(date +%s) - started))
code="$(docker inspect -f '{{.State.ExitCode}}' "$NAME")"
[ "$code" = 0 ] || fail "docker stop: exit code $code (137 is SIGKILL: SIGTERM was not handled)"
[ "$took" -lt 20 ] || fail "docker stop took $took s"
docker logs "$NAME" 2>/dev/null | grep -q '"event":"broker.stopped"' || fail "no broker.stopped line after docker stop"
say "docker stop: graceful, exit code 0, ${took} s"

docker start "$NAME" >/dev/null
wait_healthy
ports
pika_run after || fail "the persistent message did not survive docker stop / start"
say "OK: $IMAGE"
