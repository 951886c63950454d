#!/usr/bin/env bash
# kombu's own integration tests for its pyamqp transport against a broker, with Debian's
# python3-kombu (and the python3-amqp it depends on) and python3-pytest.
#
#   scripts/kombu-suite.sh TESTS HOST PORT [pytest arguments...]
#
# TESTS is a checkout of kombu's tests: the folder holding t/ (t/integration), or t/ itself. Take the
# tag matching Debian's python3-kombu (v5.2.4 on bookworm), without kombu's own package beside it, so
# Debian's is the one imported (the script prints which one it is):
#   git -C KOMBU_GIT archive v5.2.4 t | tar -x -C /tmp/kombu-5.2.4
# Nothing of kombu's is copied into this repository: the suite is run where it lies.
#
# Run: t/integration/test_py_amqp.py (as guest/guest on vhost /; the suite reads the broker's address
# from RABBITMQ_HOST and RABBITMQ_5672_TCP, which the script sets). Its failover and failed-connect
# tests also dial localhost:12345, where nothing may listen. test_redis.py needs a Redis: not run.
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

ROOT="$(suite_root kombu-suite "$TESTS" t integration/test_py_amqp.py)"
suite_port kombu-suite "$PORT"

PYTHON=/usr/bin/python3
suite_python kombu-suite "kombu, amqp, pytest" "python3-kombu python3-pytest"

cd "$ROOT"
"$PYTHON" -c 'import kombu, amqp; print(f"kombu-suite: kombu {kombu.__version__} ({kombu.__file__}), amqp {amqp.__version__}")' >&2
export RABBITMQ_HOST="$HOST" RABBITMQ_5672_TCP="$PORT"
exec "$PYTHON" -m pytest \
  -p no:cacheprovider -q -rfE -W ignore::pytest.PytestUnknownMarkWarning -o 'python_classes=test_*' \
  "$@" t/integration/test_py_amqp.py
