#!/usr/bin/env bash
# aiormq's own test suite against a broker, with Debian's python3-aiormq, python3-pytest and our
# stand-in for aiomisc's pytest plugin (test/python/aiomisc_shim: Debian does not package aiomisc).
#
#   scripts/aiormq-suite.sh TESTS AMQP_URL [pytest arguments...]
#
# TESTS is a checkout of aiormq's tests: the folder holding tests/ (tests/conftest.py), or tests/
# itself. Take the tag matching Debian's aiormq (6.4.2 on bookworm), without aiormq's own package
# beside it, so Debian's is the one imported (the script prints which one it is):
#   git -C AIORMQ_GIT archive 6.4.2 tests | tar -x -C /tmp/aiormq-6.4.2
# Nothing of aiormq's is copied into this repository: the suite is run where it lies.
#
# The AMQPS tests: the suite makes its amqps URLs from AMQP_URL by changing the scheme only, so they
# reach TLS only when AMQP_URL names no port (plain 5672, TLS 5671 with the suite's tests/certs:
# server.pem, server.key, ca.pem). When AMQP_URL names a port, they are deselected
# (test/python/aiomisc_shim/aiormq_suite_tls.py) and the summary lists them.
#
# Environment: AIORMQ_SUITE_TIMEOUT (30 s: the seconds an async test may take, as aiormq's tox.ini).
# Prints pytest's summary (failures in short form); exits with pytest's status.
set -euo pipefail
# shellcheck source=lib/client-suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/client-suite.sh"

if [ $# -lt 2 ]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 64
fi
TESTS="$1"
URL="$2"
shift 2

ROOT="$(suite_root aiormq-suite "$TESTS" tests conftest.py)"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=/usr/bin/python3
suite_python aiormq-suite "aiormq, pamqp, yarl, pytest" "python3-aiormq python3-pytest"

ARGS=()
# An explicit port in the URL (after the host, before the path): the AMQPS ids cannot reach TLS.
if "$PYTHON" -c 'import sys, yarl; sys.exit(0 if yarl.URL(sys.argv[1]).explicit_port is not None else 1)' "$URL"; then
  echo "aiormq-suite: $URL names a port, so the suite's AMQPS tests (ids amqps, amqps-client, test_ssl_*) are deselected" >&2
  ARGS+=(--aiormq-skip-tls)
fi

cd "$ROOT"
# From $ROOT, as pytest will import it: a checkout with aiormq's package beside tests/ uses that one.
"$PYTHON" -c 'import aiormq, pamqp; print(f"aiormq-suite: aiormq {aiormq.__version__} ({aiormq.__file__}), pamqp {pamqp.__version__}")' >&2
export AMQP_URL="$URL"
export PYTHONPATH="$REPO/test/python/aiomisc_shim${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m pytest \
  -p aiomisc_pytest.pytest_plugin -p aiormq_suite_tls \
  -p no:cacheprovider -o log_cli=false -q -rfE \
  --aiomisc-test-timeout="${AIORMQ_SUITE_TIMEOUT:-30}" \
  "${ARGS[@]}" "$@" tests
