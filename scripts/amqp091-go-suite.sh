#!/usr/bin/env bash
# amqp091-go's own test suite (RabbitMQ's Go client: unit and integration tests) against a broker,
# with Debian's Go toolchain and Debian's copy of the client's source, offline.
#
#   scripts/amqp091-go-suite.sh AMQP_URL [go test arguments...]
#
# Needs: apt-get install -y golang-go golang-github-rabbitmq-amqp091-go-dev (the source, with its
# *_test.go files, lies in /usr/share/gocode/src/github.com/rabbitmq/amqp091-go; AMQP091_GO_SRC
# names another). The script copies it into a GOPATH in a temporary folder and runs
# `go test -tags integration` there with GO111MODULE=off and GOPROXY=off: its one dependency,
# go.uber.org/goleak, comes from Debian's /usr/share/gocode. Nothing of amqp091-go's is copied into
# this repository; the checkout in /usr/share is left as it is.
#
# The suite runs three tests only when the server's product is "RabbitMQ"
# (TestRabbitMQQueueTTLGet, TestRabbitMQQueueNackMultipleRequeue,
# TestIntegrationRecoverNotImplemented); on another server they pass without testing anything and
# leave their connection open, which goleak, checking at the end, then fails the run for. The copy
# is changed to run them when the product is "Warren" too.
#
# Environment: AMQP091_GO_SUITE_TIMEOUT (go test -timeout, 300s: RabbitMQ 3.10 takes about a
# minute, most of it TestChannelCounterShouldNotPanicIssue136's 80,000 channels), AMQP091_GO_SUITE_LOG
# (a file for go test -v's whole output). Prints the counts, each failing test, and go test's last
# lines; exits with go test's status.
set -euo pipefail

if [ $# -lt 1 ]; then
  sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
  exit 64
fi
URL="$1"
shift

SRC="${AMQP091_GO_SRC:-/usr/share/gocode/src/github.com/rabbitmq/amqp091-go}"
if ! command -v go >/dev/null; then
  echo "amqp091-go-suite: no go command (apt-get install -y golang-go golang-github-rabbitmq-amqp091-go-dev)" >&2
  exit 69
fi
if [ ! -f "$SRC/integration_test.go" ]; then
  echo "amqp091-go-suite: no amqp091-go source with its tests at $SRC (apt-get install -y golang-github-rabbitmq-amqp091-go-dev)" >&2
  exit 66
fi
# Debian's GOPATH: where go.uber.org/goleak is.
DEBIAN_GOPATH=/usr/share/gocode
if [ ! -d "$DEBIAN_GOPATH/src/go.uber.org/goleak" ]; then
  echo "amqp091-go-suite: go.uber.org/goleak is missing from $DEBIAN_GOPATH (it comes with golang-github-rabbitmq-amqp091-go-dev)" >&2
  exit 69
fi

WORK="$(mktemp -d /tmp/warren-amqp091-go-suite-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
PKG="$WORK/gopath/src/github.com/rabbitmq/amqp091-go"
mkdir -p "$(dirname "$PKG")"
cp -r "$SRC" "$PKG"
chmod -R u+w "$PKG"
# The three product-gated tests (see above): run them on Warren as on RabbitMQ.
sed -i -E 's/(server|product\.\(string\)) == "RabbitMQ"/(\1 == "RabbitMQ" || \1 == "Warren")/' "$PKG/integration_test.go"
if [ "$(grep -c '"Warren"' "$PKG/integration_test.go")" != 2 ]; then
  echo "amqp091-go-suite: expected two product checks in $SRC/integration_test.go; this version of the suite differs" >&2
  exit 65
fi

export GOPATH="$WORK/gopath:$DEBIAN_GOPATH" GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local
# The build cache: the user's when go has one, else a temporary one (a cold build takes seconds more).
if ! go env GOCACHE >/dev/null 2>&1 || [ -z "$(go env GOCACHE 2>/dev/null)" ] || [ "$(go env GOCACHE)" = off ]; then
  export GOCACHE="$WORK/gocache"
fi
export AMQP_URL="$URL"

version="$(dpkg-query -W -f '${Version}' golang-github-rabbitmq-amqp091-go-dev 2>/dev/null || echo unknown)"
echo "amqp091-go-suite: amqp091-go $version ($SRC), $(go version), AMQP_URL=$URL" >&2

LOG="$WORK/go-test.log"
cd "$PKG"
status=0
go test -v -count=1 -tags integration -timeout "${AMQP091_GO_SUITE_TIMEOUT:-300s}" "$@" . >"$LOG" 2>&1 || status=$?
if [ -n "${AMQP091_GO_SUITE_LOG:-}" ]; then cp "$LOG" "$AMQP091_GO_SUITE_LOG"; fi

passed="$(grep -c '^--- PASS' "$LOG" || true)"
failed="$(grep -c '^--- FAIL' "$LOG" || true)"
skipped="$(grep -c '^--- SKIP' "$LOG" || true)"
echo "amqp091-go-suite: $passed passed, $failed failed, $skipped skipped"
grep '^--- FAIL' "$LOG" || true
if [ "$status" != 0 ]; then
  # What failed the run besides the tests (goleak's check, a panic, a build error): its first lines.
  grep -n -m 5 -E '^(goleak|panic|# |FAIL|.*\.go:[0-9]+:.*(error|Error|expected|Expected))' "$LOG" || true
fi
tail -n 2 "$LOG"
exit "$status"
