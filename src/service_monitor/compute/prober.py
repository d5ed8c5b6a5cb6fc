"""Probe a URL once and turn whatever happens (an answer, an error, a hang) into a Check."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver

from ..config import Settings
from ..errors import TargetRefused
from ..guard import TargetPolicy, policy_for
from ..models import Cause, Check, Status, Target
from .resolver import GuardedConnector, refuse_literal_hosts

logger = logging.getLogger(__name__)

# Seconds a resolved address is reused: about one cycle (CYCLE_INTERVAL defaults to 600 s), so a
# cycle resolves each host once, and the next cycle sees DNS changes.
DNS_CACHE_SECONDS = 600

# Bytes asked of the stream per read; the cap (max_body_bytes) is what bounds memory, this only
# bounds one chunk. 64 KiB matches aiohttp's default read buffer.
_READ_CHUNK_BYTES = 64 * 1024

# aiohttp's cleanup of closed TLS transports works around a CPython leak fixed in 3.12.8 and
# 3.13.1; there aiohttp ignores the flag with a DeprecationWarning, so ask only where it helps.
_CLEANUP_CLOSED_NEEDED = sys.version_info < (3, 12, 8) or (
    (3, 13, 0) <= sys.version_info < (3, 13, 1)
)


_CLOSE = {"Connection": "close"}

# Seconds a kept connection may wait idle for its next probe. Only connections to a host probed
# again within a few positions are kept (see plan.py), so this is a backstop, not a cache.
KEEPALIVE_SECONDS = 5.0


def open_probe_session(
    settings: Settings,
    *,
    keep_alive: bool = True,
    policy: TargetPolicy | None = None,
    resolver: AbstractResolver | None = None,
) -> aiohttp.ClientSession:
    """Open an HTTP session for a cycle's probes; close it when the cycle ends.

    Must be called inside a running event loop (aiohttp binds the connector to it). Cookies are not
    kept, so one probe never changes what the next sends; statuses >= 400 are returned, not raised.
    Without `keep_alive` every connection is closed once its probe is done (and the request says
    `Connection: close`), so probing many distinct hosts never piles up idle sockets.

    The SSRF guard (`policy`, from the settings unless given) refuses internal addresses before
    any connection to them: a refused probe raises TargetRefused. `resolver` replaces aiohttp's
    default name lookup (the guard still filters what it returns).
    """
    policy = policy_for(settings) if policy is None else policy
    connector = _connector(
        policy,
        resolver,
        limit=settings.CONCURRENCY,  # sockets open at once, over all hosts
        limit_per_host=settings.PER_HOST_LIMIT,  # 0 = no cap, as in Settings
        ttl_dns_cache=DNS_CACHE_SECONDS,
        force_close=not keep_alive,
        keepalive_timeout=KEEPALIVE_SECONDS if keep_alive else None,
        enable_cleanup_closed=_CLEANUP_CLOSED_NEEDED,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": settings.USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
        raise_for_status=False,
        timeout=aiohttp.ClientTimeout(total=settings.TIMEOUT),
        # Literal hosts never reach the resolver; this checks them on every hop.
        middlewares=() if policy.allow_all else (refuse_literal_hosts(policy),),
    )


def _connector(
    policy: TargetPolicy, resolver: AbstractResolver | None, **options: Any
) -> aiohttp.TCPConnector:
    if policy.allow_all:
        # Nothing is refused: aiohttp's own connector and resolver, no cost per probe.
        return aiohttp.TCPConnector(resolver=resolver, **options)
    return GuardedConnector(policy, resolver=resolver, **options)


@dataclass(frozen=True, slots=True)
class ProbeSessions:
    """A cycle's two sessions: `reuse` keeps connections for a host probed again soon, `once`
    closes each connection after its probe."""

    reuse: aiohttp.ClientSession
    once: aiohttp.ClientSession

    def pick(self, *, keep_alive: bool, warm: bool) -> aiohttp.ClientSession:
        """`reuse` when a kept connection may be waiting (warm) or is wanted next (keep_alive)."""
        return self.reuse if keep_alive or warm else self.once


@contextlib.asynccontextmanager
async def open_probe_sessions(settings: Settings) -> AsyncIterator[ProbeSessions]:
    """Both sessions of one cycle, closed together when it ends."""
    async with (
        open_probe_session(settings, keep_alive=True) as reuse,
        open_probe_session(settings, keep_alive=False) as once,
    ):
        yield ProbeSessions(reuse=reuse, once=once)


async def probe(
    session: aiohttp.ClientSession,
    target: Target,
    *,
    timeout: float,  # noqa: ASYNC109  (seconds per probe; enforced below with asyncio.timeout)
    max_body_bytes: int,
    max_redirects: int,
    close_connection: bool = False,
) -> Check:
    """GET `target.url` once and return the Check; never raises, except asyncio.CancelledError.

    With `close_connection` the request says `Connection: close`, so the server ends the connection
    after answering and it is not kept: for the last probe of a host on a session that keeps them.

    `timeout` (seconds) bounds the whole probe: DNS, connect, TLS, every redirect, headers and the
    body. At most `max_redirects` redirects are followed and at most `max_body_bytes` of the final
    body are read, then the connection is dropped, so an endless body costs neither memory nor time.
    Success means the final response has a status below 400 and its capped body was read in time.

    A response whose status is >= 400 is a HTTP_STATUS failure at once: its body is not read, since
    the verdict is already known. After a status < 400 the verdict waits for the capped body: a
    timeout while reading it is a TIMEOUT failure (a server trickling bytes is not up), any other
    break of the connection is INVALID_RESPONSE; both keep the status received in `http_status`.

    A target the session's SSRF guard refuses, on any hop, is a BLOCKED failure: nothing was sent.
    """
    checked_at = time.time()  # seconds since the epoch, as Check documents
    started = time.perf_counter()  # seconds, monotonic, for the latency
    status_seen: list[int] = []  # the final status, once headers are in; read if the probe fails
    try:
        # Two bounds on purpose: aiohttp's total timeout ends its own waits cleanly, and
        # asyncio.timeout is the hard deadline for anything aiohttp does not cover.
        async with asyncio.timeout(timeout):
            http_status = await _get(
                session,
                target.url,
                status_seen,
                client_timeout=aiohttp.ClientTimeout(total=timeout),
                max_body_bytes=max_body_bytes,
                max_redirects=max_redirects,
                headers=_CLOSE if close_connection else None,
            )
    except Exception as exc:  # CancelledError is a BaseException: it propagates
        cause = _cause_of(exc, responded=bool(status_seen), url=target.url)
        if isinstance(exc, aiohttp.TooManyRedirects) and exc.history:
            # aiohttp sets no status on this error; the last redirect received is the final response
            status_seen.append(exc.history[-1].status)
        return Check(
            monitor_id=target.monitor_id,
            checked_at=checked_at,
            status=Status.FAIL,
            http_status=status_seen[-1] if status_seen else None,
            latency_ms=_elapsed_ms(started),
            cause=cause,
        )
    failed = http_status >= 400
    return Check(
        monitor_id=target.monitor_id,
        checked_at=checked_at,
        status=Status.FAIL if failed else Status.SUCCESS,
        http_status=http_status,
        latency_ms=_elapsed_ms(started),
        cause=Cause.HTTP_STATUS if failed else None,
    )


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    status_seen: list[int],
    *,
    client_timeout: aiohttp.ClientTimeout,
    max_body_bytes: int,
    max_redirects: int,
    headers: Mapping[str, str] | None,
) -> int:
    """Fetch `url`, read its capped body, return the final status (also put in `status_seen`)."""
    async with session.get(
        url,
        headers=headers,
        allow_redirects=True,
        # aiohttp counts the redirect responses, not the redirects followed: with N it raises on the
        # N-th redirect response, so it follows N - 1, and 0 means no limit at all. N + 1 follows
        # exactly N, and 0 then follows none (a redirect fails) instead of following forever.
        max_redirects=max_redirects + 1,
        timeout=client_timeout,
    ) as resp:
        status_seen.append(resp.status)
        if resp.status >= 400:
            resp.close()  # the verdict is known; do not wait for a body nobody reads
            return resp.status
        if not await _read_capped(resp, max_body_bytes):
            # Body left unread: close, so the socket is dropped, never pooled with a stream still
            # arriving on it. (aiohttp 3.14's release would drop it too; this does not rely on it.)
            resp.close()
        return resp.status


async def _read_capped(resp: aiohttp.ClientResponse, max_body_bytes: int) -> bool:
    """Read and drop at most `max_body_bytes` of the body; True if the body ended within the cap."""
    remaining = max_body_bytes
    while remaining > 0:
        chunk = await resp.content.read(min(remaining, _READ_CHUNK_BYTES))
        if not chunk:
            return True
        remaining -= len(chunk)
    return resp.content.at_eof()


def _cause_of(exc: BaseException, *, responded: bool, url: str) -> Cause:
    """Name why a probe failed. The order matters: each test must come before its base classes."""
    # The SSRF guard refused the target (or a redirect's) before any connection was opened.
    if isinstance(exc, TargetRefused):
        return Cause.BLOCKED
    # aiohttp.ServerTimeoutError, ConnectionTimeoutError, SocketTimeoutError and asyncio's
    # deadline all derive from TimeoutError (asyncio.TimeoutError is TimeoutError since 3.11).
    if isinstance(exc, TimeoutError):
        return Cause.TIMEOUT
    # A ClientResponseError subclass, so before the catch-all ClientError below.
    if isinstance(exc, aiohttp.TooManyRedirects):
        return Cause.TOO_MANY_REDIRECTS
    # Connector errors happen before any response, so they keep their cause even on a redirect hop.
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return Cause.DNS
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch | ssl.SSLError):
        # ClientSSLError covers ClientConnectorSSLError and ClientConnectorCertificateError;
        # ssl.SSLError is an OSError, so it must be tested before the OSError below.
        return Cause.TLS
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Older aiohttp (and proxies) wrap the resolver or TLS error instead of a subclass.
        if isinstance(exc.os_error, socket.gaierror):
            return Cause.DNS
        if isinstance(exc.os_error, ssl.SSLError):
            return Cause.TLS
        return Cause.CONNECT
    if responded:
        # Headers arrived, then the connection broke or the body was malformed.
        return Cause.INVALID_RESPONSE
    # The server accepted the connection and closed it without an answer: it spoke, badly.
    # A ServerConnectionError, itself a ClientConnectionError, so before the CONNECT rule below.
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Cause.INVALID_RESPONSE
    # Reset or refused before a response: ClientOSError, ClientConnectionResetError, plain OSError.
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return Cause.CONNECT
    # ClientPayloadError, ClientResponseError (a bad status line), InvalidURL, a redirect to a
    # non-HTTP URL and any other ClientError.
    if isinstance(exc, aiohttp.ClientError):
        return Cause.INVALID_RESPONSE
    # Last resort: a bug or an error aiohttp did not wrap; keep it visible to whoever debugs.
    logger.debug("probe of %s failed with an unexpected error", url, exc_info=exc)
    return Cause.INVALID_RESPONSE


def _elapsed_ms(started: float) -> int:
    """Milliseconds since `started` (a time.perf_counter() reading), rounded to the nearest one."""
    return round((time.perf_counter() - started) * 1000)
