"""A monitor's schedule through `/urls`, on each deployment: its interval and regions set on POST
and PATCH (in effect and whether they are the defaults), unknown regions and bad intervals refused
with a 422 that says why, and its checks split by region (GET /urls/{id}, /checks, /history)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.models import Cause, Check, Status
from service_monitor.services import Services
from tests.conftest import FakeClock

REGIONS = ["eu", "us", "asia"]
CYCLE = 300


@pytest.fixture
async def api(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a deployment that knows three regions and checks every 5 minutes."""
    services.settings = services.settings.model_copy(
        update={"REGIONS": REGIONS, "CYCLE_INTERVAL": CYCLE}
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def add(api: httpx.AsyncClient, name: str = "a", **fields: object) -> dict[str, object]:
    answer = await api.post(
        "/urls/", json={"name": name, "url": f"https://{name}.example", **fields}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def schedule(body: dict[str, object]) -> tuple[object, ...]:
    keys = ("interval", "interval_is_default", "regions", "regions_are_default")
    return tuple(body[key] for key in keys)


async def test_a_new_monitor_follows_the_defaults(api: httpx.AsyncClient) -> None:
    made = await add(api)
    expected = (CYCLE, True, ["asia", "eu", "us"], True)
    assert schedule(made) == expected
    for read in (
        (await api.get(f"/urls/{made['id']}")).json(),
        (await api.get("/urls")).json()["items"][0],
        (await api.get("/urls/overview")).json()["items"][0],
    ):
        assert schedule(read) == expected


async def test_post_takes_an_interval_and_regions(
    api: httpx.AsyncClient, services: Services
) -> None:
    made = await add(api, interval=60, regions=["us", "eu", "us"])
    assert schedule(made) == (60, False, ["eu", "us"], False)
    assert schedule((await api.get(f"/urls/{made['id']}")).json()) == schedule(made)
    stored = await services.monitors.get_monitor(int(str(made["id"])))
    assert (stored.interval, stored.regions) == (60, ("eu", "us"))
    assert schedule(await add(api, "b", interval=None, regions=None))[1::2] == (True, True)


async def test_patch_changes_and_clears_the_schedule(api: httpx.AsyncClient) -> None:
    made = await add(api)
    path = f"/urls/{made['id']}"
    answer = (await api.patch(path, json={"interval": 3600, "regions": ["asia"]})).json()
    assert answer["changed"] == ["interval", "regions"]
    assert schedule(answer) == (3600, False, ["asia"], False)
    again = (await api.patch(path, json={"interval": 3600, "regions": ["asia", "asia"]})).json()
    assert again["changed"] == []
    dry = (await api.patch(f"{path}?dry_run=true", json={"interval": None})).json()
    assert (dry["changed"], dry["interval"], dry["interval_is_default"]) == (
        ["interval"],
        CYCLE,
        True,
    )
    assert (await api.get(path)).json()["interval"] == 3600  # a dry run writes nothing
    cleared = (await api.patch(path, json={"interval": None, "regions": None})).json()
    assert cleared["changed"] == ["interval", "regions"]
    assert schedule(cleared) == (CYCLE, True, ["asia", "eu", "us"], True)
    named = (await api.patch(path, json={"name": "renamed"})).json()
    assert named["changed"] == ["name"]
    assert schedule(named) == schedule(cleared)  # a field left out keeps its value


@pytest.mark.parametrize(
    ("fields", "where", "why"),
    [
        ({"interval": 59}, ["body", "interval"], "greater than or equal to 60"),
        ({"interval": 86_401}, ["body", "interval"], "less than or equal to 86400"),
        ({"interval": "often"}, ["body", "interval"], "valid integer"),
        ({"regions": []}, ["body", "regions"], "must name at least one region"),
        ({"regions": "eu"}, ["body", "regions"], "valid list"),
        ({"regions": ["eu", "mars"]}, ["body", "regions", 1], "unknown region 'mars'"),
        ({"regions": [""]}, ["body", "regions", 0], "at least 1 character"),
    ],
)
async def test_a_bad_schedule_is_a_422_saying_what_and_why(
    api: httpx.AsyncClient, fields: dict[str, object], where: list[object], why: str
) -> None:
    made = await add(api)
    for answer in (
        await api.post("/urls/", json={"name": "b", "url": "https://b.example", **fields}),
        await api.patch(f"/urls/{made['id']}", json=fields),
    ):
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert why in body["detail"]
        assert body["errors"][0]["loc"] == where
    total = (await api.get("/urls")).json()["total"]
    assert total == 1  # nothing stored


async def test_an_unknown_region_lists_the_known_ones(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/urls/", json={"name": "b", "url": "https://b.example", "regions": ["mars", "eu"]}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "regions.0: unknown region 'mars'; this deployment's regions (REGIONS) are: asia, eu, us"
    )


async def test_regions_says_what_a_schedule_may_be(api: httpx.AsyncClient) -> None:
    answer = (await api.get("/regions")).json()
    assert answer == {
        "regions": ["asia", "eu", "us"],
        "default_interval": CYCLE,
        "min_interval": 60,
        "max_interval": 86_400,
    }


async def _checked(services: Services, monitor_id: int, clock: FakeClock) -> None:
    now = clock()
    checks = []
    for minute in range(0, 120, 10):
        at = now - 7200 + minute * 60
        checks += [
            Check(monitor_id, at + 1, Status.SUCCESS, 200, 40, region="eu"),
            Check(
                monitor_id,
                at + 2,
                Status.FAIL,
                503,
                90,
                Cause.HTTP_STATUS,
                "status 503",
                region="us",
            ),
        ]
    # An old check from a region it is no longer probed from.
    checks.append(Check(monitor_id, now - 3 * 3600, Status.SUCCESS, 200, 5, region="local"))
    await services.checks.add_checks(checks)


async def test_the_detail_splits_the_checks_by_region(
    api: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    made = await add(api, regions=["eu", "us", "asia"])
    monitor_id = int(str(made["id"]))
    await _checked(services, monitor_id, clock)
    detail = (await api.get(f"/urls/{monitor_id}")).json()
    assert {c["region"] for c in detail["checks"]} == {"eu", "us"}
    by_region = {r["region"]: r for r in detail["regions_status"]}
    assert [r["region"] for r in detail["regions_status"]] == ["asia", "eu", "us", "local"]
    assert by_region["asia"] == {
        "region": "asia",
        "scheduled": True,
        "last_check": None,
        "day": {"success": 0, "fail": 0, "degraded": 0},
        "health": "unknown",
    }
    # us is down on its own, but one region of three is no quorum: the monitor is up.
    assert [by_region[r]["health"] for r in ("eu", "us", "local")] == ["up", "down", "unknown"]
    assert detail["health"]["state"] == "up"
    assert by_region["eu"]["day"] == {"success": 12, "fail": 0, "degraded": 0}
    assert by_region["us"]["day"] == {"success": 0, "fail": 12, "degraded": 0}
    assert by_region["us"]["last_check"]["status"] == "fail"
    assert by_region["us"]["last_check"]["region"] == "us"
    assert (by_region["local"]["scheduled"], by_region["local"]["day"]["success"]) == (False, 1)


async def test_checks_and_history_take_a_region(
    api: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    made = await add(api)
    monitor_id = int(str(made["id"]))
    await _checked(services, monitor_id, clock)
    every = (await api.get(f"/urls/{monitor_id}/checks?limit=4")).json()
    assert every["region"] is None
    assert [c["region"] for c in every["items"]] == ["us", "eu", "us", "eu"]
    us = (await api.get(f"/urls/{monitor_id}/checks?region=us&limit=100")).json()
    assert (us["region"], len(us["items"])) == ("us", 12)
    assert {c["region"] for c in us["items"]} == {"us"}
    for span in ("day", "week", "month"):
        both = (await api.get(f"/urls/{monitor_id}/history?span={span}")).json()
        eu = (await api.get(f"/urls/{monitor_id}/history?span={span}&region=eu")).json()
        assert eu["region"] == "eu"
        assert both["region"] is None
        assert sum(b["success"] for b in eu["buckets"]) == 12
        assert sum(b["fail"] for b in eu["buckets"]) == 0
        assert eu["failures"] == []
        assert sum(b["fail"] for b in both["buckets"]) == 12
        assert {c["region"] for c in both["failures"]} == {"us"}


@pytest.mark.parametrize("path", ["checks", "history"])
async def test_an_unknown_region_filter_is_a_422(api: httpx.AsyncClient, path: str) -> None:
    made = await add(api)
    for region in ("mars", "local"):
        answer = await api.get(f"/urls/{made['id']}/{path}?region={region}")
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["errors"][0]["loc"] == ["query", "region"]
        assert f"unknown region '{region}'" in body["detail"]
        assert "asia, eu, us" in body["detail"]
    too_long = await api.get(f"/urls/{made['id']}/{path}?region={'x' * 40}")
    assert too_long.status_code == 422
    assert (await api.get(f"/urls/999/{path}?region=eu")).status_code == 404
