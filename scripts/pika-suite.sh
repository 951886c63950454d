#!/usr/bin/env bash
# pika's own acceptance tests against a broker, with Debian's python3-pika and python3-pytest.
#
#   scripts/pika-suite.sh TESTS PORT [pytest arguments...]
#
# TESTS is a checkout of pika's tests: the folder holding tests/ (tests/acceptance). Take the tag
# matching Debian's pika (1.2.0 on bookworm), without pika's own package beside it, so Debian's is
# the one imported (the script prints which one it is):
#   git -C PIKA_GIT archive 1.2.0 tests | tar -x -C /tmp/pika-1.2.0
# The suite connects to 127.0.0.1 and localhost on port 5672, written into its files: the script
# runs a copy in a temporary folder with 5672 replaced by PORT (the checkout is left as it is).
# Nothing of pika's is copied into this repository.
#
# Run: tests/acceptance/blocking_adapter_test.py, async_adapter_tests.py (BlockingConnection,
# SelectConnection, asyncio), io_services_tests.py, and enforce_one_basicget_test.py when
# python3-mock is installed. twisted_adapter_tests.py needs nose, which Debian 12 no longer has.
# The TLS variants need PIKA_TEST_TLS and a broker with the suite's certificates on 5671: not run.
# Prints pytest's summary (failures in short form); exits with pytest's status.
set -euo pipefail
# shellcheck source=lib/client-suite.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/client-suite.sh"

if [ $# -lt 2 ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit 64
fi
TESTS="$1"
PORT="$2"
shift 2

ROOT="$(suite_root pika-suite "$TESTS" tests acceptance/blocking_adapter_test.py)"
suite_port pika-suite "$PORT"

PYTHON=/usr/bin/python3
suite_python pika-suite "pika, pytest" "python3-pika python3-pytest"

WORK="$(mktemp -d /tmp/warren-pika-suite-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
cp -r "$ROOT/tests" "$WORK/tests"
# Only the broker's port: the suite's own listeners (forward_server) pick free ports themselves.
find "$WORK/tests/acceptance" "$WORK/tests/base" -name '*.py' -exec sed -i "s/\b5672\b/$PORT/g" {} +

FILES=(tests/acceptance/blocking_adapter_test.py tests/acceptance/async_adapter_tests.py tests/acceptance/io_services_tests.py)
if "$PYTHON" -c 'import mock' 2>/dev/null; then
  FILES+=(tests/acceptance/enforce_one_basicget_test.py)
else
  echo "pika-suite: python3-mock is not installed: enforce_one_basicget_test.py is left out" >&2
fi

cd "$WORK"
"$PYTHON" -c 'import pika; print(f"pika-suite: pika {pika.__version__} ({pika.__file__}), broker port '"$PORT"'")' >&2
exec "$PYTHON" -m pytest -p no:cacheprovider -o log_cli=false -q -rfE "$@" "${FILES[@]}"
