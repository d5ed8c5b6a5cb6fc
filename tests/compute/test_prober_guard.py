"""Real probes through the SSRF guard: refused targets fail as `blocked` without one byte sent.

Linux routes all of 127.0.0.0/8 to loopback, so a server on 127.0.0.2 stands for a host the
allow-list opens (ALLOWED_TARGET_NETWORKS=127.0.0.2/32) and one on 127.0.0.1 for an internal
service that must never be reached. Each server counts the TCP connections it accepts.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from service_monitor.check_spec import DEFAULT_CHECK, HTTP_METHODS, CheckSpec
from service_monitor.compute.prober import open_probe_session, probe
from service_monitor.compute.resolver import GuardedConnector
from service_monitor.config import Settings, load_settings
from service_monitor.models import Cause, Check, Status, Target

GUARDED = load_settings(TIMEOUT=2.0, ALLOW_PRIVATE_TARGETS=False)
ALLOWING_127_0_0_2 = load_settings(
    TIMEOUT=2.0, ALLOW_PRIVATE_TARGETS=False, ALLOWED_TARGET_NETWORKS="127.0.0.2/32"
)
OPEN = load_settings(TIMEOUT=2.0, ALLOW_PRIVATE_TARGETS=True)


@dataclass
class Listener:
    """What a bare HTTP server saw: connections accepted and request paths."""

    host: str
    port: int = 0
    connections: int = 0
    paths: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


@asynccontextmanager
async def listening(host: str, *, redirect_to: str | None = None) -> AsyncIterator[Listener]:
    """Serve on `host`: every request answers 200 "ok", or 302 to `redirect_to` when given."""
    listener = Listener(host)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        listener.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            listener.paths.append(head.split(b" ", 2)[1].decode())
            if redirect_to is None:
                response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
                if not head.startswith(b"HEAD "):  # a HEAD answer has no body
                    response += "ok"
            else:
                response = (
                    f"HTTP/1.1 302 Found\r\nLocation: {redirect_to}\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
            writer.write(response.encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()
        await server.wait_closed()


class FixedResolver(AbstractResolver):
    """Answers any name with the next of `answers` (the last one again once they run out); each
    answer is a list of (address, port), so two local servers can stand for one name."""

    def __init__(self, *answers: list[tuple[str, int]]) -> None:
        self.answers = answers
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=address_port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address, address_port in answer
        ]

    async def close(self) -> None:
        pass


async def probe_once(
    url: str,
    settings: Settings = GUARDED,
    resolver: AbstractResolver | None = None,
    spec: CheckSpec = DEFAULT_CHECK,
) -> Check:
    async with open_probe_session(settings, resolver=resolver) as session:
        return await probe(
            session, Target(1, url, spec), timeout=2.0, max_body_bytes=1024, max_redirects=5
        )


def assert_blocked(check: Check) -> None:
    assert (check.status, check.cause, check.http_status) == (Status.FAIL, Cause.BLOCKED, None)


async def test_a_literal_loopback_url_is_blocked_without_a_connection() -> None:
    async with listening("127.0.0.1") as internal:
        check = await probe_once(f"{internal.base}/ok")
    assert_blocked(check)
    assert internal.connections == 0


async def test_legacy_and_mapped_forms_of_loopback_are_blocked_without_a_connection() -> None:
    async with listening("127.0.0.1") as internal:
        port = internal.port
        urls = [
            f"http://2130706433:{port}/ok",
            f"http://0x7f.1:{port}/ok",
            f"http://127.1:{port}/ok",
            f"http://[::ffff:127.0.0.1]:{port}/ok",
        ]
        checks = [await probe_once(url) for url in urls]
    for check in checks:
        assert_blocked(check)
    assert internal.connections == 0


async def test_a_name_resolving_to_loopback_is_blocked_without_a_connection() -> None:
    async with listening("127.0.0.1") as internal:
        check = await probe_once(f"http://localhost:{internal.port}/ok")  # /etc/hosts: 127.0.0.1
    assert_blocked(check)
    assert internal.connections == 0


async def test_the_allow_list_lets_its_range_through_and_nothing_else() -> None:
    async with listening("127.0.0.2") as allowed, listening("127.0.0.1") as internal:
        ok = await probe_once(f"{allowed.base}/ok", ALLOWING_127_0_0_2)
        blocked = await probe_once(f"{internal.base}/ok", ALLOWING_127_0_0_2)
    assert (ok.status, ok.http_status, ok.cause) == (Status.SUCCESS, 200, None)
    assert allowed.paths == ["/ok"]
    assert_blocked(blocked)
    assert internal.connections == 0


async def test_a_redirect_to_an_internal_literal_is_blocked_before_connecting() -> None:
    async with (
        listening("127.0.0.1") as internal,
        listening("127.0.0.2", redirect_to=f"{internal.base}/ok") as public,
    ):
        check = await probe_once(f"{public.base}/start", ALLOWING_127_0_0_2)
    assert_blocked(check)
    assert public.paths == ["/start"]  # the first hop was allowed and answered 302
    assert internal.connections == 0


async def test_a_redirect_to_a_name_resolving_internally_is_blocked_before_connecting() -> None:
    async with listening("127.0.0.1") as internal:
        target = f"http://localhost:{internal.port}/ok"
        async with listening("127.0.0.2", redirect_to=target) as public:
            check = await probe_once(f"{public.base}/start", ALLOWING_127_0_0_2)
    assert_blocked(check)
    assert public.paths == ["/start"]
    assert internal.connections == 0


async def test_a_name_with_some_refused_addresses_connects_only_to_the_allowed_ones() -> None:
    async with listening("127.0.0.1") as internal, listening("127.0.0.2") as allowed:
        # The refused address comes first: without the guard it is the one tried first.
        resolver = FixedResolver([("127.0.0.1", internal.port), ("127.0.0.2", allowed.port)])
        check = await probe_once("http://several.test/ok", ALLOWING_127_0_0_2, resolver)
    assert (check.status, check.http_status) == (Status.SUCCESS, 200)
    assert internal.connections == 0
    assert allowed.paths == ["/ok"]


async def test_a_name_with_only_refused_addresses_is_blocked() -> None:
    async with listening("127.0.0.1") as internal:
        resolver = FixedResolver([("127.0.0.1", internal.port), ("10.0.0.1", internal.port)])
        check = await probe_once("http://internal.test/ok", GUARDED, resolver)
    assert_blocked(check)
    assert internal.connections == 0


async def test_a_name_rebound_to_an_internal_address_is_blocked_at_its_next_lookup() -> None:
    async with listening("127.0.0.1") as internal, listening("127.0.0.2") as allowed:
        resolver = FixedResolver(
            [("127.0.0.2", allowed.port)],  # first answer: an allowed address
            [("127.0.0.1", internal.port)],  # then the name points inside
        )
        first = await probe_once("http://rebind.test/ok", ALLOWING_127_0_0_2, resolver)
        second = await probe_once("http://rebind.test/ok", ALLOWING_127_0_0_2, resolver)
    assert first.status is Status.SUCCESS
    assert_blocked(second)
    assert resolver.lookups == 2
    assert internal.connections == 0


async def test_concurrent_probes_of_a_blocked_name_are_all_blocked() -> None:
    async with listening("127.0.0.1") as internal, open_probe_session(GUARDED) as session:
        targets = [Target(i, f"http://localhost:{internal.port}/ok?i={i}") for i in range(5)]
        checks = await asyncio.gather(
            *(
                probe(session, target, timeout=2.0, max_body_bytes=1024, max_redirects=5)
                for target in targets
            )
        )
    for check in checks:
        assert_blocked(check)
    assert internal.connections == 0


async def test_with_allow_private_targets_loopback_is_probed_through_plain_aiohttp() -> None:
    async with listening("127.0.0.1") as internal:
        check = await probe_once(f"{internal.base}/ok", OPEN)
        async with open_probe_session(OPEN) as session:
            connector = session.connector
            assert type(connector) is aiohttp.TCPConnector  # no guard, no cost
        async with open_probe_session(GUARDED) as session:
            assert isinstance(session.connector, GuardedConnector)
    assert (check.status, check.http_status) == (Status.SUCCESS, 200)
    assert internal.paths == ["/ok"]


def _sending(method: str) -> CheckSpec:
    """A check with `method`, a header and (where the method may have one) a body."""
    request: dict[str, object] = {"method": method, "headers": {"X-Token": "t"}}
    if method != "HEAD":
        request |= {"body": '{"a": 1}', "content_type": "application/json"}
    return CheckSpec.model_validate({"request": request})


@pytest.mark.parametrize("method", HTTP_METHODS)
async def test_the_guard_blocks_every_method_without_a_connection(method: str) -> None:
    spec = _sending(method)
    async with listening("127.0.0.1") as internal:
        literal = await probe_once(f"{internal.base}/ok", spec=spec)
        named = await probe_once(f"http://localhost:{internal.port}/ok", spec=spec)
        async with listening("127.0.0.2", redirect_to=f"{internal.base}/ok") as public:
            redirected = await probe_once(f"{public.base}/start", ALLOWING_127_0_0_2, spec=spec)
    for check in (literal, named, redirected):
        assert_blocked(check)
        assert check.detail is not None
        assert check.detail.startswith("blocked: 127.0.0.1 is a loopback address")
    assert public.paths == ["/start"]
    assert internal.connections == 0


@pytest.mark.parametrize("method", HTTP_METHODS)
async def test_the_allow_list_lets_every_method_through(method: str) -> None:
    async with listening("127.0.0.2") as allowed:
        check = await probe_once(f"{allowed.base}/ok", ALLOWING_127_0_0_2, spec=_sending(method))
    assert (check.status, check.http_status) == (Status.SUCCESS, 200)
    assert allowed.paths == ["/ok"]
