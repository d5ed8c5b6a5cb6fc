"""Sends one rendered message to one channel, and says how it went: the dispatcher and
`POST /channels/{id}/test` call it, and it never raises, so one bad channel cannot stop the rest.

Apprise's plugins block (requests, smtplib): they run in a bounded pool of NOTIFY_SENDERS threads,
each send within NOTIFY_TIMEOUT, so sending never blocks the event loop or slows probing. Our
signed webhook is an aiohttp POST. Both go through the SSRF guard of the probes: literal addresses
when the channel is made (targets.py), names when a message is sent (here).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import apprise

from ..alerts import Channel, ChannelType, NotificationKind
from ..config import Settings
from ..errors import TargetRefused
from ..guard import TargetPolicy, policy_for
from ..http_guard import guarded_connector, refuse_internal_host, refuse_literal_hosts
from . import apprise_log
from .messages import Message
from .sealing import Sealer
from .targets import InvalidTarget, check_hosts, contacted_hosts, instantiate, target_hint

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
SIGNATURE_PREFIX = "sha256="
RETRYABLE_STATUSES = frozenset({408, 425, 429})  # and every 5xx
MAX_DETAIL = 300

_NOTIFY_TYPES = {
    NotificationKind.DOWN.value: apprise.NotifyType.FAILURE,
    NotificationKind.RESOLVED.value: apprise.NotifyType.SUCCESS,
    NotificationKind.REMINDER.value: apprise.NotifyType.WARNING,
    NotificationKind.STORM.value: apprise.NotifyType.WARNING,
    NotificationKind.DIGEST.value: apprise.NotifyType.FAILURE,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one send went. `retryable`: worth trying again later (the channel was down, slow, or
    said "later"); not retryable: it will fail the same way (a 4xx, a refused target)."""

    ok: bool
    retryable: bool
    detail: str


@dataclass(frozen=True, slots=True)
class UnsealedChannel:
    """A channel with its target (and webhook secret) in the clear: for sending, never stored,
    never logged, never shown."""

    channel: Channel
    target: str
    secret: str | None = None

    @classmethod
    def unseal(
        cls, sealer: Sealer, channel: Channel, sealed_target: bytes, sealed_secret: bytes | None
    ) -> UnsealedChannel:
        """SealingUnavailable naming the channel when no key opens it."""
        target = sealer.unseal(sealed_target, channel=channel.name)
        secret = (
            None if sealed_secret is None else sealer.unseal(sealed_secret, channel=channel.name)
        )
        return cls(channel, target, secret)


class Sender(Protocol):
    async def send(self, channel: UnsealedChannel, message: Message) -> Outcome: ...


def new_webhook_secret() -> str:
    """A new per-channel HMAC key for the signed webhook (shown once, when the channel is made)."""
    return secrets.token_urlsafe(32)


def sign(secret: str | bytes, body: bytes) -> str:
    """The X-Signature header of `body`: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """The receiver's check: True if `header` (X-Signature) signs the raw `body` with `secret`.

    Compute the HMAC over the bytes received, before parsing the JSON, and compare in constant
    time. Drop a message whose X-Idempotency-Key was seen already: delivery is at least once.
    """
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


class ChannelSender:
    """The Sender of both channel types; one per process, closed with `close()` (or `async with`).

    `policy` is the SSRF guard's (from the settings unless given), `clock` gives X-Timestamp.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        policy: TargetPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._policy = policy_for(settings) if policy is None else policy
        self._timeout = settings.NOTIFY_TIMEOUT
        self._user_agent = settings.USER_AGENT
        self._clock = clock
        self._threads = ThreadPoolExecutor(
            max_workers=settings.NOTIFY_SENDERS, thread_name_prefix="notify"
        )
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ChannelSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the webhook session; sends still running in a thread are not waited for."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def send(self, channel: UnsealedChannel, message: Message) -> Outcome:
        """Send `message` to `channel`; never raises (but for cancellation)."""
        try:
            if channel.channel.type is ChannelType.WEBHOOK:
                outcome = await self._send_webhook(channel, message)
            else:
                outcome = await self._send_apprise(channel, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the dispatcher: report it, scrubbed
            outcome = Outcome(False, True, f"unexpected {type(exc).__name__}: {exc}")
        return Outcome(outcome.ok, outcome.retryable, _scrub(outcome.detail, channel))

    # -- our signed webhook --

    async def _send_webhook(self, channel: UnsealedChannel, message: Message) -> Outcome:
        if not channel.secret:
            return Outcome(False, False, "the webhook channel has no secret to sign with")
        hint = target_hint(channel.target)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            SIGNATURE_HEADER: sign(channel.secret, message.payload),
            TIMESTAMP_HEADER: str(int(self._clock())),
            IDEMPOTENCY_HEADER: message.key,
        }
        try:
            async with self._webhook_session().post(
                channel.target, data=message.payload, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                await response.content.read(1024)  # a little, so the connection can be reused
        except TargetRefused as exc:
            return Outcome(False, False, f"{hint} is refused: {exc.reason}")
        except TimeoutError:
            return Outcome(False, True, f"{hint} did not answer within {self._timeout:g} s")
        except aiohttp.InvalidURL:
            return Outcome(False, False, f"{hint} is not a valid URL")
        except (aiohttp.ClientError, OSError) as exc:
            return Outcome(False, True, f"{hint} could not be reached: {type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return Outcome(True, False, f"{hint} answered {status}")
        retryable = status in RETRYABLE_STATUSES or status >= 500
        why = " (redirects are not followed)" if 300 <= status < 400 else ""
        return Outcome(False, retryable, f"{hint} answered {status}{why}")

    def _webhook_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=guarded_connector(self._policy),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                # Literal hosts never reach the resolver; this checks them.
                middlewares=() if self._policy.allow_all else (refuse_literal_hosts(self._policy),),
            )
        return self._session

    # -- Apprise --

    async def _send_apprise(self, channel: UnsealedChannel, message: Message) -> Outcome:
        hint = target_hint(channel.target)
        try:
            plugin = instantiate(channel.target)
            hosts = contacted_hosts(plugin)
            check_hosts(hint, hosts, self._policy)
            for host in hosts:
                # Apprise resolves the name again itself; a name that changes its answer between
                # the two lookups (DNS rebinding) is an open edge, see README "Alerts".
                await refuse_internal_host(host, 0, self._policy)
        except InvalidTarget as exc:
            return Outcome(False, False, str(exc))
        except TargetRefused as exc:
            return Outcome(False, False, f"{hint} is refused: {exc.reason}")
        except OSError as exc:
            return Outcome(False, True, f"{hint}: its host cannot be resolved ({exc})")
        plugin.socket_connect_timeout = self._timeout
        plugin.socket_read_timeout = self._timeout
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._threads, _notify, plugin, message)
        try:
            ok, why = await asyncio.wait_for(work, self._timeout)
        except TimeoutError:
            return Outcome(False, True, f"{hint} did not answer within {self._timeout:g} s")
        if ok:
            return Outcome(True, False, f"{hint} accepted it")
        # Apprise does not tell a 4xx from a 5xx: every failure is retried until NOTIFY_RETRY_HOURS.
        return Outcome(False, True, f"{hint} failed: {why or 'Apprise gave no reason'}")


def _notify(plugin: Any, message: Message) -> tuple[bool, str]:
    """In a sender thread: Apprise's blocking send, with what it logged on failure."""
    with apprise_log.captured() as lines:
        try:
            ok = bool(
                plugin.notify(
                    body=message.body,
                    title=message.title,
                    notify_type=_NOTIFY_TYPES.get(message.kind, apprise.NotifyType.INFO),
                )
            )
        except Exception as exc:  # a plugin's bug is a failed send, not a dead thread
            return False, f"{type(exc).__name__}: {exc}"
    return ok, apprise_log.why(lines)


def _scrub(detail: str, channel: UnsealedChannel) -> str:
    """`detail` without the channel's target or secret, or any piece of them, and short."""
    secrets_ = [channel.target, *([channel.secret] if channel.secret else [])]
    rest = channel.target.partition("://")[2]
    secrets_ += [part for part in _split(rest) if len(part) >= 4]
    hint = target_hint(channel.target)
    hint_host = hint.partition("://")[2].partition("/")[0]
    for secret in sorted(set(secrets_), key=len, reverse=True):
        if secret and secret not in hint_host and secret not in hint:
            detail = detail.replace(secret, "…")
    return detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "…"


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[/:@?&=#,]", text) if part]
