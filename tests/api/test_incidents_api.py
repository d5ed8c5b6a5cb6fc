"""`/incidents`, `/incidents/{id}` and `/urls/{id}/incidents` on each deployment: incidents opened and
resolved by checks stored as a cycle stores them, with the notifications they queued."""

from __future__ import annotations

import httpx
import pytest

from service_monitor.models import Cause, Check, Status
from service_monitor.services import Services
from tests.conftest import FakeClock


async def add_monitor(client: httpx.AsyncClient, name: str, **fields: object) -> int:
    answer = await client.post("/urls/", json={"name": name, "url": f"https://{name}.example/"})
    assert answer.status_code == 201, answer.text
    monitor_id: int = answer.json()["id"]
    if fields:
        assert (await client.patch(f"/urls/{monitor_id}", json=fields)).status_code == 200
    return monitor_id


async def store(services: Services, monitor_id: int, *statuses: Status, at: float) -> float:
    """Store one check of each status, a minute apart from `at` on; returns the last one's time."""
    checks = []
    for i, status in enumerate(statuses):
        failed = status is Status.FAIL
        checks.append(
            Check(
                monitor_id,
                at + 60 * i,
                status,
                503 if failed else 200,
                12,
                cause=Cause.HTTP_STATUS if failed else None,
                detail="status 503 is not below 400" if failed else None,
            )
        )
    await services.checks.add_checks(checks)
    return at + 60 * (len(statuses) - 1)


async def test_three_failures_open_an_incident_and_two_successes_resolve_it(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    hook = {"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/h", "is_default": True}
    channel = (await client.post("/channels", json=hook)).json()
    monitor_id = await add_monitor(client, "shop")
    start = clock.now - 600
    await store(services, monitor_id, Status.FAIL, Status.FAIL, Status.FAIL, at=start)

    listed = (await client.get("/incidents")).json()
    assert (listed["total"], listed["state"], listed["limit"], listed["offset"]) == (
        1,
        "open",
        100,
        0,
    )
    incident = listed["items"][0]
    assert incident["monitor_id"] == monitor_id
    assert (incident["monitor_name"], incident["url"]) == ("shop", "https://shop.example/")
    assert incident["state"] == "open"
    assert (incident["cause"], incident["detail"]) == ("http_status", "status 503 is not below 400")
    assert incident["resolved_at"] is None
    assert incident["duration_s"] == 600  # from the first failure to now

    health = (await client.get(f"/urls/{monitor_id}")).json()["health"]
    assert health["state"] == "down"
    assert health["incident_id"] == incident["id"]
    assert health["failures"] == 3

    detail = (await client.get(f"/incidents/{incident['id']}")).json()
    assert [
        (n["kind"], n["channel"], n["channel_type"], n["state"]) for n in detail["notifications"]
    ] == [("down", "ops", "webhook", "pending")]
    assert detail["notifications"][0]["channel_id"] == channel["id"]
    assert detail["notifications"][0]["attempts"] == 0

    await store(services, monitor_id, Status.SUCCESS, Status.SUCCESS, at=start + 300)
    assert (await client.get("/incidents")).json() == {
        "items": [],
        "total": 0,
        "limit": 100,
        "offset": 0,
        "state": "open",
    }
    every = (await client.get("/incidents", params={"state": "all"})).json()
    resolved = every["items"][0]
    assert (resolved["state"], resolved["resolution"]) == ("resolved", "recovered")
    assert resolved["resolved_at"] is not None
    kinds = [
        n["kind"]
        for n in (await client.get(f"/incidents/{incident['id']}")).json()["notifications"]
    ]
    assert kinds == ["down", "resolved"]
    assert (await client.get(f"/urls/{monitor_id}")).json()["health"]["state"] == "up"


async def test_a_monitors_incidents_are_its_own_newest_first_and_paginated(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    first = await add_monitor(client, "one", failure_threshold=1, success_threshold=1)
    other = await add_monitor(client, "two", failure_threshold=1)
    at = clock.now - 3600
    for _ in range(3):  # three incidents of the first monitor, each resolved
        at = await store(services, first, Status.FAIL, Status.SUCCESS, at=at) + 60
    await store(services, other, Status.FAIL, at=at)

    page = (await client.get(f"/urls/{first}/incidents", params={"limit": 2})).json()
    assert (page["total"], page["state"], len(page["items"])) == (3, "all", 2)
    assert {i["monitor_id"] for i in page["items"]} == {first}
    ids = [i["id"] for i in page["items"]]
    assert ids == sorted(ids, reverse=True)
    rest = (await client.get(f"/urls/{first}/incidents", params={"limit": 2, "offset": 2})).json()
    assert len(rest["items"]) == 1
    assert rest["items"][0]["id"] < ids[-1]
    only_open = (await client.get(f"/urls/{first}/incidents", params={"state": "open"})).json()
    assert only_open["total"] == 0
    everyone = (await client.get("/incidents", params={"state": "all"})).json()
    assert everyone["total"] == 4


async def test_an_incident_of_a_deleted_monitor_has_no_name(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    monitor_id = await add_monitor(client, "gone", failure_threshold=1)
    await store(services, monitor_id, Status.FAIL, at=clock.now - 60)
    assert (await client.delete(f"/urls/{monitor_id}")).status_code == 204
    incident = (await client.get("/incidents", params={"state": "all"})).json()["items"][0]
    assert (incident["monitor_id"], incident["monitor_name"], incident["url"]) == (
        monitor_id,
        None,
        None,
    )
    assert (await client.get(f"/incidents/{incident['id']}")).status_code == 200
    assert (await client.get(f"/urls/{monitor_id}/incidents")).status_code == 404


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/incidents/999", "incident 999 not found"),
        ("/urls/999/incidents", "monitor 999 not found"),
    ],
)
async def test_an_unknown_incident_or_monitor_is_404(
    client: httpx.AsyncClient, path: str, detail: str
) -> None:
    answer = await client.get(path)
    assert answer.status_code == 404
    assert answer.json()["detail"] == detail


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "closed"}, "state"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"stat": "open"}, "stat"),
    ],
)
async def test_a_bad_query_is_422_naming_it(
    client: httpx.AsyncClient, params: dict[str, str | int], field: str
) -> None:
    answer = await client.get("/incidents", params=params)
    assert answer.status_code == 422
    assert field in answer.json()["detail"]
