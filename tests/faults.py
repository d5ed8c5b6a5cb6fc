"""Faults on demand for tests: a TCP proxy that can cut or black-hole MariaDB or Redis, and a
redis-server of the test's own, so a test breaks the network, never the shared servers."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.conftest import service_missing


class Mode(enum.Enum):
    PASS = "pass"  # bytes flow both ways
    CUT = "cut"  # every connection closed, new ones refused: the server is down
    BLACK_HOLE = "black hole"  # connections accepted, nothing ever answered: a lost network


class TCPProxy:
    """Listens on 127.0.0.1:`port` and forwards each connection to `target_host`:`target_port`.

    CUT closes every connection and stops listening, so a client gets "connection refused" as from
    a stopped server. BLACK_HOLE keeps listening and accepting, and drops every byte both ways, as a
    partitioned network does: a client waits until its own timeout. Connections that lived through
    a black hole are closed when it ends (their streams lost bytes), so they never desync a client.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.mode = Mode.PASS
        self.accepted = 0  # connections accepted in every mode
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        # port 0 the first time; the same port again after a cut, as a restarted server would
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def set_mode(self, mode: Mode) -> None:
        previous, self.mode = self.mode, mode
        if mode is Mode.CUT:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
            self._close_all()
        elif previous is Mode.CUT:
            await self._listen()
        if previous is Mode.BLACK_HOLE and mode is not Mode.BLACK_HOLE:
            self._close_all()

    def _close_all(self) -> None:
        for connection in list(self._connections):
            connection.close()
        self._connections.clear()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._close_all()
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        connection = _Connection(writer)
        self._connections.add(connection)
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            if self.mode is Mode.PASS:
                try:
                    up_reader, up_writer = await asyncio.open_connection(
                        self.target_host, self.target_port
                    )
                except OSError:
                    return
                connection.upstream = up_writer
                await asyncio.gather(
                    self._pump(reader, up_writer, connection),
                    self._pump(up_reader, writer, connection),
                )
            else:
                while await reader.read(65536):  # swallowed: nothing ever answers
                    pass
        except (asyncio.CancelledError, OSError):
            pass  # closed by the test: the end of this connection, not an error to report
        finally:
            connection.close()
            self._connections.discard(connection)
            self._handlers.discard(handler)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, connection: _Connection
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if self.mode is Mode.PASS:
                    sink.write(data)
                    await sink.drain()
                # else: a black hole; the bytes are dropped and the connection closed at its end
        connection.close()


class _Connection:
    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None and not writer.is_closing():
                writer.close()


@asynccontextmanager
async def tcp_proxy(target_host: str, target_port: int) -> AsyncIterator[TCPProxy]:
    proxy = TCPProxy(target_host, target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@asynccontextmanager
async def black_hole() -> AsyncIterator[int]:
    """A listener on 127.0.0.1 that accepts every connection and never answers; yields its port."""
    proxy = TCPProxy("127.0.0.1", 9)  # never forwarded to
    proxy.mode = Mode.BLACK_HOLE
    await proxy.start()
    try:
        yield proxy.port
    finally:
        await proxy.close()


class PrivateRedis:
    """A redis-server of the test's own, keeping nothing on disk, so a restart empties it."""

    def __init__(self, port: int, *extra: str) -> None:
        self.port = port
        self.extra = extra  # more redis-server options, e.g. ("--requirepass", "secret")
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server is not installed")
        assert binary is not None
        self.process = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", *self.extra, stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        pytest.fail(f"redis-server on port {self.port} did not start")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
