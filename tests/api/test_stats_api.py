"""The seed's statistics over HTTP: exact counts at the window edges, and the cache rules."""

from __future__ import annotations

import random

import httpx
import pytest

from service_monitor.models import Cause, Check, Span, Status
from service_monitor.services import Services
from tests.conftest import FakeClock

STATUSES = ["success", "fail"]
SPANS = {"hour": 3600, "week": 7 * 86400, "month": 30 * 86400}


async def _seed_edges(services: Services, monitors: int = 14) -> list[tuple[str, str, Check]]:
    """Checks for `monitors` URLs at 1 s inside and 1 s outside each window edge, and inside."""
    rng = random.Random(20261127)
    now = services.clock()
    stored: list[tuple[str, str, Check]] = []
    for i in range(monitors):
        # Repeated names and URLs out of order: ties go to the monitor added first, whatever its
        # name or URL.
        name, url = f"m{i % 5}", f"http://m{monitors - i}.example.com/"
        monitor = await services.storage.add_monitor(name, url, now)
        checks = []
        for seconds in SPANS.values():
            for edge in (now - seconds + 1, now - seconds - 1, now - seconds):
                for _ in range(rng.randint(0, 3)):
                    status = rng.choice([Status.SUCCESS, Status.FAIL])
                    cause = Cause.HTTP_STATUS if status is Status.FAIL else None
                    checks.append(Check(monitor.id, edge, status, 200, 5, cause))
        for _ in range(rng.randint(0, 12)):
            status = rng.choice([Status.SUCCESS, Status.FAIL])
            cause = Cause.TIMEOUT if status is Status.FAIL else None
            at = now - rng.uniform(0, 31 * 86400)
            checks.append(Check(monitor.id, at, status, None, 5, cause))
        await services.storage.add_checks(checks)
        stored += [(name, url, c) for c in checks]
    return stored


def _brute_top(
    stored: list[tuple[str, str, Check]], status: str, since: float
) -> list[dict[str, object]]:
    added = list(dict.fromkeys((name, url) for name, url, _ in stored))  # in order of adding
    counts: dict[tuple[str, str], int] = {}
    for name, url, check in stored:
        if check.status.value == status and round(check.checked_at * 1000) >= round(since * 1000):
            counts[(name, url)] = counts.get((name, url), 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], added.index(item[0])))
    return [{"name": n, "url": u, "count": c} for (n, u), c in ranked[:10]]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("timespan", list(SPANS))
async def test_top_equals_a_brute_force_count_at_the_window_edges(
    client: httpx.AsyncClient, services: Services, status: str, timespan: str
) -> None:
    stored = await _seed_edges(services)
    response = await client.get(f"/urls/top/{status}/{timespan}", params={"cache": "false"})
    assert response.status_code == 200
    expected = _brute_top(stored, status, services.clock() - SPANS[timespan])
    assert response.json() == expected
    assert 0 < len(expected) <= 10


async def test_summary_equals_a_brute_force_count_over_30_days(
    client: httpx.AsyncClient, services: Services
) -> None:
    stored = await _seed_edges(services)
    since = services.clock() - SPANS["month"]
    inside = [c for _, _, c in stored if c.checked_at >= since]
    response = await client.get("/urls/summary", params={"cache": "false"})
    assert response.json() == [
        {"status": "success", "count": sum(c.status is Status.SUCCESS for c in inside)},
        {"status": "fail", "count": sum(c.status is Status.FAIL for c in inside)},
    ]


async def test_summary_with_no_checks_has_both_entries_at_zero(client: httpx.AsyncClient) -> None:
    for path in ("/urls/summary", "/urls/summary/"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.json() == [
            {"status": "success", "count": 0},
            {"status": "fail", "count": 0},
        ]


async def test_top_leaves_out_urls_with_no_such_check(
    client: httpx.AsyncClient, services: Services
) -> None:
    now = services.clock()
    a = await services.storage.add_monitor("a", "http://a.com", now)
    await services.storage.add_monitor("b", "http://b.com", now)
    await services.storage.add_checks([Check(a.id, now - 5, Status.SUCCESS, 200, 3)])
    assert (await client.get("/urls/top/fail/hour")).json() == []
    assert (await client.get("/urls/top/success/hour")).json() == [
        {"name": "a", "url": "http://a.com", "count": 1}
    ]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/urls/top/failed/hour", "'success' or 'fail'"),
        ("/urls/top/SUCCESS/hour", "'success' or 'fail'"),
        ("/urls/top/fail/day", "'hour', 'week' or 'month'"),
        ("/urls/top/fail/", "Not Found"),
    ],
)
async def test_anything_else_in_the_path_is_rejected_listing_the_allowed_values(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    response = await client.get(path)
    assert response.status_code in (404, 422)
    assert allowed in response.json()["detail"]


async def test_bad_cache_flag_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/urls/summary", params={"cache": "maybe"})
    assert response.status_code == 422
    assert "cache:" in response.json()["detail"]


async def _fail_once(services: Services, url: str) -> None:
    monitor_id = (await services.storage.add_monitor(url, url, services.clock())).id
    check = Check(monitor_id, services.clock() - 1, Status.FAIL, 500, 9, Cause.HTTP_STATUS)
    await services.storage.add_checks([check])


async def test_fresh_cached_result_is_served_with_its_age(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    await _fail_once(services, "http://a.com")
    first = await client.get("/urls/top/fail/hour")
    assert (first.headers["cached"], first.headers["age"]) == ("false", "0")

    await _fail_once(services, "http://b.com")  # the database moves on...
    clock.advance(599)
    second = await client.get("/urls/top/fail/hour")
    assert (second.headers["cached"], second.headers["age"]) == ("true", "599")
    assert second.json() == first.json()  # ...the cache serves what it had, as the seed says


async def test_result_older_than_10_minutes_is_recomputed(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    await client.get("/urls/summary")
    await _fail_once(services, "http://a.com")
    clock.advance(600)
    response = await client.get("/urls/summary")
    assert (response.headers["cached"], response.headers["age"]) == ("false", "0")
    assert response.json()[1] == {"status": "fail", "count": 1}
    again = await client.get("/urls/summary")
    assert again.headers["cached"] == "true"


async def test_cache_false_ignores_and_resets_the_entry(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    await client.get("/urls/top/fail/week")
    await _fail_once(services, "http://a.com")
    clock.advance(10)
    fresh = await client.get("/urls/top/fail/week", params={"cache": "false"})
    assert fresh.headers["cached"] == "false"
    assert len(fresh.json()) == 1
    clock.advance(10)
    after = await client.get("/urls/top/fail/week")
    assert (after.headers["cached"], after.headers["age"]) == ("true", "10")
    assert after.json() == fresh.json()


async def test_each_query_has_its_own_cache_entry(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _fail_once(services, "http://a.com")
    fail = await client.get("/urls/top/fail/hour")
    success = await client.get("/urls/top/success/hour")
    assert success.headers["cached"] == "false"
    assert fail.json() != success.json()
    assert (await client.get("/urls/top/fail/month")).headers["cached"] == "false"


def test_span_seconds_match_the_documented_windows() -> None:
    assert [Span(s).seconds for s in SPANS] == list(SPANS.values())


async def test_the_plain_hot_path_and_the_fastapi_route_agree_on_cache_values(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/urls/summary")  # now cached
    for value, cached in [("true", "true"), ("1", "true"), ("YES", "true"), ("0", "false")]:
        response = await client.get("/urls/summary", params={"cache": value})
        assert (response.status_code, response.headers["cached"]) == (200, cached), value
    # An extra parameter is handed to the FastAPI route, which refuses it, naming it.
    response = await client.get("/urls/summary", params={"cache": "off", "other": "1"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("other: unknown query parameter")
    response = await client.get("/urls/top/fail/hour", params={"cache": "maybe"})
    assert response.status_code == 422
    assert "cache" in response.json()["detail"]
