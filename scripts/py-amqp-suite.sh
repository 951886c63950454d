#!/usr/bin/env bash
# py-amqp's own integration tests against a broker, with Debian's python3-amqp and python3-pytest.
#
#   scripts/py-amqp-suite.sh TESTS HOST PORT [pytest arguments...]
#
# TESTS is a checkout of py-amqp's tests: the folder holding t/ (t/integration), or t/ itself. Take
# the tag matching Debian's python3-amqp (v5.1.1 on bookworm), without py-amqp's own package beside
# it, so Debian's is the one imported (the script prints which one it is):
#   git -C PY_AMQP_GIT archive v5.1.1 t | tar -x -C /tmp/py-amqp-5.1.1
# Nothing of py-amqp's is copied into this repository: the suite is run where it lies.
#
# Run: t/integration/test_rmq.py, the tests that talk to a broker (as guest/guest on vhost /; the
# suite reads the broker's address from RABBITMQ_HOST and RABBITMQ_5672_TCP, which the script sets).
# t/integration/test_integration.py talks to a mocked transport, not a broker: not run. Not run
# either (deselected with -k 'not tls'): the TLS variants (port 5671 with the suite's t/certs) and
# the two tests that connect to tls-v1-2.badssl.com (no network here).
# The suite's own settings (its setup.cfg, not in the archive): classes named test_* hold tests.
# Prints pytest's summary (failures in short form); exits with pytest's status.
set -euo pipefail
# shellcheck source=lib/client-suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/client-suite.sh"

if [ $# -lt 3 ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 64
fi
TESTS="$1"
HOST="$2"
PORT="$3"
shift 3

ROOT="$(suite_root py-amqp-suite "$TESTS" t integration/test_rmq.py)"
suite_port py-amqp-suite "$PORT"

PYTHON=/usr/bin/python3
suite_python py-amqp-suite "amqp, pytest" "python3-amqp python3-pytest"

cd "$ROOT"
"$PYTHON" -c 'import amqp; print(f"py-amqp-suite: amqp {amqp.__version__} ({amqp.__file__})")' >&2
export RABBITMQ_HOST="$HOST" RABBITMQ_5672_TCP="$PORT"
exec "$PYTHON" -m pytest \
  -p no:cacheprovider -q -rfE -W ignore::pytest.PytestUnknownMarkWarning -o 'python_classes=test_*' \
  -k 'not tls' "$@" t/integration/test_rmq.py
