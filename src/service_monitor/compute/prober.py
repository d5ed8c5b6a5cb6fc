"""Probe a URL once and turn whatever happens (an answer, an error, a hang) into a Check."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.connector import Connection
from multidict import CIMultiDictProxy

from ..check_spec import DEFAULT_CHECK
from ..config import Settings, probe_ssl_context
from ..errors import TargetRefused
from ..guard import TargetPolicy, policy_for
from ..models import MAX_DETAIL_LENGTH, Cause, Check, Status, Target
from .assertions import DEFAULT_PLAN, Answer, CheckPlan, compile_check, join_details
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

# Seconds a kept connection may wait idle for its next probe. Only connections to a host probed
# again within a few positions are kept (see plan.py), so this is a backstop, not a cache.
KEEPALIVE_SECONDS = 5.0


def open_probe_session(
    settings: Settings,
    *,
    keep_alive: bool = True,
    policy: TargetPolicy | None = None,
    resolver: AbstractResolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> aiohttp.ClientSession:
    """Open an HTTP session for a cycle's probes; close it when the cycle ends.

    Must be called inside a running event loop (aiohttp binds the connector to it). Cookies are not
    kept, so one probe never changes what the next sends; statuses >= 400 are returned, not raised.
    Without `keep_alive` every connection is closed once its probe is done (and the request says
    `Connection: close`), so probing many distinct hosts never piles up idle sockets.

    The SSRF guard (`policy`, from the settings unless given) refuses internal addresses before
    any connection to them: a refused probe raises TargetRefused. `resolver` replaces aiohttp's
    default name lookup (the guard still filters what it returns).

    Certificates are always verified: against the system's CAs, plus PROBE_CA_BUNDLE's when set
    (`ssl_context`, made from the settings unless given, so that two sessions can share one).
    """
    policy = policy_for(settings) if policy is None else policy
    if ssl_context is None and settings.PROBE_CA_BUNDLE is not None:
        ssl_context = probe_ssl_context(settings.PROBE_CA_BUNDLE)
    connector = _connector(
        policy,
        resolver,
        limit=settings.CONCURRENCY,  # sockets open at once, over all hosts
        limit_per_host=settings.PER_HOST_LIMIT,  # 0 = no cap, as in Settings
        ttl_dns_cache=DNS_CACHE_SECONDS,
        force_close=not keep_alive,
        keepalive_timeout=KEEPALIVE_SECONDS if keep_alive else None,
        enable_cleanup_closed=_CLEANUP_CLOSED_NEEDED,
        # True: aiohttp's own verifying context, the system's CAs (what it used before this setting)
        ssl=True if ssl_context is None else ssl_context,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": settings.USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
        raise_for_status=False,
        timeout=aiohttp.ClientTimeout(total=settings.TIMEOUT),
        response_class=ProbeResponse,
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


class ProbeResponse(aiohttp.ClientResponse):
    """aiohttp's response, plus the server's certificate as the TLS handshake parsed it.

    Taken when the response starts, from its connection: aiohttp releases the connection as soon as
    the whole body has arrived (often with the headers), and a session that does not keep
    connections closes it then, so the transport is gone by the time the probe looks at the answer.
    """

    # ssl's parsed form of the peer certificate ('notAfter', ...); None over plain http.
    peercert: dict[str, Any] | None = None

    def start(self, connection: Connection) -> Coroutine[Any, Any, aiohttp.ClientResponse]:
        # Not a coroutine itself: it hands back aiohttp's, so each answer costs no extra frame.
        transport = connection.transport
        if transport is not None:
            # asyncio and uvloop both keep it in the transport's extra info: a dict lookup.
            self.peercert = transport.get_extra_info("peercert") or None
        return super().start(connection)


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
    # One context for both: loading the system's CAs takes milliseconds, once per cycle is enough.
    context = (
        None if settings.PROBE_CA_BUNDLE is None else probe_ssl_context(settings.PROBE_CA_BUNDLE)
    )
    async with (
        open_probe_session(settings, keep_alive=True, ssl_context=context) as reuse,
        open_probe_session(settings, keep_alive=False, ssl_context=context) as once,
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
    """Send the target's check request once and return the Check; never raises, except
    asyncio.CancelledError.

    The request is the target's `check.request` (compute/assertions.py compiles it once per spec):
    method, headers, body, whether redirects are followed; DEFAULT_CHECK is today's GET. With
    `close_connection` the request says `Connection: close`, so the server ends the connection
    after answering and it is not kept: for the last probe of a host on a session that keeps them.

    `timeout` (seconds, TIMEOUT) bounds the whole probe: DNS, connect, TLS, every redirect, headers
    and the body; a spec's `timeout_s` may only shorten it. At most `max_redirects` redirects are
    followed and at most `max_body_bytes` of the final body are read, then the connection is
    dropped, so an endless body costs neither memory nor time. The body is kept (for the body and
    json assertions) only when an assertion reads it; otherwise it is read and dropped as it comes.

    The verdict: the status first (an explicit status assertion, or else below 400). A status that
    fails it is a failure at once, its body unread. Otherwise the verdict waits for the capped body:
    a timeout while reading it is a TIMEOUT failure (a server trickling bytes is not up), any other
    break of the connection INVALID_RESPONSE; both keep the status received in `http_status`. Then
    every other assertion is judged; those that fail make an ASSERTION failure whose detail names
    each. A passing answer slower than the spec's `degraded_after_ms` is a success flagged degraded.

    Every failure has a `detail` sentence. Every https answer records its certificate's expiry.
    A target the session's SSRF guard refuses, on any hop, is a BLOCKED failure: nothing was sent.
    """
    checked_at = time.time()  # seconds since the epoch, as Check documents
    started = time.perf_counter()  # seconds, monotonic, for the latency
    seen = _Seen()  # what arrived before anything failed: read when the probe fails
    limit = timeout
    spec = target.check
    if spec is DEFAULT_CHECK:
        plan = DEFAULT_PLAN
    else:
        try:
            plan = compile_check(spec, max_body_bytes=max_body_bytes)
        except Exception as exc:  # validated specs compile: a bug, but never an exception here
            logger.debug("check of %s does not compile", target.url, exc_info=exc)
            return Check(
                monitor_id=target.monitor_id,
                checked_at=checked_at,
                status=Status.FAIL,
                http_status=None,
                latency_ms=0,
                cause=Cause.ASSERTION,
                detail=f"the check cannot be run: {_first_line(exc)}"[:MAX_DETAIL_LENGTH],
            )
    try:
        if plan.timeout_s is not None and plan.timeout_s < timeout:
            limit = plan.timeout_s
        # Two bounds on purpose: aiohttp's total timeout ends its own waits cleanly, and
        # asyncio.timeout is the hard deadline for anything aiohttp does not cover.
        async with asyncio.timeout(limit):
            await _exchange(
                session,
                target.url,
                plan,
                seen,
                client_timeout=aiohttp.ClientTimeout(total=limit),
                max_body_bytes=max_body_bytes,
                max_redirects=max_redirects,
                close_connection=close_connection,
            )
    except Exception as exc:  # CancelledError is a BaseException: it propagates
        cause = _cause_of(exc, responded=seen.status is not None, url=target.url)
        if isinstance(exc, aiohttp.TooManyRedirects) and exc.history:
            # aiohttp sets no status on this error; the last redirect received is the final response
            seen.status = exc.history[-1].status
        return Check(
            monitor_id=target.monitor_id,
            checked_at=checked_at,
            status=Status.FAIL,
            http_status=seen.status,
            latency_ms=_elapsed_ms(started),
            cause=cause,
            detail=_detail_of(exc, cause, seen.status, limit, max_redirects),
            tls_expires_at=seen.tls_expires_at,
        )
    latency_ms = _elapsed_ms(started)
    status = seen.status
    assert status is not None  # set once the headers are in, before _exchange returns
    if not seen.status_held:
        return Check(
            monitor_id=target.monitor_id,
            checked_at=checked_at,
            status=Status.FAIL,
            http_status=status,
            latency_ms=latency_ms,
            cause=Cause.HTTP_STATUS if plan.accepted is None else Cause.ASSERTION,
            detail=plan.status_detail(status),
            tls_expires_at=seen.tls_expires_at,
        )
    if plan.is_default:
        return Check(
            monitor_id=target.monitor_id,
            checked_at=checked_at,
            status=Status.SUCCESS,
            http_status=status,
            latency_ms=latency_ms,
            tls_expires_at=seen.tls_expires_at,
        )
    return _judged(target, plan, seen, checked_at, latency_ms)


def _judged(
    target: Target, plan: CheckPlan, seen: _Seen, checked_at: float, latency_ms: int
) -> Check:
    """The verdict of a non-default check whose status held: every other assertion, then degraded."""
    status = seen.status
    assert status is not None
    failed: list[str] = []
    if plan.judges:
        answer = Answer(
            status=status,
            latency_ms=latency_ms,
            checked_at=checked_at,
            headers=seen.headers,
            body=seen.body,
            body_complete=seen.body_complete,
            charset=seen.charset,
            tls_expires_at=seen.tls_expires_at,
        )
        try:
            failed = plan.failures(answer)
        except Exception as exc:  # a judge's bug must not end the cycle: the check fails instead
            logger.debug("judging the answer of %s failed", target.url, exc_info=exc)
            failed = [f"the answer could not be judged: {type(exc).__name__}"]
    if failed:
        return Check(
            monitor_id=target.monitor_id,
            checked_at=checked_at,
            status=Status.FAIL,
            http_status=status,
            latency_ms=latency_ms,
            cause=Cause.ASSERTION,
            detail=join_details(failed),
            tls_expires_at=seen.tls_expires_at,
        )
    slow_after = plan.degraded_after_ms
    return Check(
        monitor_id=target.monitor_id,
        checked_at=checked_at,
        status=Status.SUCCESS,
        http_status=status,
        latency_ms=latency_ms,
        degraded=slow_after is not None and latency_ms > slow_after,
        tls_expires_at=seen.tls_expires_at,
    )


class _Seen:
    """What a probe received, filled in as it arrives, so a failure part-way keeps what came."""

    __slots__ = (
        "body",
        "body_complete",
        "charset",
        "headers",
        "status",
        "status_held",
        "tls_expires_at",
    )

    def __init__(self) -> None:
        self.status: int | None = None  # the final status, once its headers are in
        self.status_held = False  # the status passed the check's status rule
        self.tls_expires_at: float | None = None  # seconds since the epoch; https answers only
        self.headers: CIMultiDictProxy[str] | None = None  # kept for header assertions only
        self.body: bytes | None = None  # kept for body assertions only, at most max_body_bytes
        self.body_complete = True
        self.charset: str | None = None


async def _exchange(
    session: aiohttp.ClientSession,
    url: str,
    plan: CheckPlan,
    seen: _Seen,
    *,
    client_timeout: aiohttp.ClientTimeout,
    max_body_bytes: int,
    max_redirects: int,
    close_connection: bool,
) -> None:
    """Send the plan's request to `url`, fill `seen` in: the status, the certificate's expiry, and,
    when the status held, the capped body (kept or dropped, as the plan says)."""
    async with session.request(
        plan.method,
        url,
        headers=plan.closing_headers if close_connection else plan.headers,
        data=plan.body,
        allow_redirects=plan.follow_redirects,
        # aiohttp counts the redirect responses, not the redirects followed: with N it raises on the
        # N-th redirect response, so it follows N - 1, and 0 means no limit at all. N + 1 follows
        # exactly N, and 0 then follows none (a redirect fails) instead of following forever.
        max_redirects=max_redirects + 1,
        timeout=client_timeout,
    ) as resp:
        seen.status = status = resp.status
        if isinstance(resp, ProbeResponse) and resp.peercert:
            seen.tls_expires_at = _not_after(resp.peercert)
        if not plan.status_holds(status):
            resp.close()  # the verdict is known; do not wait for a body nobody reads
            return
        seen.status_held = True
        if plan.keeps_headers:
            seen.headers = resp.headers
        if plan.keeps_body:
            seen.charset = resp.charset
            seen.body, seen.body_complete = await _read_kept(resp, max_body_bytes)
            if not seen.body_complete:
                resp.close()  # the rest is still arriving: drop the connection, never pool it
        elif not await _read_capped(resp, max_body_bytes):
            # Body left unread: close, so the socket is dropped, never pooled with a stream still
            # arriving on it. (aiohttp 3.14's release would drop it too; this does not rely on it.)
            resp.close()


def _not_after(peercert: Mapping[str, Any]) -> float | None:
    """The certificate's expiry, seconds since the epoch, from ssl's parsed form ('notAfter')."""
    not_after = peercert.get("notAfter")
    if not isinstance(not_after, str):
        return None
    try:
        return float(ssl.cert_time_to_seconds(not_after))
    except ValueError:
        return None


async def _read_capped(resp: aiohttp.ClientResponse, max_body_bytes: int) -> bool:
    """Read and drop at most `max_body_bytes` of the body; True if the body ended within the cap."""
    remaining = max_body_bytes
    while remaining > 0:
        chunk = await resp.content.read(min(remaining, _READ_CHUNK_BYTES))
        if not chunk:
            return True
        remaining -= len(chunk)
    return resp.content.at_eof()


async def _read_kept(resp: aiohttp.ClientResponse, max_body_bytes: int) -> tuple[bytes, bool]:
    """At most `max_body_bytes` of the body, and whether that was all of it."""
    chunks: list[bytes] = []
    remaining = max_body_bytes
    while remaining > 0:
        chunk = await resp.content.read(min(remaining, _READ_CHUNK_BYTES))
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        remaining -= len(chunk)
    # Exactly at the cap: one byte more says whether the body ended there (bounded by the timeout).
    complete = resp.content.at_eof() or not await resp.content.read(1)
    return b"".join(chunks), complete


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


def _detail_of(
    exc: BaseException, cause: Cause, status: int | None, limit_s: float, max_redirects: int
) -> str:
    """The failure's sentence: its cause, then what was seen ("connect: connection refused")."""
    if cause is Cause.TIMEOUT:
        if status is None:
            text = f"timeout: no answer within {limit_s:g} s"
        else:
            text = f"timeout: status {status} came, but not the body within {limit_s:g} s"
    elif cause is Cause.TOO_MANY_REDIRECTS:
        text = f"too many redirects: more than {max_redirects} followed"
    elif isinstance(exc, TargetRefused):
        text = f"blocked: {exc.reason}"
    elif cause is Cause.DNS:
        host = exc.host if isinstance(exc, aiohttp.ClientConnectorError) else None
        reason = _os_reason(_os_error_of(exc))
        text = f"dns: {host} does not resolve ({reason})" if host else f"dns: {reason}"
    elif cause is Cause.TLS:
        text = f"tls: {_tls_reason(exc)}"
    elif cause is Cause.CONNECT:
        text = f"connect: {_os_reason(_os_error_of(exc))}"
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        text = f"invalid response: the URL cannot be requested ({_first_line(exc)})"
    elif isinstance(exc, aiohttp.ServerDisconnectedError) and status is None:
        text = "invalid response: the server closed the connection without an answer"
    else:
        what = "the body broke off" if status is not None else "not an HTTP answer"
        text = f"invalid response: {what}: {_first_line(exc)}"
    if len(text) > MAX_DETAIL_LENGTH:
        text = text[: MAX_DETAIL_LENGTH - 3] + "..."
    return text


def _os_error_of(exc: BaseException) -> BaseException:
    """The OS's error under aiohttp's wrapper, if there is one."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return exc.certificate_error
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error
    return exc


def _os_reason(error: BaseException) -> str:
    """'connection refused' rather than "[Errno 111] Connect call failed ('10.0.0.1', 80)"."""
    if isinstance(error, socket.gaierror):
        return (error.strerror or _first_line(error)).lower()
    if isinstance(error, OSError) and error.errno and error.errno in errno.errorcode:
        return os.strerror(error.errno).lower()
    return _first_line(error)


def _tls_reason(exc: BaseException) -> str:
    error = _os_error_of(exc)
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason).lower().replace("_", " ")
    return _first_line(error)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _elapsed_ms(started: float) -> int:
    """Milliseconds since `started` (a time.perf_counter() reading), rounded to the nearest one."""
    return round((time.perf_counter() - started) * 1000)
