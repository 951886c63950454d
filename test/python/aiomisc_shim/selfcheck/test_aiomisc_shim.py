"""Checks of the aiomisc_pytest stand-in itself (run by test/aiomisc-shim.test.ts), so that a green run
of aiormq's suite means its tests ran: async tests and fixtures in a loop per test, failures
reported, loop exceptions and timeouts caught, a TCPProxy whose slowdown delays, whose content
processors change what passes and whose disconnect_all drops connections, and the aiomisc helpers
aio-pika's suite imports (awaitable, timeout)."""
import asyncio
import inspect
import socket
import time

import pytest

import aiomisc
from aiomisc_pytest.pytest_plugin import TCPProxy

pytest_plugins = ("pytester",)

events = []
loops = []


@pytest.fixture
async def coroutine_fixture(loop):
    await asyncio.sleep(0)
    return asyncio.get_running_loop()


@pytest.fixture
async def generator_fixture():
    events.append(("setup", asyncio.get_running_loop()))
    yield "value"
    await asyncio.sleep(0)
    events.append(("teardown", asyncio.get_running_loop()))


@pytest.fixture
def sync_fixture_using_the_loop(loop):
    future = loop.create_future()
    yield future
    # The loop is not running at teardown, as aiormq's FutureStore fixtures expect.
    loop.call_soon(future.set_result, "done")
    assert loop.run_until_complete(future) == "done"


async def test_async_test_runs_in_the_test_loop(loop, coroutine_fixture):
    assert asyncio.get_running_loop() is loop
    assert coroutine_fixture is loop
    assert asyncio.get_event_loop() is loop
    loops.append(loop)


async def test_async_generator_fixture_is_set_up_in_the_loop(loop, generator_fixture):
    assert generator_fixture == "value"
    assert events == [("setup", loop)]
    loops.append(loop)


async def test_async_generator_fixture_was_torn_down_in_its_loop():
    assert [kind for kind, _ in events] == ["setup", "teardown"]
    assert events[0][1] is events[1][1]


async def test_sync_fixture_may_run_the_loop_at_teardown(sync_fixture_using_the_loop):
    assert not sync_fixture_using_the_loop.done()


async def test_each_test_has_its_own_loop_closed_after_it(loop):
    assert len(loops) == 2 and loops[0] is not loops[1] and loop not in loops
    assert all(old.is_closed() for old in loops)


def test_localhost(localhost):
    assert localhost == "127.0.0.1"


async def _echo(reader, writer):
    """An echo server's connection: what the proxy tests send through the proxy comes back."""
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def test_tcp_proxy_forwards_and_slows_down(tcp_proxy, localhost):
    server = await asyncio.start_server(_echo, localhost, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with tcp_proxy(localhost, port) as proxy:
            assert isinstance(proxy, TCPProxy) and proxy.proxy_port
            reader, writer = await asyncio.open_connection("localhost", proxy.proxy_port)

            async def round_trip(payload):
                started = time.monotonic()
                writer.write(payload)
                assert await reader.readexactly(len(payload)) == payload
                return time.monotonic() - started

            assert await round_trip(b"fast") < 0.4
            with proxy.slowdown(read_delay=0.5, write_delay=0):
                assert await round_trip(b"slow read") >= 0.5
            with proxy.slowdown(read_delay=0, write_delay=0.5):
                assert await round_trip(b"slow write") >= 0.5
            assert await round_trip(b"fast again") < 0.4
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_tcp_proxy_processes_content_and_disconnects_all(tcp_proxy, localhost):
    server = await asyncio.start_server(_echo, localhost, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with tcp_proxy(localhost, port) as proxy:
            assert proxy.proxy_host == localhost
            reader, writer = await asyncio.open_connection(proxy.proxy_host, proxy.proxy_port)
            proxy.set_content_processors(lambda chunk: chunk.upper(), lambda chunk: chunk + b"!")
            writer.write(b"abc")
            assert await reader.readexactly(4) == b"ABC!"
            proxy.set_content_processors(None, None)
            writer.write(b"abc")
            assert await reader.readexactly(3) == b"abc"

            # Scheduled with call_soon as aio-pika's suite does, and awaited: both drop the connection.
            asyncio.get_running_loop().call_soon(proxy.disconnect_all)
            assert await asyncio.wait_for(reader.read(), 2) == b""
            writer.close()
            reader, writer = await asyncio.open_connection(proxy.proxy_host, proxy.proxy_port)
            writer.write(b"again")
            assert await reader.readexactly(5) == b"again"
            await proxy.disconnect_all()
            assert await asyncio.wait_for(reader.read(), 2) == b""
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_unused_port_factory(aiomisc_unused_port_factory, localhost):
    port = aiomisc_unused_port_factory()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((localhost, port))


async def test_aiomisc_awaitable_wraps_sync_and_async_functions():
    async def coroutine_function(value):
        await asyncio.sleep(0)
        return value * 2

    assert await aiomisc.awaitable(lambda value: value + 1)(1) == 2
    assert await aiomisc.awaitable(coroutine_function)(2) == 4


async def test_aiomisc_timeout_limits_a_call_and_keeps_the_signature():
    @aiomisc.timeout(0.1)
    async def slow(localhost, delay):
        await asyncio.sleep(delay)
        return localhost

    assert list(inspect.signature(slow).parameters) == ["localhost", "delay"]
    assert await slow("here", 0) == "here"
    with pytest.raises(asyncio.TimeoutError):
        await slow("here", 1)


SUITE = """
import asyncio
import inspect
import pytest

@pytest.fixture
async def broken_fixture():
    yield 1
    raise RuntimeError("teardown failed")

async def test_fails():
    await asyncio.sleep(0)
    assert 1 == 2

async def test_raises():
    raise ValueError("boom")

async def test_too_slow():
    await asyncio.sleep(5)

async def test_loop_exception(loop):
    loop.call_soon(lambda: 1 / 0)
    await asyncio.sleep(0.01)

@pytest.mark.no_catch_loop_exceptions
async def test_loop_exception_allowed(loop):
    loop.call_soon(lambda: 1 / 0)
    await asyncio.sleep(0.01)

async def test_fixture_teardown_error(broken_fixture):
    assert broken_fixture == 1

async def test_passes():
    await asyncio.sleep(0)
"""


def test_failures_are_reported(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "aiomisc_pytest.pytest_plugin", "--aiomisc-test-timeout=0.5")
    result.assert_outcomes(passed=3, failed=4, errors=1)
    result.stdout.fnmatch_lines(["the event loop reported 1 unhandled exception(s): *ZeroDivisionError*"])
    result.stdout.fnmatch_lines(["FAILED test_suite.py::test_loop_exception"])
    result.stdout.fnmatch_lines(["FAILED test_suite.py::test_too_slow - TimeoutError"])
    result.stdout.fnmatch_lines(["ERROR test_suite.py::test_fixture_teardown_error - RuntimeError: teardown failed"])
