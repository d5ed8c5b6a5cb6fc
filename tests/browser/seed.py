"""The browser tests' data: 1,000 monitors written through the product's storage, with an hour of
checks each, older failures on a few (so the hour and the week lists differ), rollups and a
finished cycle (so the page has a cycle to show from its first load).

As a probe makes them (issue 15): every failure has its detail sentence, every https answer the
expiry of the certificate seen, and the monitors with a degraded limit a degraded newest check."""

from __future__ import annotations

import time
from dataclasses import replace

from service_monitor.check_spec import CheckSpec
from service_monitor.config import Settings
from service_monitor.models import Cause, Check, CycleOutcome, CycleRecord, Status
from service_monitor.storage import open_storage

MONITORS = 1000
DAY = 86400


def name(i: int) -> str:
    return f"site {i:04d}"


def url(i: int) -> str:
    return f"https://site-{i:04d}.example.com/health"


def failing_this_hour(i: int) -> bool:
    """Every check of the past hour failed: the hour's fail list is these, lowest id first."""
    return i % 50 == 0


def failed_days_ago(i: int) -> bool:
    """30 failures 2 days ago: the week's and month's fail lists start with these."""
    return 901 <= i <= 912


DEGRADED_AFTER_MS = 300
SLOW_CHECK = CheckSpec(degraded_after_ms=DEGRADED_AFTER_MS)


def has_degraded_limit(i: int) -> bool:
    """These monitors' check flags a passing answer slower than DEGRADED_AFTER_MS."""
    return i % 9 == 0


def tls_days(i: int) -> int:
    """Whole days (and an hour) left on the certificate site i serves: 1 week to a year or so,
    a few under 30 days, one in 100 expired days ago."""
    return -3 if i % 100 == 37 else 5 + (i * 37) % 400


def hour_checks(i: int, now: float) -> list[Check]:
    checks = []
    expires = now + tls_days(i) * DAY + 3600
    for k in range(6):  # one every 10 minutes
        at = now - 60 - k * 600
        if failing_this_hour(i):
            detail = "status 503 is not below 400"
            checks.append(
                Check(
                    i, at, Status.FAIL, 503, 35 + i % 40, Cause.HTTP_STATUS, detail, False, expires
                )
            )
        elif i % 7 == 0 and k == 2:
            detail = "timeout: no answer within 2 s"
            checks.append(Check(i, at, Status.FAIL, None, 2000, Cause.TIMEOUT, detail))
        elif has_degraded_limit(i) and k == 0:
            latency = DEGRADED_AFTER_MS + 20 + i % 100
            checks.append(Check(i, at, Status.SUCCESS, 200, latency, None, None, True, expires))
        else:
            latency = 20 + (i * 7 + k * 13) % 300
            checks.append(Check(i, at, Status.SUCCESS, 200, latency, tls_expires_at=expires))
    return checks


def older_checks(i: int, now: float) -> list[Check]:
    if not failed_days_ago(i):
        return []
    detail = "connect: connection refused"
    return [
        Check(i, now - 2 * DAY - k * 60, Status.FAIL, None, 10, Cause.CONNECT, detail)
        for k in range(30)
    ]


async def seed(settings: Settings, monitors: int = MONITORS) -> None:
    storage = await open_storage(settings)
    try:
        now = time.time()
        await storage.import_monitors([(name(i), url(i)) for i in range(1, monitors + 1)], now)
        listed, _ = await storage.list_monitors(monitors, 0)
        ids = {m.name: m.id for m in listed}
        for i in range(1, monitors + 1):
            if has_degraded_limit(i):
                await storage.update_monitor(ids[name(i)], check=SLOW_CHECK)
        checks: list[Check] = []
        for i in range(1, monitors + 1):
            checks += [
                replace(c, monitor_id=ids[name(i)])
                for c in hour_checks(i, now) + older_checks(i, now)
            ]
        for start in range(0, len(checks), 2000):
            await storage.add_checks(checks[start : start + 2000])
        await storage.roll_up(now)
        await record_cycle(settings, now)
    finally:
        await storage.close()


async def record_cycle(settings: Settings, finished_at: float, probed: int = MONITORS) -> None:
    storage = await open_storage(settings)
    try:
        await storage.record_cycle(
            CycleRecord(
                started_at=finished_at - 5,
                finished_at=finished_at,
                outcome=CycleOutcome.DONE,
                probed=probed,
                success=probed - 20,
                fail=20,
                stored=probed,
            )
        )
    finally:
        await storage.close()


async def add_check(settings: Settings, check: Check) -> None:
    storage = await open_storage(settings)
    try:
        await storage.add_checks([check])
    finally:
        await storage.close()
