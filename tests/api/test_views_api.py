"""The dashboard's reads over HTTP, on each deployment: the overview page, a monitor's history and
the newest cycle."""

from __future__ import annotations

from datetime import datetime

import httpx

from service_monitor.models import Cause, Check, CycleOutcome, CycleRecord, Status
from service_monitor.services import Services
from tests.conftest import FakeClock

HOUR = 3600


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def ok(monitor_id: int, when: float, latency_ms: int = 20) -> Check:
    return Check(monitor_id, when, Status.SUCCESS, 200, latency_ms)


def bad(monitor_id: int, when: float) -> Check:
    return Check(monitor_id, when, Status.FAIL, 503, 40, Cause.HTTP_STATUS)


async def test_overview_shows_last_check_uptime_and_a_24_hour_strip(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    clock.now = 1_800_000_000.0 - 1_800_000_000.0 % HOUR + 1000  # 1000 s into an hour
    now = clock.now
    a = await services.storage.add_monitor("a", "http://a.com", now - 40 * 24 * HOUR)
    await services.storage.add_monitor("b", "http://b.com", now)
    checks = [ok(a.id, now - h * HOUR) for h in range(1, 31)]  # one per hour, 30 hours back
    checks += [bad(a.id, now - 10 * 24 * HOUR), bad(a.id, now - 31 * 24 * HOUR)]  # 31 d: outside
    checks.append(bad(a.id, now - 10))
    await services.storage.add_checks(checks)
    await services.storage.roll_up(now - 2 * HOUR)  # some hours from the rollups, some raw

    body = (await client.get("/urls/overview")).json()

    assert (body["total"], body["limit"], body["offset"], body["q"]) == (2, 25, 0, None)
    first, second = body["items"]
    assert (first["id"], first["name"], first["url"]) == (a.id, "a", "http://a.com")
    last = first["last_check"]
    assert (last["status"], last["http_status"], last["cause"]) == ("fail", 503, "http_status")
    assert at(last["checked_at"]) == now - 10
    strip = first["strip"]
    assert len(strip) == 24
    assert at(strip[-1]["start"]) == now - 1000  # the current hour, last
    assert at(strip[0]["start"]) == now - 1000 - 23 * HOUR
    assert [(s["success"], s["fail"]) for s in strip] == [(1, 0)] * 23 + [(0, 1)]
    assert first["uptime"]["day"] == round(23 / 24, 6)
    assert first["uptime"]["month"] == round(30 / 32, 6)
    assert second["last_check"] is None
    assert second["uptime"] == {"day": None, "month": None}
    assert all(s == {**s, "success": 0, "fail": 0} for s in second["strip"])


async def test_overview_pages_and_searches_on_the_server(
    client: httpx.AsyncClient, services: Services
) -> None:
    await services.storage.import_monitors(
        [(f"svc-{i:03}", f"http://host{i}.example.com/") for i in range(60)], 0.0
    )

    page = (await client.get("/urls/overview", params={"limit": 25, "offset": 50})).json()
    assert page["total"] == 60
    assert [m["name"] for m in page["items"]] == [f"svc-{i:03}" for i in range(50, 60)]

    listed = (await client.get("/urls", params={"q": "host5", "limit": 5})).json()
    assert listed["total"] == 11
    assert [m["name"] for m in listed["items"]] == [
        "svc-005",
        *(f"svc-{i:03}" for i in range(50, 54)),
    ]

    found = (await client.get("/urls/overview", params={"q": "HOST4"})).json()
    assert found["total"] == 11  # host4 and host40..host49
    assert found["q"] == "HOST4"
    assert {m["name"] for m in found["items"]} == {
        "svc-004",
        *(f"svc-{i:03}" for i in range(40, 50)),
    }


async def test_overview_refuses_pages_too_big_with_a_reason(client: httpx.AsyncClient) -> None:
    response = await client.get("/urls/overview", params={"limit": 101})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


async def test_history_buckets_each_span_and_lists_recent_failures(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    clock.now = 1_800_000_000.0 - 1_800_000_000.0 % (24 * HOUR) + 5 * HOUR + 7  # 05:00:07 UTC
    now = clock.now
    monitor = await services.storage.add_monitor("a", "http://a.com", now - 40 * 24 * HOUR)
    checks = [ok(monitor.id, now - h * HOUR, latency_ms=10 + h % 2 * 20) for h in range(24 * 31)]
    checks += [bad(monitor.id, now - 3 * HOUR + 60), bad(monitor.id, now - 8 * 24 * HOUR)]
    await services.storage.add_checks(checks)
    await services.storage.roll_up(now)

    day = (await client.get(f"/urls/{monitor.id}/history")).json()
    assert (day["id"], day["span"], day["bucket_seconds"]) == (monitor.id, "day", HOUR)
    assert len(day["buckets"]) == 24
    assert at(day["buckets"][-1]["start"]) == now - 7
    assert day["buckets"][-4]["fail"] == 1  # three hours back
    assert {b["latency_ms"] for b in day["buckets"]} == {10.0, 30.0}
    assert [at(f["checked_at"]) for f in day["failures"]] == [now - 3 * HOUR + 60]
    assert day["failures"][0]["cause"] == "http_status"

    week = (await client.get(f"/urls/{monitor.id}/history", params={"span": "week"})).json()
    assert len(week["buckets"]) == 7 * 24
    assert sum(b["fail"] for b in week["buckets"]) == 1  # the 8-day-old one is outside

    month = (await client.get(f"/urls/{monitor.id}/history", params={"span": "month"})).json()
    assert (len(month["buckets"]), month["bucket_seconds"]) == (30, 24 * HOUR)
    assert at(month["buckets"][-1]["start"]) == now - 5 * HOUR - 7  # today, midnight UTC
    assert month["buckets"][-1]["success"] == 6  # 00:00:07 to 05:00:07
    assert [b["success"] for b in month["buckets"][:-1]] == [24] * 29
    assert sum(b["fail"] for b in month["buckets"]) == 2
    assert len(month["failures"]) == 2


async def test_history_of_an_unknown_monitor_or_span_says_why(client: httpx.AsyncClient) -> None:
    missing = await client.get("/urls/999/history")
    assert missing.status_code == 404
    assert "999" in missing.json()["detail"]
    wrong = await client.get("/urls/1/history", params={"span": "year"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["query", "span"]


async def test_cycles_are_listed_newest_first_and_empty_before_the_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    none_yet = await client.get("/cycles")
    assert (none_yet.status_code, none_yet.json()) == (200, [])

    older = CycleRecord(1_800_000_000.0, 1_800_000_042.5, CycleOutcome.DONE, 10, 9, 1, 10)
    newer = CycleRecord(1_800_000_600.0, 1_800_000_600.0, CycleOutcome.SKIPPED)
    await services.storage.record_cycle(newer)
    await services.storage.record_cycle(older)
    body = (await client.get("/cycles")).json()

    assert [at(c["finished_at"]) for c in body] == [1_800_000_600.0, 1_800_000_042.5]
    assert [c["outcome"] for c in body] == ["skipped", "done"]
    assert (body[1]["probed"], body[1]["success"], body[1]["fail"]) == (10, 9, 1)
    assert len((await client.get("/cycles", params={"limit": 1})).json()) == 1
