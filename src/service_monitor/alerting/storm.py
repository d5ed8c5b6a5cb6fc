"""The storm guard's two decisions, pure so they are tested on figures: whether the prober's own
network is failing (most monitors failing with network causes at once, or the canaries), and which
of a tick's DOWN notifications a channel gets one by one and which go in one digest (a burst).

The dispatcher feeds them HealthStore.network_failures and its due rows; see dispatcher.py.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..alerts import Notification

# Seconds of checks the storm guard looks at, and the span of a burst.
STORM_WINDOW_S = 60.0
BURST_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class NetworkFigures:
    """HealthStore.network_failures over the last minute: monitors checked, those whose newest
    check failed with a network cause, and the same for the canaries."""

    checked: int
    failed: int
    canaries_checked: int = 0
    canaries_failed: int = 0

    @classmethod
    def of(cls, figures: tuple[int, int, int, int]) -> NetworkFigures:
        return cls(*figures)


@dataclass(frozen=True, slots=True)
class StormRule:
    """STORM_SHARE, STORM_MIN_MONITORS and whether CANARY_URLS are configured."""

    share: float = 0.5
    min_monitors: int = 20
    canaries: bool = False

    def is_storm(self, figures: NetworkFigures) -> bool:
        """A storm: the canaries (when configured and checked) all failed with network causes, or
        more than `share` of at least `min_monitors` checked monitors did; but canaries that all
        answered say the network works, whatever the share."""
        if self.canaries and figures.canaries_checked:
            if figures.canaries_failed == 0:
                return False
            if figures.canaries_failed == figures.canaries_checked:
                return True
        return (
            figures.checked >= self.min_monitors and figures.failed / figures.checked > self.share
        )

    def has_evidence(self, figures: NetworkFigures) -> bool:
        """Whether the figures are enough to say a storm is over: a storm is not ended by a
        minute without checks (between two cycles), only by checks that say so."""
        if self.canaries and figures.canaries_checked:
            return True
        return figures.checked >= self.min_monitors


class BurstCounter:
    """How many DOWN messages each channel was sent in the last minute (by this dispatcher), to
    tell a burst: a channel told of more than `limit` incidents in a minute gets the rest in one
    digest per tick instead of one message each."""

    def __init__(self, limit: int, window: float = BURST_WINDOW_S) -> None:
        self.limit = limit
        self.window = window
        self._sent: dict[int, deque[float]] = defaultdict(deque)

    def recent(self, channel_id: int, now: float) -> int:
        times = self._sent[channel_id]
        while times and times[0] <= now - self.window:
            times.popleft()
        return len(times)

    def count(self, channel_id: int, now: float, n: int = 1) -> None:
        self._sent[channel_id].extend([now] * n)

    def split(
        self, rows: Iterable[Notification], now: float
    ) -> tuple[list[Notification], dict[int, list[Notification]]]:
        """The DOWN rows due now, split into those sent one by one and, per channel, those that
        go in one digest: all of a channel's rows when, with what it was sent in the last minute,
        they would make more than `limit`."""
        by_channel: dict[int, list[Notification]] = defaultdict(list)
        for row in rows:
            by_channel[row.channel_id].append(row)
        singles: list[Notification] = []
        digests: dict[int, list[Notification]] = {}
        for channel_id, group in by_channel.items():
            if len(group) > 1 and self.recent(channel_id, now) + len(group) > self.limit:
                digests[channel_id] = group
            else:
                singles.extend(group)
        return singles, digests


def storm_minute(now: float) -> int:
    """The minute (seconds since the epoch, floored) a storm started in: its messages' key."""
    return int(now // 60 * 60)


def open_share(figures: NetworkFigures) -> str:
    """ "20 of 30 monitors", for the storm message."""
    return f"{figures.failed} of {figures.checked} monitors"


def ids(rows: Sequence[Notification]) -> list[int]:
    return [row.id for row in rows]
