"""The part of aiomisc's pytest plugin that aiormq's and aio-pika's test suites use, written from what those tests
need (see ../README.md):

- an event loop per test (the `loop` fixture, autouse), set as the current loop and closed after
  the test; exceptions the loop reports to its exception handler during the test fail it, unless
  the test is marked `no_catch_loop_exceptions`;
- `async def` tests run to completion in that loop (`--aiomisc-test-timeout` seconds at most);
- `async def` fixtures and async generator fixtures run in that loop (set up before the test,
  torn down after it, while the loop is not running, so sync fixtures may use run_until_complete);
- `localhost` (the loopback address to listen on), `aiomisc_unused_port_factory` (a function giving
  a free port) and `tcp_proxy(host, port)`, a factory of `TCPProxy` (tcp_proxy.py).

Load it with `python3 -m pytest -p aiomisc_pytest.pytest_plugin` with this package's parent
folder on PYTHONPATH.
"""
import asyncio
import functools
import inspect
import logging
import socket
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from .tcp_proxy import TCPProxy

__all__ = ("TCPProxy",)

log = logging.getLogger("aiomisc_pytest")

LOOP_EXCEPTIONS_KEY = pytest.StashKey[List[Dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aiomisc", "aiomisc_pytest stand-in (Warren's test/python/aiomisc_shim)")
    group.addoption(
        "--aiomisc-test-timeout",
        type=float,
        default=None,
        help="seconds an async test may run before it fails with a timeout (default: no limit)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_catch_loop_exceptions: exceptions reported by the event loop do not fail the test")
    config.addinivalue_line("markers", "allow_get_event_loop: accepted for compatibility (this stand-in never forbids get_event_loop)")


@pytest.fixture(autouse=True)
def loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """A new event loop for each test, the current one while the test and its fixtures run."""
    event_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(event_loop)
    reported: List[Dict[str, Any]] = []
    catch = request.node.get_closest_marker("no_catch_loop_exceptions") is None
    if catch:
        def record(_loop: asyncio.AbstractEventLoop, context: Dict[str, Any]) -> None:
            reported.append(context)
            event_loop.default_exception_handler(context)

        event_loop.set_exception_handler(record)
    request.node.stash[LOOP_EXCEPTIONS_KEY] = reported
    try:
        yield event_loop
    finally:
        try:
            _cancel_leftover_tasks(event_loop)
            event_loop.run_until_complete(event_loop.shutdown_asyncgens())
            event_loop.run_until_complete(event_loop.shutdown_default_executor())
        finally:
            event_loop.close()
            asyncio.set_event_loop(None)


def _cancel_leftover_tasks(event_loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(event_loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        event_loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


@pytest.fixture
def localhost() -> str:
    """The loopback address test servers listen on."""
    return "127.0.0.1"


@pytest.fixture
def tcp_proxy(loop: asyncio.AbstractEventLoop, localhost: str) -> Callable[..., TCPProxy]:
    """`tcp_proxy(target_host, target_port)` gives a TCPProxy listening on `localhost`; use it with `async with`."""
    return functools.partial(TCPProxy, listen_host=localhost)


@pytest.fixture
def aiomisc_unused_port_factory(localhost: str) -> Callable[[], int]:
    """`aiomisc_unused_port_factory()` gives a TCP port free on `localhost` at the time of the call."""

    def unused_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((localhost, 0))
            return probe.getsockname()[1]

    return unused_port


def _loop_of(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoop:
    return request.getfixturevalue("loop")


def _async_generator_fixture(func: Callable[..., Any], request: pytest.FixtureRequest) -> Callable[..., Iterator[Any]]:
    def fixture(**kwargs: Any) -> Iterator[Any]:
        event_loop = _loop_of(request)
        generator = func(**kwargs)
        value = event_loop.run_until_complete(generator.__anext__())
        try:
            yield value
        finally:
            try:
                event_loop.run_until_complete(generator.__anext__())
            except StopAsyncIteration:
                pass
            else:
                raise RuntimeError(f"async fixture {func.__name__} yielded more than once")

    return fixture


def _coroutine_fixture(func: Callable[..., Any], request: pytest.FixtureRequest) -> Callable[..., Any]:
    def fixture(**kwargs: Any) -> Any:
        return _loop_of(request).run_until_complete(func(**kwargs))

    return fixture


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    """Runs async fixtures in the test's loop: their function is swapped for a sync one (a generator
    for async generators, so pytest tears them down) for the time pytest calls it."""
    original = fixturedef.func
    if inspect.isasyncgenfunction(original):
        fixturedef.func = _async_generator_fixture(original, request)
    elif inspect.iscoroutinefunction(original):
        fixturedef.func = _coroutine_fixture(original, request)
    else:
        yield
        return
    try:
        yield
    finally:
        fixturedef.func = original


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Optional[bool]:
    """Runs an `async def` test in its loop, with the timeout; fails it if the loop reported exceptions."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    event_loop = pyfuncitem.funcargs["loop"]
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    timeout = pyfuncitem.config.getoption("aiomisc_test_timeout")
    coroutine = pyfuncitem.obj(**arguments)
    if timeout:
        coroutine = asyncio.wait_for(coroutine, timeout)
    event_loop.run_until_complete(coroutine)
    reported = pyfuncitem.stash.get(LOOP_EXCEPTIONS_KEY, [])
    if reported:
        messages = "; ".join(_describe(context) for context in reported)
        pytest.fail(f"the event loop reported {len(reported)} unhandled exception(s): {messages}", pytrace=False)
    return True


def _describe(context: Dict[str, Any]) -> str:
    exception = context.get("exception")
    message = context.get("message", "")
    return f"{message} ({exception!r})" if exception is not None else message
