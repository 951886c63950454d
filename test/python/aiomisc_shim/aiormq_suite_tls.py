"""A pytest plugin for scripts/aiormq-suite.sh, not part of the aiomisc stand-in: with
--aiormq-skip-tls it deselects the tests of aiormq's suite that need AMQPS.

The suite builds its AMQPS URLs from AMQP_URL by changing only the scheme, so they reach a TLS
listener only when AMQP_URL names no port (plain on 5672, TLS on 5671 with the suite's
tests/certs). With any other port they cannot pass on any broker, so they are left out, and the
summary says how many and which.
"""
from collections import Counter
from typing import List

import pytest

# Tests that open AMQPS connections of their own (not through the amqp_url fixture).
TLS_TESTS = ("test_ssl_verification_fails_without_trusted_ca", "test_ssl_context")

_deselected: List[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--aiormq-skip-tls",
        action="store_true",
        default=False,
        help="deselect aiormq's tests that need AMQPS (the amqps, amqps-client ids and the ssl tests)",
    )


def pytest_report_header(config: pytest.Config) -> List[str]:
    import aiormq
    import pamqp

    return [f"aiormq {aiormq.__version__} ({aiormq.__file__}), pamqp {pamqp.__version__}"]


def _needs_tls(item: pytest.Item) -> bool:
    if getattr(item, "originalname", item.name) in TLS_TESTS:
        return True
    callspec = getattr(item, "callspec", None)
    url = callspec.params.get("amqp_url") if callspec is not None else None
    return getattr(url, "scheme", None) == "amqps"


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if not config.getoption("aiormq_skip_tls"):
        return
    kept = [item for item in items if not _needs_tls(item)]
    dropped = [item for item in items if _needs_tls(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        _deselected.extend(f"{item.path.name}::{getattr(item, 'originalname', item.name)}" for item in dropped)


def pytest_terminal_summary(terminalreporter: "pytest.TerminalReporter") -> None:
    if not _deselected:
        return
    terminalreporter.write_sep("-", f"{len(_deselected)} AMQPS tests deselected (--aiormq-skip-tls)")
    terminalreporter.write_line(
        "aiormq's suite makes its amqps URLs from AMQP_URL with only the scheme changed, so they "
        "reach TLS only when AMQP_URL has no port (5672 plain, 5671 TLS with tests/certs)."
    )
    for test, count in Counter(_deselected).items():
        terminalreporter.write_line(f"  {test} ({count})")
