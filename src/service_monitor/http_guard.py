"""Applies the SSRF guard where an outgoing HTTP request connects (the prober's probes, the
alerting's webhooks), so the address checked is the address used.

Two hooks, both run before any connection is opened, on every hop of a redirect chain:

- names: `GuardedResolver` filters what aiohttp's resolver returns. aiohttp connects only to the
  addresses its resolver returned (and caches those), so a name that resolves to an internal
  address, or changes its answer between two lookups (DNS rebinding), never reaches one.
- literal addresses: aiohttp never calls the resolver for those (TCPConnector._resolve_host
  returns the literal as is), so a client middleware checks them. aiohttp runs the middleware
  chain once per request it sends, inside its redirect loop, with the hop's own URL, before
  `connector.connect`: a redirect to http://127.0.0.1/ is refused without a byte sent.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from .guard import TargetPolicy, parse_address, refused


class GuardedResolver(AbstractResolver):
    """Resolves with `inner` (aiohttp's default resolver unless given) and keeps only the
    addresses the policy allows; raises TargetRefused when none is left."""

    def __init__(self, policy: TargetPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = aiohttp.DefaultResolver() if inner is None else inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        reasons: list[str] = []
        for result in results:
            address = parse_address(result["host"])
            if address is None:
                reasons.append(f"{result['host']} is not an IP address")
            elif (reason := self._policy.refusal(address)) is not None:
                reasons.append(reason)
            else:
                kept.append(result)
        if reasons and not kept:
            # Not an OSError: aiohttp would wrap that as a DNS failure; this one passes through
            # the connector and the session unchanged, so the prober can name it.
            raise refused(host, reasons)
        return kept

    async def close(self) -> None:
        await self._inner.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that looks names up through a GuardedResolver, and closes it: aiohttp closes
    only a resolver it made itself."""

    def __init__(
        self, policy: TargetPolicy, *, resolver: AbstractResolver | None = None, **options: Any
    ) -> None:
        self._guarded_resolver = GuardedResolver(policy, resolver)
        super().__init__(resolver=self._guarded_resolver, **options)

    async def close(self, *, abort_ssl: bool = False) -> None:
        try:
            await super().close(abort_ssl=abort_ssl)
        finally:
            await self._guarded_resolver.close()


def refuse_literal_hosts(policy: TargetPolicy) -> aiohttp.ClientMiddlewareType:
    """A client middleware that refuses a request whose host is a refused literal address."""

    async def middleware(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        host = request.url.host
        # Legacy forms (0x7f.1) count as literals too: the resolver would read them the same way.
        address = parse_address(host) if host else None
        if address is not None and (reason := policy.refusal(address)) is not None:
            raise refused(str(request.url), [reason])
        return await handler(request)

    return middleware


def guarded_connector(
    policy: TargetPolicy, *, resolver: AbstractResolver | None = None, **options: Any
) -> aiohttp.TCPConnector:
    """The connector a session of `policy` uses: aiohttp's own when the policy refuses nothing
    (no cost per request), else a GuardedConnector. Pair it with `refuse_literal_hosts`."""
    if policy.allow_all:
        return aiohttp.TCPConnector(resolver=resolver, **options)
    return GuardedConnector(policy, resolver=resolver, **options)


async def refuse_internal_host(host: str, port: int, policy: TargetPolicy) -> None:
    """Raise TargetRefused if `host` is, or resolves to, any address the policy refuses.

    For clients that resolve the name themselves (Apprise's plugins: requests, smtplib), checked
    just before they send. Stricter than GuardedResolver, which keeps the allowed addresses of a
    mixed answer: here the client may pick any of them, so one refused address refuses the host.
    A name that does not resolve raises OSError (socket.gaierror), for the caller to retry.
    """
    if policy.allow_all:
        return
    address = parse_address(host)
    if address is not None:
        reason = policy.refusal(address)
        if reason is not None:
            raise refused(host, [reason])
        return
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    reasons = []
    for *_, sockaddr in infos:
        resolved = parse_address(str(sockaddr[0]))
        if resolved is None:
            reasons.append(f"{sockaddr[0]} is not an IP address")
        elif (reason := policy.refusal(resolved)) is not None:
            reasons.append(reason)
    if reasons:
        raise refused(host, reasons)
