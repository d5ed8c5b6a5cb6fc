"""Maintenance windows: which is active at a moment and when it ends, one-off and cron (in a time
zone, across daylight saving), and the ValueErrors the API shows for a bad cron or zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service_monitor.alerting.maintenance import (
    ActiveWindows,
    check_cron,
    check_timezone,
    window_end,
)
from service_monitor.alerts import MaintenanceWindow

PARIS = ZoneInfo("Europe/Paris")


def at(*parts: int, tz: ZoneInfo = PARIS) -> float:
    year, month, day, hour, minute = parts
    return datetime(year, month, day, hour, minute, tzinfo=tz).timestamp()


def window(
    *,
    monitor_id: int | None = None,
    starts_at: float | None = None,
    cron: str | None = None,
    timezone: str = "Europe/Paris",
    duration: int = 3600,
    id: int = 1,
) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=id,
        monitor_id=monitor_id,
        starts_at=starts_at,
        cron=cron,
        timezone=timezone,
        duration=duration,
        note="",
        created_at=0.0,
    )


def test_a_one_off_window_is_active_from_its_start_until_its_end_excluded() -> None:
    start = at(2024, 5, 1, 10, 0)
    one_off = window(starts_at=start, duration=600)
    assert window_end(one_off, start - 1) is None
    assert window_end(one_off, start) == start + 600
    assert window_end(one_off, start + 599.9) == start + 600
    assert window_end(one_off, start + 600) is None


def test_a_cron_window_is_active_for_its_duration_after_each_occurrence_in_its_time_zone() -> None:
    sundays = window(cron="0 2 * * sun", duration=7200)  # 02:00-04:00 Paris time, Sundays
    start = at(2024, 5, 5, 2, 0)  # a Sunday
    assert window_end(sundays, start - 1) is None
    assert window_end(sundays, start) == start + 7200
    assert window_end(sundays, start + 3600) == start + 7200
    assert window_end(sundays, start + 7200) is None
    assert window_end(sundays, at(2024, 5, 6, 2, 30)) is None  # a Monday


def test_a_cron_window_follows_daylight_saving() -> None:
    nightly = window(cron="30 3 * * *", duration=1800)
    winter = at(2024, 1, 10, 3, 45)
    summer = at(2024, 7, 10, 3, 45)
    assert window_end(nightly, winter) == at(2024, 1, 10, 4, 0)
    assert window_end(nightly, summer) == at(2024, 7, 10, 4, 0)
    # Read in UTC the same cron is an hour or two off Paris time.
    utc = window(cron="30 3 * * *", duration=1800, timezone="UTC")
    assert window_end(utc, summer) is None


def test_overlapping_occurrences_give_the_end_of_the_latest_started() -> None:
    every_ten = window(cron="*/10 * * * *", duration=900)  # each lasts 15 minutes
    now = at(2024, 5, 1, 10, 12)
    assert window_end(every_ten, now) == at(2024, 5, 1, 10, 25)


def test_windows_of_one_monitor_hold_only_it_and_windows_of_all_hold_every_monitor() -> None:
    now = at(2024, 5, 1, 10, 0)
    mine = window(monitor_id=7, starts_at=now - 60, duration=600)
    everyone = window(starts_at=now - 60, duration=120, id=2)
    active = ActiveWindows([mine, everyone], now)
    assert active.held_until(7) == now + 540
    assert active.held_until(8) == now + 60
    assert ActiveWindows([mine], now).held_until(8) is None
    assert not ActiveWindows([], now)


@pytest.mark.parametrize(
    ("cron", "named"),
    [
        ("0 2 * *", "Wrong number of fields"),
        ("61 * * * *", "higher than the maximum"),
        ("0 0 31 2 *", "never fires"),
        ("0 2 * * someday", "someday"),
    ],
)
def test_a_bad_cron_is_a_value_error_naming_why(cron: str, named: str) -> None:
    with pytest.raises(ValueError, match=named) as raised:
        check_cron(cron, "Europe/Paris")
    assert repr(cron) in str(raised.value)


@pytest.mark.parametrize("name", ["Nowhere/Else", "../etc/passwd", "", "Europe/"])
def test_a_bad_time_zone_is_a_value_error_naming_it(name: str) -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        check_timezone(name)
    with pytest.raises(ValueError, match="not an IANA time zone"):
        check_cron("0 2 * * *", name)


def test_a_stored_window_with_a_cron_no_longer_valid_is_never_active() -> None:
    assert window_end(window(cron="not a cron"), at(2024, 5, 1, 10, 0)) is None
