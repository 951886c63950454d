#!/usr/bin/env bash
# aio-pika's own test suite against a broker, with Debian's python3-aio-pika, python3-shortuuid and
# python3-pytest and our stand-in for aiomisc (test/python/aiomisc_shim: its pytest plugin, and the
# `awaitable` and `timeout` helpers the suite imports; Debian does not package aiomisc).
#
#   scripts/aio-pika-suite.sh TESTS AMQP_URL [pytest arguments...]
#
# TESTS is a checkout of aio-pika's tests: the folder holding tests/ (tests/conftest.py), or tests/
# itself. Take the tag matching Debian's aio-pika (8.2.5 on bookworm), without aio-pika's own package
# beside it, so Debian's is the one imported (the script prints which one it is):
#   git -C AIO_PIKA_GIT archive 8.2.5 tests | tar -x -C /tmp/aio-pika-8.2.5
# Nothing of aio-pika's is copied into this repository: the suite is run where it lies.
#
# Not run: tests/test_amqps.py, which connects with TLS to port 5671 of AMQP_URL's host whatever
# AMQP_URL says. --aio-pika-tls, given first after AMQP_URL, runs it too (against a broker with TLS
# on 5671 whose certificate the system does not trust, as aiormq's tests/certs/server.pem); add
# `-k test_amqps` to run only it.
#
# Environment: AIO_PIKA_SUITE_TIMEOUT (30 s: the seconds an async test may take, as aio-pika's
# tox.ini), AIO_PIKA_SUITE_MEMORY_KB (4000000: the address space pytest may take, `ulimit -v`; one
# interrupted run of the reconnect tests once grew past 13 GB on this shared machine).
# Prints pytest's summary (failures in short form); exits with pytest's status.
set -euo pipefail
# shellcheck source=lib/client-suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/client-suite.sh"

if [ $# -lt 2 ]; then
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 64
fi
TESTS="$1"
URL="$2"
shift 2

ROOT="$(suite_root aio-pika-suite "$TESTS" tests conftest.py)"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=/usr/bin/python3
suite_python aio-pika-suite "aio_pika, aiormq, pamqp, yarl, shortuuid, pytest" "python3-aio-pika python3-shortuuid python3-pytest"

ARGS=()
if [ "${1:-}" = "--aio-pika-tls" ]; then
  shift
else
  echo "aio-pika-suite: tests/test_amqps.py (TLS on port 5671) is not run; --aio-pika-tls runs it" >&2
  ARGS+=(--ignore=tests/test_amqps.py)
fi

cd "$ROOT"
# From $ROOT, as pytest will import it: a checkout with aio-pika's package beside tests/ uses that one.
"$PYTHON" -c 'import aio_pika, aiormq; print(f"aio-pika-suite: aio-pika {aio_pika.__version__} ({aio_pika.__file__}), aiormq {aiormq.__version__}")' >&2
ulimit -v "${AIO_PIKA_SUITE_MEMORY_KB:-4000000}"
export AMQP_URL="$URL"
export PYTHONPATH="$REPO/test/python/aiomisc_shim${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m pytest \
  -p aiomisc_pytest.pytest_plugin -p no:asyncio \
  -p no:cacheprovider -o log_cli=false -q -rfE \
  --aiomisc-test-timeout="${AIO_PIKA_SUITE_TIMEOUT:-30}" \
  "${ARGS[@]}" "$@" tests
