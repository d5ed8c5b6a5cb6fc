"""Which maintenance windows are active at a moment and when they end, so the dispatcher can hold a
monitor's notifications until then: one-off windows, and recurring ones read from a cron
expression in an IANA time zone (APScheduler's CronTrigger, daylight saving included).

Pure: no I/O. The API validates a window's cron and time zone with `check_cron` and `check_timezone`,
whose ValueErrors say what is wrong in one sentence.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from apscheduler.triggers.cron import CronTrigger

from ..alerts import MaintenanceWindow

# Occurrences of one recurring window looked at, at most, to find the one running at a moment (an
# every-minute cron lasting a week would otherwise be walked 10,080 times).
MAX_OCCURRENCES = 1000


def check_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` ("Europe/Paris", "UTC"); ValueError when there is none."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"time zone {name!r} is not an IANA time zone name such as 'Europe/Paris' or 'UTC'"
        ) from None


def check_cron(expression: str, timezone: str = "UTC") -> CronTrigger:
    """The trigger of a five-field cron expression ("0 2 * * sun": minute, hour, day of month,
    month, day of week) read in `timezone`; ValueError when either is not valid or the expression
    never fires (the 31st of February)."""
    tz = check_timezone(timezone)
    try:
        trigger = CronTrigger.from_crontab(expression, timezone=tz)
    except ValueError as exc:
        raise ValueError(f"cron {expression!r}: {exc}") from None
    # Within four years and a day: every real expression fires in that span (29 February included).
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    if first is None:
        raise ValueError(f"cron {expression!r} never fires")
    return trigger


@lru_cache(maxsize=1024)
def _trigger(expression: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=check_timezone(timezone))


def window_end(window: MaintenanceWindow, now: float) -> float | None:
    """When the occurrence of `window` running at `now` ends (seconds since the epoch), or None
    when none runs. An occurrence covers [start, start + duration); of overlapping occurrences the
    latest started is the one whose end is given (the next look at that time finds the next)."""
    if window.duration <= 0:
        return None
    if window.cron is None:
        if window.starts_at is None:
            return None
        end = window.starts_at + window.duration
        return end if window.starts_at <= now < end else None
    try:
        trigger = _trigger(window.cron, window.timezone)
    except ValueError:  # stored before the rules it breaks; never active rather than crashing
        return None
    moment = datetime.fromtimestamp(now, UTC)
    # The first occurrence that could still run at `now` started after now - duration.
    fire = trigger.get_next_fire_time(None, moment - timedelta(seconds=window.duration - 1e-3))
    latest = None
    for _ in range(MAX_OCCURRENCES):
        if fire is None or fire > moment:
            break
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    if latest is None:
        return None
    finish: float = latest.timestamp() + window.duration
    return finish


def applies_to(window: MaintenanceWindow, monitor_id: int | None) -> bool:
    """Whether the window covers the monitor: windows of every monitor cover each one."""
    return window.monitor_id is None or window.monitor_id == monitor_id


class ActiveWindows:
    """The windows active at one moment, each looked at once: `held_until(monitor_id)` is then a
    dictionary lookup for each notification the dispatcher weighs."""

    def __init__(self, windows: Iterable[MaintenanceWindow], now: float) -> None:
        self.now = now
        self.everyone: float | None = None  # the end of the latest window of every monitor
        self.by_monitor: dict[int, float] = {}
        for window in windows:
            end = window_end(window, now)
            if end is None:
                continue
            if window.monitor_id is None:
                self.everyone = max(end, self.everyone or end)
            else:
                self.by_monitor[window.monitor_id] = max(
                    end, self.by_monitor.get(window.monitor_id, end)
                )

    def held_until(self, monitor_id: int | None) -> float | None:
        """When the last window covering the monitor at `now` ends, or None when none covers it."""
        ends = [e for e in (self.everyone, self.by_monitor.get(monitor_id or -1)) if e is not None]
        return max(ends) if ends else None

    def __bool__(self) -> bool:
        return self.everyone is not None or bool(self.by_monitor)
