"""The SSRF guard's rules: a monitor must not turn the prober into a way into the private network
it runs in (loopback, private ranges, cloud metadata services), so such targets are refused."""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from yarl import URL

from .config import Settings
from .errors import TargetRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_net = ipaddress.ip_network

# Every range named here is refused with its name, so a refusal says why. Order matters where
# ranges nest: the first match names the address (broadcast before reserved, ::1 before ::/96).
_REFUSED: tuple[tuple[Network, str], ...] = (
    (_net("0.0.0.0/32"), "the unspecified address"),
    (_net("0.0.0.0/8"), "a 'this network' address"),
    (_net("10.0.0.0/8"), "a private address"),
    (_net("100.64.0.0/10"), "a carrier-grade NAT address"),
    (_net("127.0.0.0/8"), "a loopback address"),
    (_net("169.254.0.0/16"), "a link-local address, where cloud metadata services answer"),
    (_net("172.16.0.0/12"), "a private address"),
    (_net("192.0.0.0/24"), "an IETF protocol assignment address"),
    (_net("192.0.2.0/24"), "a documentation address (TEST-NET-1)"),
    (_net("192.88.99.0/24"), "a deprecated 6to4 relay anycast address"),
    (_net("192.168.0.0/16"), "a private address"),
    (_net("198.18.0.0/15"), "a benchmarking address"),
    (_net("198.51.100.0/24"), "a documentation address (TEST-NET-2)"),
    (_net("203.0.113.0/24"), "a documentation address (TEST-NET-3)"),
    (_net("224.0.0.0/4"), "a multicast address"),
    (_net("255.255.255.255/32"), "the broadcast address"),
    (_net("240.0.0.0/4"), "a reserved address"),
    (_net("::/128"), "the unspecified address"),
    (_net("::1/128"), "a loopback address"),
    (_net("::/96"), "a deprecated IPv4-compatible address"),
    (_net("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_net("100::/64"), "a discard-only address"),
    (_net("2001:db8::/32"), "a documentation address"),
    (_net("3fff::/20"), "a documentation address"),
    (_net("5f00::/16"), "a segment routing (SRv6) address"),
    (
        _net("fc00::/7"),
        "a unique local (private) address, where some cloud metadata services answer",
    ),
    (_net("fe80::/10"), "a link-local address"),
    (_net("fec0::/10"), "a deprecated site-local address"),
    (_net("ff00::/8"), "a multicast address"),
)

# IPv6 forms that carry an IPv4 address: the packets end up at the IPv4 address (directly for
# the mapped form, through a gateway for NAT64 and 6to4), so the IPv4 address is judged.
_MAPPED = _net("::ffff:0:0/96")
_COMPATIBLE = _net("::/96")
_NAT64 = _net("64:ff9b::/96")
_SIX_TO_FOUR = _net("2002::/16")

# What socket.inet_aton, and so the resolvers, read as an IPv4 address besides the dotted quad:
# 2130706433, 0x7f.1, 127.1, 017700000001. Only these characters, so no name is taken for one.
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")

_HINT = (
    "internal targets are refused unless ALLOW_PRIVATE_TARGETS=true"
    " or ALLOWED_TARGET_NETWORKS includes the address"
)


def parse_address(text: str) -> Address | None:
    """The address `text` names literally, without any IPv6 zone (`fe80::1%eth0`); None for a name.

    Reads the legacy IPv4 forms resolvers accept as well (`2130706433`, `0x7f.1`, `127.1`), and a
    trailing dot, so none of them passes as a name.
    """
    text = text.strip("[]").partition("%")[0]
    if text.endswith("."):
        text = text[:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and _LEGACY_IPV4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Which addresses the prober may reach: everything public, plus `allowed` internal ranges;
    everything at all with `allow_all` (ALLOW_PRIVATE_TARGETS=true)."""

    allow_all: bool = False
    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        return cls(settings.ALLOW_PRIVATE_TARGETS, tuple(settings.ALLOWED_TARGET_NETWORKS))

    def refusal(self, address: Address) -> str | None:
        """None if `address` may be probed, else why not, e.g.
        "127.0.0.1 is a loopback address (127.0.0.0/8)"."""
        if self.allow_all:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            address = ipaddress.IPv6Address(int(address))  # the zone does not change the range
        why = self._why(address)
        return None if why is None else f"{address} is {why}"

    def check_url(self, url: str) -> None:
        """Raise TargetRefused if `url` is not http(s) or its host is a refused literal address.

        A name passes: what it resolves to is checked when it is probed (see http_guard.py),
        since it may resolve elsewhere by then.
        """
        try:
            parsed = URL(url)
            host = parsed.host
        except ValueError as exc:
            raise TargetRefused(url, f"not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https"):
            shown = parsed.scheme or "none"
            raise TargetRefused(url, f"only http and https are probed, not scheme {shown!r}")
        address = parse_address(host) if host else None
        reason = None if address is None else self.refusal(address)
        if reason is not None:
            raise refused(url, [reason])

    def _why(self, address: Address) -> str | None:
        if any(address in network for network in self.allowed):
            return None
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                form, inner = embedded
                inner_why = self._why(inner)
                if inner_why is not None:
                    return f"the {form} form of {inner}, {inner_why}"
                if form != "IPv4-compatible":
                    return None  # it reaches a public IPv4 address, as DNS64 names do
        for network, name in _REFUSED:
            if address in network:
                return f"{name} ({network})"
        # Catch-all for what the table does not name: anything not reachable from the internet.
        if not address.is_global:
            return "not a globally routable address"
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    value = int(address)
    if address in _MAPPED:
        return "IPv4-mapped", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return "6to4", ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    # :: and ::1 are the unspecified and loopback addresses, not IPv4 addresses in disguise.
    if address in _COMPATIBLE and value > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def policy_for(settings: Settings) -> TargetPolicy:
    """The policy of `settings`, built once per distinct guard setting (for per-request callers)."""
    return _policy(settings.ALLOW_PRIVATE_TARGETS, tuple(settings.ALLOWED_TARGET_NETWORKS))


@functools.lru_cache(maxsize=8)
def _policy(allow_all: bool, allowed: tuple[Network, ...]) -> TargetPolicy:
    return TargetPolicy(allow_all, allowed)


def refused(target: str, reasons: Iterable[str]) -> TargetRefused:
    """The error for `target` whose addresses were all refused, each reason said once."""
    return TargetRefused(target, f"{'; '.join(dict.fromkeys(reasons))}; {_HINT}")
