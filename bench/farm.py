"""A loopback target farm for the compute benchmark: one process answering HTTP for any 127.x.y.z.

The whole 127.0.0.0/8 range is loopback, so `http://127.A.B.C:PORT/...` are distinct hosts with
distinct connections, which is how a real URL list looks to a prober. The farm listens on every
address of the port (there is no way to bind 127.0.0.0/8 alone) and hangs up at once on any peer
outside 127.0.0.0/8. What a URL gets is in its path:

    /ok/N        200 with a small body          /err/N     500
    /slow/MS/N   200 after MS milliseconds      /hang/N    headers never sent
    /json/N      200 with a health-check JSON   /slowjson/MS/N  the same after MS milliseconds

It speaks just enough HTTP/1.1 for a prober (GET, keep-alive, no request bodies) and is written on
bare asyncio protocols so that its own cost stays small next to the client's it is there to measure.
Like most servers it closes a kept-alive connection that stays idle (after IDLE_CLOSE_S), which also
keeps its open sockets under the machine's 20,000 file limit when a client pools every connection.

    python bench/farm.py [--port P]   # prints "listening PORT" once ready; stops on SIGTERM
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket

_BODY = b"<html><body>ok</body></html>\n"
_OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(_BODY) + _BODY
)
# What a service's health endpoint typically answers (about 200 bytes): the assertion mix of
# bench_compute.py looks for "healthy" in it and for $.status == "ok".
_JSON_BODY = (
    b'{"status": "ok", "message": "all systems healthy", "version": "2.14.1",'
    b' "uptime_s": 1234567, "checks": {"database": {"status": "ok", "latency_ms": 3},'
    b' "cache": {"status": "ok", "latency_ms": 1}, "queue": {"status": "ok", "depth": 12}}}'
)
_JSON = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    % len(_JSON_BODY)
    + _JSON_BODY
)
_ERR = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

# Seconds an answered connection may stay idle before the farm closes it (nginx says 75, Apache 5,
# Node.js 5; shorter here so that 100,000 distinct hosts fit in 20,000 file descriptors).
IDLE_CLOSE_S = 1.0


class _Target(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._pending: set[asyncio.TimerHandle] = set()
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        if not peer or not str(peer[0]).startswith("127."):
            transport.abort()  # loopback only, whatever the socket is bound to
            return
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            self._answer(head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/")

    def _answer(self, path: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        parts = path.split(b"/")
        kind = parts[1] if len(parts) > 1 else b""
        if kind == b"ok":
            self._send(_OK)
        elif kind == b"json":
            self._send(_JSON)
        elif kind == b"err":
            self._send(_ERR)
        elif kind in (b"slow", b"slowjson"):
            delay = int(parts[2]) / 1000 if len(parts) > 2 and parts[2].isdigit() else 1.0
            loop = asyncio.get_running_loop()
            answer = _OK if kind == b"slow" else _JSON
            handle = loop.call_later(delay, self._late, answer)
            self._pending.add(handle)
        elif kind == b"hang":
            pass  # hold the connection open, answer nothing; the client's timeout ends it
        else:
            self._send(_NOT_FOUND)

    def _late(self, answer: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._send(answer)

    def _send(self, answer: bytes) -> None:
        assert self._transport is not None
        self._transport.write(answer)
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(IDLE_CLOSE_S, self._transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in self._pending:
            handle.cancel()
        if self._idle is not None:
            self._idle.cancel()
        self._pending.clear()
        self._transport = None


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.listen(8192)
    server = await loop.create_server(_Target, sock=sock, backlog=8192)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"listening {sock.getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    args = parser.parse_args()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
