"""Reads and checks where a channel sends (an Apprise URL, or our signed webhook's http(s) URL):
a bad target is refused when the channel is made, with what and why, not at 3 a.m. when it fails;
an internal one is refused by the probes' SSRF rules; and `target_hint` says what may be shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import apprise
from apprise.manager_plugins import NotificationManager
from yarl import URL

from ..alerts import ChannelType
from ..errors import TargetRefused
from ..guard import TargetPolicy, parse_address, refused
from . import apprise_log

# Apprise follows HTTP redirects by default; a redirect to an internal address would pass the
# guard, which checks the host of the URL only. Our channels never follow one.
_ASSET = apprise.AppriseAsset(http_redirects=False)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,31}")
_PLUGINS = NotificationManager()  # type: ignore[no-untyped-call]

MAX_TARGET_LENGTH = 2048


class InvalidTarget(ValueError):
    """A channel target that cannot be used; the message names the scheme and why, never the
    URL's tokens. A ValueError, so a pydantic validator raising it answers 422."""


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """A checked target: its URL (secret: seal it), what may be shown of it, and the hosts the
    sender connects to (empty for hosted services such as slack://, which talk to public hosts)."""

    type: ChannelType
    url: str
    hint: str
    hosts: tuple[str, ...]


def parse_target(channel_type: ChannelType | str, url: str, policy: TargetPolicy) -> ChannelTarget:
    """Check `url` as a target of `channel_type`: InvalidTarget if it cannot be used,
    TargetRefused (naming the hint, not the URL) if the guard refuses a literal address in it.

    A host given by name passes here: what it resolves to is checked when a message is sent.
    """
    try:
        kind = ChannelType(channel_type)
    except ValueError:
        raise InvalidTarget(
            f"channel type {channel_type!r} is not one of {', '.join(t.value for t in ChannelType)}"
        ) from None
    url = url.strip()
    if not url:
        raise InvalidTarget("the target URL is empty")
    if len(url) > MAX_TARGET_LENGTH:
        raise InvalidTarget(f"the target URL is longer than {MAX_TARGET_LENGTH} characters")
    hosts: tuple[str, ...]
    if kind is ChannelType.WEBHOOK:
        hosts = (_webhook_host(url),)
    else:
        hosts = contacted_hosts(instantiate(url))
    hint = target_hint(url)
    check_hosts(hint, hosts, policy)
    return ChannelTarget(kind, url, hint, hosts)


def check_hosts(hint: str, hosts: tuple[str, ...], policy: TargetPolicy) -> None:
    """TargetRefused (naming `hint`) if any of `hosts` is a literal address the policy refuses."""
    reasons = []
    for host in hosts:
        address = parse_address(host)
        if address is not None and (reason := policy.refusal(address)) is not None:
            reasons.append(reason)
    if reasons:
        raise refused(hint, reasons)


def instantiate(url: str) -> Any:
    """Apprise's plugin for `url` (its NotifyBase), redirects off; InvalidTarget saying why not."""
    scheme = _scheme(url)
    if scheme is None:
        raise InvalidTarget("the target is not a URL (no scheme://)")
    web = scheme in ("http", "https")  # Apprise reads some services' own web URLs (Slack's...)
    if scheme not in _PLUGINS and not web:
        raise InvalidTarget(
            f"Apprise URL of scheme {scheme}:// is refused: Apprise knows no service of that name"
        )
    with apprise_log.captured() as lines:
        plugin = apprise.Apprise.instantiate(url, asset=_ASSET)
    if plugin is None:
        if web:
            why = "it is no service's web address that Apprise knows; make it a webhook channel"
        else:
            why = apprise_log.why(lines, *_parts(url)) or "Apprise could not read it"
        raise InvalidTarget(f"Apprise URL of scheme {scheme}:// is not valid: {why}")
    if not getattr(plugin, "enabled", True):
        raise InvalidTarget(
            f"Apprise URL of scheme {scheme}:// needs a component this server does not have"
        )
    plugin.redirects = False
    return plugin


def contacted_hosts(plugin: Any) -> tuple[str, ...]:
    """The hosts an Apprise plugin connects to, named in its URL: the SMTP server of an e-mail,
    the URL's host for json://, form://, xml://, ntfy://host, gotify://, ...; none for hosted
    services (slack://, discord://, ntfys://topic), whose URLs hold only tokens."""
    smtp = getattr(plugin, "smtp_host", None)
    if isinstance(smtp, str) and smtp:
        return (smtp,)
    host = getattr(plugin, "host", None)
    if isinstance(host, str) and host and _names_a_host(plugin):
        return (host,)
    return ()


def target_hint(url: str) -> str:
    """What may be shown of a target: its scheme, and its host when the URL names one the sender
    contacts (`json://hooks.example.com/…`, `https://hooks.example.com:8443/…`); never a user,
    password, token, path or query (`slack://…`)."""
    scheme = _scheme(url)
    if scheme is None:
        return "…"
    if scheme in ("http", "https"):
        try:
            parsed = URL(url)
            return _hint(scheme, parsed.host, parsed.explicit_port)
        except (ValueError, TypeError):
            return f"{scheme}://…"
    try:
        plugin = instantiate(url)
    except InvalidTarget:
        return f"{scheme}://…"
    if _names_a_host(plugin):
        return _hint(scheme, getattr(plugin, "host", None), getattr(plugin, "port", None))
    return f"{scheme}://…"


def _webhook_host(url: str) -> str:
    scheme = _scheme(url)
    if scheme not in ("http", "https"):
        shown = f"{scheme}://" if scheme else "no scheme"
        raise InvalidTarget(f"a webhook URL must be http:// or https://, not {shown}")
    try:
        host = URL(url).host
    except (ValueError, TypeError) as exc:
        raise InvalidTarget(f"webhook URL of scheme {scheme}:// is not valid: {exc}") from None
    if not host:
        raise InvalidTarget(f"webhook URL of scheme {scheme}:// has no host")
    return host


def _scheme(url: str) -> str | None:
    scheme, found, _ = url.partition("://")
    scheme = scheme.lower()
    return scheme if found and _SCHEME.fullmatch(scheme) else None


def _names_a_host(plugin: Any) -> bool:
    """Whether the plugin's URL forms have a {host}: a server the URL chooses, not a hosted API."""
    templates = getattr(plugin, "templates", ())
    return any("{host}" in template for template in templates)


def _hint(scheme: str, host: str | None, port: int | None) -> str:
    if not host:
        return f"{scheme}://…"
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}{f':{port}' if port else ''}/…"


def _parts(url: str) -> list[str]:
    """Every piece of `url` that may be a secret (user, password, tokens, path and query items)."""
    rest = url.partition("://")[2]
    return [part for part in re.split(r"[/:@?&=#,]", rest) if part]


def refused_target(hint: str, exc: TargetRefused) -> TargetRefused:
    """`exc` naming `hint` instead of what it named (a URL may hold tokens)."""
    return TargetRefused(hint, exc.reason)
