"""The order a cycle probes its targets in, and for each probe whether its host needs a slot and
whether its connection is worth keeping: decided once, before the first probe, in linear time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Target


@dataclass(frozen=True, slots=True)
class PlannedProbe:
    target: Target
    host: str  # scheme://host[:port], lower-case: the unit of politeness and of connection reuse
    limited: bool  # the host has more targets than the per-host limit: take one of its slots first
    keep_alive: bool  # the same host comes up again soon, so its connection is kept for it
    warm: bool = False  # the same host came up shortly before: its kept connection can be used


def host_of(url: str) -> str:
    """`scheme://netloc` of a validated http(s) URL, lower-cased; cheaper than a full URL parse,
    which matters at 100,000 URLs a cycle."""
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://{netloc}".lower()


def plan_probes(
    targets: Sequence[Target], *, per_host_limit: int, reuse_window: int
) -> list[PlannedProbe]:
    """Interleave the hosts, so no host sees its URLs in a burst while others wait, and mark the
    probes whose host comes up again within `reuse_window` positions as worth a kept connection
    (`keep_alive`), and those whose host came up within that many positions before (`warm`).

    Hosts take turns in the order they first appear (targets come ordered by id): the first URL of
    every host, then the second of every host that has two, and so on. With one URL per host, the
    usual case, the order is the targets' own. `per_host_limit` 0 means no host is limited.
    """
    by_host: dict[str, list[Target]] = {}
    for target in targets:
        by_host.setdefault(host_of(target.url), []).append(target)
    if len(by_host) == len(targets):  # every host once: nothing to interleave, reuse or limit
        return [PlannedProbe(t, host, False, False) for host, [t] in by_host.items()]

    order: list[tuple[str, Target]] = []
    turn = 0
    groups = list(by_host.items())
    while groups:  # each round visits only the hosts that still have URLs: linear overall
        still: list[tuple[str, list[Target]]] = []
        for host, group in groups:
            order.append((host, group[turn]))
            if len(group) > turn + 1:
                still.append((host, group))
        groups = still
        turn += 1

    limited = {host for host, group in by_host.items() if 0 < per_host_limit < len(group)}
    next_seen: dict[str, int] = {}
    keep = [False] * len(order)
    for position in range(len(order) - 1, -1, -1):
        host = order[position][0]
        following = next_seen.get(host)
        keep[position] = following is not None and following - position <= reuse_window
        next_seen[host] = position
    last_seen: dict[str, int] = {}
    warm = [False] * len(order)
    for position, (host, _) in enumerate(order):
        previous = last_seen.get(host)
        warm[position] = previous is not None and position - previous <= reuse_window
        last_seen[host] = position
    return [
        PlannedProbe(target, host, host in limited, keep[position], warm[position])
        for position, (host, target) in enumerate(order)
    ]
