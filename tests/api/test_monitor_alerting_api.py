"""What alerting adds to `/urls` and the overview, on each deployment: each monitor's health,
thresholds (its own and in effect) and channels, set on POST and PATCH; health counts and open
incidents on the overview."""

from __future__ import annotations

import httpx
import pytest

from service_monitor.models import Cause, Check, Status
from service_monitor.services import Services
from tests.conftest import FakeClock


async def channel(client: httpx.AsyncClient, name: str, **fields: object) -> int:
    body = {"name": name, "type": "webhook", "url": f"http://127.0.0.1:9/{name}", **fields}
    answer = await client.post("/channels", json=body)
    assert answer.status_code == 201, answer.text
    channel_id: int = answer.json()["id"]
    return channel_id


async def fail(services: Services, monitor_id: int, count: int, at: float) -> None:
    await services.checks.add_checks(
        [
            Check(monitor_id, at + i, Status.FAIL, None, 10, Cause.TIMEOUT, "no answer in 5 s")
            for i in range(count)
        ]
    )


async def test_a_new_monitor_is_unknown_with_the_default_thresholds_and_channels(
    client: httpx.AsyncClient,
) -> None:
    made = (await client.post("/urls/", json={"name": "a", "url": "https://a.example"})).json()
    expected: dict[str, object] = {
        "health": {
            "state": "unknown",
            "since": None,
            "failures": 0,
            "successes": 0,
            "incident_id": None,
        },
        "failure_threshold": None,
        "success_threshold": None,
        "thresholds": {"failure": 3, "success": 2},
        "channels": [],
    }
    assert {key: made[key] for key in expected} == expected
    for read in (
        (await client.get(f"/urls/{made['id']}")).json(),
        (await client.get("/urls")).json()["items"][0],
        (await client.get("/urls/overview")).json()["items"][0],
    ):
        assert {key: read[key] for key in expected} == expected


async def test_post_takes_thresholds_and_channels_by_name_or_id(
    client: httpx.AsyncClient,
) -> None:
    pager = await channel(client, "pager")
    await channel(client, "chat")
    made = await client.post(
        "/urls/",
        json={
            "name": "api",
            "url": "https://api.example/health",
            "failure_threshold": 5,
            "success_threshold": 1,
            "channels": ["chat", pager, "chat"],
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["failure_threshold"], body["success_threshold"]) == (5, 1)
    assert body["thresholds"] == {"failure": 5, "success": 1}
    assert sorted(body["channels"]) == ["chat", "pager"]
    assert sorted((await client.get(f"/urls/{body['id']}")).json()["channels"]) == [
        "chat",
        "pager",
    ]


async def test_an_unknown_channel_is_422_naming_it_and_nothing_is_stored(
    client: httpx.AsyncClient,
) -> None:
    await channel(client, "chat")
    answer = await client.post(
        "/urls/",
        json={"name": "a", "url": "https://a.example", "channels": ["chat", "pager", 77]},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "channels.1: unknown channel 'pager'; channels.2: unknown channel 77"
    )
    assert [e["loc"] for e in answer.json()["errors"]] == [
        ["body", "channels", 1],
        ["body", "channels", 2],
    ]
    assert (await client.get("/urls")).json()["total"] == 0


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"failure_threshold": 0}, "failure_threshold", "greater than or equal to 1"),
        ({"success_threshold": 101}, "success_threshold", "less than or equal to 100"),
        ({"failure_threshold": "many"}, "failure_threshold", "integer"),
        ({"channels": "chat"}, "channels", "list"),
        ({"channels": [""]}, "channels.0", "at least 1"),
        ({"channels": [0]}, "channels.0", "greater than or equal to 1"),
    ],
)
async def test_bad_alerting_fields_are_422_naming_them(
    client: httpx.AsyncClient, fields: dict[str, object], field: str, reason: str
) -> None:
    answer = await client.post("/urls/", json={"name": "a", "url": "https://a.example", **fields})
    assert answer.status_code == 422, answer.text
    assert f"{field}" in answer.json()["detail"]
    assert reason in answer.json()["detail"]


async def test_patch_changes_thresholds_and_channels_and_says_so(
    client: httpx.AsyncClient,
) -> None:
    await channel(client, "chat")
    await channel(client, "pager")
    made = (await client.post("/urls/", json={"name": "a", "url": "https://a.example"})).json()
    path = f"/urls/{made['id']}"

    dry = await client.patch(
        path, params={"dry_run": "true"}, json={"failure_threshold": 4, "channels": ["chat"]}
    )
    assert dry.json()["changed"] == ["failure_threshold", "channels"]
    assert (dry.json()["failure_threshold"], dry.json()["channels"]) == (4, ["chat"])
    assert dry.json()["thresholds"] == {"failure": 4, "success": 2}
    stored = (await client.get(path)).json()
    assert (stored["failure_threshold"], stored["channels"]) == (None, [])

    done = await client.patch(path, json={"failure_threshold": 4, "channels": ["chat"]})
    assert done.json()["changed"] == ["failure_threshold", "channels"]
    stored = (await client.get(path)).json()
    assert (stored["failure_threshold"], stored["channels"]) == (4, ["chat"])

    again = await client.patch(path, json={"failure_threshold": 4, "channels": ["chat"]})
    assert again.json()["changed"] == []
    swapped = await client.patch(path, json={"channels": ["pager"], "success_threshold": 3})
    assert swapped.json()["changed"] == ["success_threshold", "channels"]
    assert swapped.json()["thresholds"] == {"failure": 4, "success": 3}

    back = await client.patch(path, json={"failure_threshold": None, "channels": []})
    assert back.json()["changed"] == ["failure_threshold", "channels"]
    stored = (await client.get(path)).json()
    assert (stored["failure_threshold"], stored["success_threshold"]) == (None, 3)
    assert stored["thresholds"] == {"failure": 3, "success": 3}
    assert stored["channels"] == []

    unknown = await client.patch(path, json={"channels": ["nope"]})
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "channels.0: unknown channel 'nope'"


async def test_a_monitors_own_failure_threshold_decides_when_it_is_down(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    strict = await client.post(
        "/urls/", json={"name": "strict", "url": "https://s.example", "failure_threshold": 1}
    )
    lenient = await client.post("/urls/", json={"name": "lenient", "url": "https://l.example"})
    strict_id, lenient_id = strict.json()["id"], lenient.json()["id"]
    await fail(services, strict_id, 1, clock.now - 30)
    await fail(services, lenient_id, 2, clock.now - 30)
    strict_health = (await client.get(f"/urls/{strict_id}")).json()["health"]
    lenient_health = (await client.get(f"/urls/{lenient_id}")).json()["health"]
    assert strict_health["state"] == "down"
    assert strict_health["incident_id"] is not None
    assert strict_health["since"] is not None
    assert (lenient_health["state"], lenient_health["failures"]) == ("unknown", 2)


async def test_the_overview_counts_monitors_by_health_and_open_incidents(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    ids = []
    for name in ("a", "b", "c"):
        made = await client.post(
            "/urls/",
            json={"name": name, "url": f"https://{name}.example", "failure_threshold": 1},
        )
        ids.append(made.json()["id"])
    await fail(services, ids[0], 1, clock.now - 30)
    await services.checks.add_checks(
        [Check(ids[1], clock.now - 30 + i, Status.SUCCESS, 200, 10) for i in range(2)]
    )
    page = (await client.get("/urls/overview", params={"limit": 1, "q": "c"})).json()
    assert page["health"] == {"up": 1, "down": 1, "unknown": 1}
    assert page["incidents_open"] == 1
    assert page["total"] == 1
    assert page["items"][0]["health"]["state"] == "unknown"
