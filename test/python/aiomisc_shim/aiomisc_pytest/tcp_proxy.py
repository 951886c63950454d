"""A TCP proxy between a client and a server whose two directions can be slowed down, for tests of
what a client does when the server (or the network) is slow."""
import asyncio
import contextlib
from typing import Callable, Iterator, Optional, Set

ContentProcessor = Callable[[bytes], bytes]

CHUNK_SIZE = 65536


class TCPProxy:
    """Listens on `listen_host` (a free port unless `listen_port` is given, read it from
    `proxy_port` once started) and forwards each connection to `target_host:target_port`.

    Used as `async with TCPProxy(host, port) as proxy:`. `proxy.slowdown(read_delay=,
    write_delay=)` holds each chunk that long before passing it on: read_delay for what the server
    sends (what the client reads), write_delay for what the client sends. Chunks stay in order, so a
    chunk that arrives after the slowdown ended still waits for the ones held before it.

    `proxy.set_content_processors(client_to_server, server_to_client)` passes each chunk through a
    function (None: unchanged) before forwarding it. `proxy.disconnect_all()` drops every proxied
    connection while the proxy keeps listening, as a network failure would; it returns a future, so
    it can be awaited or scheduled with `loop.call_soon`.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.proxy_port: Optional[int] = None
        self.read_delay = 0.0
        self.write_delay = 0.0
        self.client_to_server: Optional[ContentProcessor] = None
        self.server_to_client: Optional[ContentProcessor] = None
        self._server: Optional[asyncio.AbstractServer] = None
        self._tasks: Set[asyncio.Task] = set()
        self._writers: Set[asyncio.StreamWriter] = set()

    async def start(self) -> "TCPProxy":
        self._server = await asyncio.start_server(self._on_client, self.listen_host, self.listen_port)
        self.proxy_port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def proxy_host(self) -> str:
        """The address the proxy listens on."""
        return self.listen_host

    async def close(self) -> None:
        """Stops listening and drops every proxied connection."""
        if self._server is not None:
            self._server.close()
        await self.disconnect_all()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "TCPProxy":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def disconnect_all(self) -> "asyncio.Future[list]":
        """Drops every proxied connection (new ones are still accepted); the future is done once
        their forwarding tasks have ended."""
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        return asyncio.gather(*self._tasks, return_exceptions=True)

    def set_content_processors(
        self,
        client_to_server: Optional[ContentProcessor],
        server_to_client: Optional[ContentProcessor],
    ) -> None:
        """Sets the functions each chunk passes through before it is forwarded (None: unchanged)."""
        self.client_to_server = client_to_server
        self.server_to_client = server_to_client

    @contextlib.contextmanager
    def slowdown(self, read_delay: float = 0, write_delay: float = 0) -> Iterator["TCPProxy"]:
        """Delays both directions for the duration of the `with` block, then restores the previous delays."""
        previous = (self.read_delay, self.write_delay)
        self.read_delay, self.write_delay = read_delay, write_delay
        try:
            yield self
        finally:
            self.read_delay, self.write_delay = previous

    async def _on_client(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._track(asyncio.current_task())
        self._writers.add(client_writer)
        try:
            server_reader, server_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_writer.close()
            self._writers.discard(client_writer)
            return
        self._writers.add(server_writer)
        upstream = asyncio.ensure_future(self._pipe(client_reader, server_writer, "write_delay", "client_to_server"))
        downstream = asyncio.ensure_future(self._pipe(server_reader, client_writer, "read_delay", "server_to_client"))
        self._track(upstream)
        self._track(downstream)
        # When one side hangs up, hang up the other.
        await asyncio.wait([upstream, downstream], return_when=asyncio.FIRST_COMPLETED)
        for writer in (client_writer, server_writer):
            writer.close()
            self._writers.discard(writer)
        upstream.cancel()
        downstream.cancel()
        await asyncio.gather(upstream, downstream, return_exceptions=True)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_name: str, processor_name: str
    ) -> None:
        try:
            while True:
                data = await reader.read(CHUNK_SIZE)
                if not data:
                    break
                delay = getattr(self, delay_name)
                if delay > 0:
                    await asyncio.sleep(delay)
                processor = getattr(self, processor_name)
                if processor is not None:
                    data = processor(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    def _track(self, task: Optional[asyncio.Task]) -> None:
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
