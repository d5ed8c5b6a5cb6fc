"""Real servers on 127.0.0.1 that channels send to in the tests: a webhook receiver (aiohttp) that
records every request and answers what it is told, and an SMTP server (aiosmtpd) that keeps every
mail, so Apprise and our webhook are tested over the wire, with nothing mocked."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it: the raw body, byte for byte, as a signature covers it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Receiver:
    """What the webhook receiver got, and what it answers: `status` (200 unless told otherwise),
    or, while `fail_next` is above 0, `fail_status` for that many requests."""

    base: str = ""
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    fail_next: int = 0
    fail_status: int = 500
    delay: float = 0.0  # seconds each answer waits (a slow channel)

    def url(self, path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://{self.base.partition('://')[2]}{path}"

    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int) -> list[Received]:
        """The requests once there are `count` of them; wrap it in asyncio.timeout."""
        while len(self.requests) < count:
            self.arrived.clear()
            await self.arrived.wait()
        return self.requests


@asynccontextmanager
async def receiving(host: str = "127.0.0.1") -> AsyncIterator[Receiver]:
    """A webhook receiver listening on `host`, on a free port, for the block."""
    receiver = Receiver()

    async def record(request: web.Request) -> web.Response:
        receiver.requests.append(
            Received(
                request.method,
                request.path,
                request.query_string,
                dict(request.headers),
                await request.read(),
            )
        )
        receiver.arrived.set()
        if receiver.delay:
            await asyncio.sleep(receiver.delay)
        if receiver.fail_next > 0:
            receiver.fail_next -= 1
            return web.Response(status=receiver.fail_status, text="failing on purpose")
        return web.Response(status=receiver.status, text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.SockSite(runner, _bound(host))
    await site.start()
    port = site._sock.getsockname()[1]
    receiver.base = f"http://{host}:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


@dataclass
class Mailbox:
    """What the SMTP server received: each mail's envelope and parsed message."""

    host: str = "127.0.0.1"
    port: int = 0
    envelopes: list[Envelope] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        return [message_from_bytes(_content(envelope)) for envelope in self.envelopes]


class _Keep:
    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._mailbox.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(host: str = "127.0.0.1") -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd, in its own thread) on `host` and a free port, for the block."""
    mailbox = Mailbox(host, _free_port(host))
    controller = Controller(_Keep(mailbox), hostname=host, port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def _bound(host: str) -> socket.socket:
    listening = socket.socket()
    listening.bind((host, 0))
    return listening


def _free_port(host: str) -> int:
    # aiosmtpd's controller checks it is up by connecting to its port: it needs a real one.
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _content(envelope: Envelope) -> bytes:
    content = envelope.original_content or envelope.content or b""
    return content if isinstance(content, bytes) else content.encode()
