"""`/maintenance` on each deployment: one-off and cron windows, whether each is active now and when
it next starts, and every bad field a 422 naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import FakeClock


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


async def test_a_one_off_window_ahead_is_inactive_and_starts_when_it_says(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    starts = clock.now + 3600
    made = await client.post(
        "/maintenance", json={"starts_at": iso(starts), "duration": 1800, "note": "db upgrade"}
    )
    assert made.status_code == 201, made.text
    window = made.json()
    assert made.headers["location"] == f"/maintenance/{window['id']}"
    assert window["monitor_id"] is None
    assert (window["cron"], window["timezone"], window["duration"]) == (None, "UTC", 1800)
    assert window["note"] == "db upgrade"
    assert window["active"] is False
    assert window["ends_at"] is None
    assert window["next_start"] == window["starts_at"] == iso(starts)

    clock.advance(3600 + 60)  # inside it now
    inside = (await client.get(f"/maintenance/{window['id']}")).json()
    assert inside["active"] is True
    assert inside["ends_at"] == iso(starts + 1800)
    assert inside["next_start"] is None

    clock.advance(1800)
    after = (await client.get("/maintenance")).json()["items"][0]
    assert (after["active"], after["next_start"]) == (False, None)


async def test_a_cron_window_starts_at_its_next_time_in_its_time_zone(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    made = await client.post(
        "/maintenance",
        json={"cron": "0 2 * * *", "timezone": "Europe/Paris", "duration": 7200},
    )
    assert made.status_code == 201, made.text
    window = made.json()
    assert window["starts_at"] is None
    paris = ZoneInfo("Europe/Paris")
    now = datetime.fromtimestamp(clock.now, paris)
    expected = now.replace(hour=2, minute=0, second=0, microsecond=0)
    if expected <= now:
        expected = (expected + timedelta(days=1)).replace(hour=2)
    assert window["next_start"] == iso(expected.timestamp())


async def test_a_window_for_one_monitor_is_listed_with_those_of_all(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    monitors = []
    for name in ("a", "b"):
        answer = await client.post("/urls/", json={"name": name, "url": f"https://{name}.example"})
        monitors.append(answer.json()["id"])
    a, b = monitors
    common = {"starts_at": iso(clock.now + 60), "duration": 600}
    everyone = (await client.post("/maintenance", json=common)).json()
    of_a = (await client.post("/maintenance", json={**common, "monitor_id": a})).json()
    assert of_a["monitor_id"] == a

    listed = (await client.get("/maintenance")).json()
    assert [w["id"] for w in listed["items"]] == [everyone["id"], of_a["id"]]
    assert listed["total"] == 2
    for_b = (await client.get("/maintenance", params={"monitor_id": b})).json()
    assert [w["id"] for w in for_b["items"]] == [everyone["id"]]
    for_a = (await client.get("/maintenance", params={"monitor_id": a})).json()
    assert {w["id"] for w in for_a["items"]} == {everyone["id"], of_a["id"]}


async def test_a_deleted_window_is_gone(client: httpx.AsyncClient, clock: FakeClock) -> None:
    made = (
        await client.post("/maintenance", json={"starts_at": iso(clock.now), "duration": 60})
    ).json()
    assert (await client.delete(f"/maintenance/{made['id']}")).status_code == 204
    again = await client.delete(f"/maintenance/{made['id']}")
    assert again.status_code == 404
    assert again.json()["detail"] == f"maintenance window {made['id']} not found"
    assert (await client.get("/maintenance")).json() == {"items": [], "total": 0}


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"duration": 600}, "body", "exactly one of starts_at"),
        (
            {"starts_at": "2030-01-01T00:00:00Z", "cron": "0 2 * * *", "duration": 600},
            "body",
            "exactly one of starts_at",
        ),
        ({"starts_at": "2030-01-01T00:00:00", "duration": 600}, "starts_at", "timezone"),
        ({"starts_at": "next tuesday", "duration": 600}, "starts_at", "datetime"),
        ({"starts_at": "1900-01-01T00:00:00Z", "duration": 600}, "starts_at", "1970"),
        ({"cron": "0 2 * *", "duration": 600}, "cron", "cron '0 2 * *'"),
        ({"cron": "61 2 * * *", "duration": 600}, "cron", "cron '61 2 * * *'"),
        ({"cron": "0 0 31 2 *", "duration": 600}, "cron", "never"),
        ({"cron": "0 2 * * *", "timezone": "Mars/Olympus", "duration": 600}, "timezone", "IANA"),
        ({"cron": "0 2 * * *"}, "duration", "required"),
        ({"cron": "0 2 * * *", "duration": 30}, "duration", "greater than or equal to 60"),
        ({"cron": "0 2 * * *", "duration": 600, "monitor_id": 0}, "monitor_id", "greater"),
        ({"cron": "0 2 * * *", "duration": 600, "monitor_id": 42}, "monitor_id", "not found"),
        ({"cron": "0 2 * * *", "duration": 600, "note": "a\x00b"}, "note", "printable"),
        ({"cron": "0 2 * * *", "duration": 600, "every": "day"}, "every", "permitted"),
    ],
)
async def test_a_bad_window_is_422_naming_the_field_and_why(
    client: httpx.AsyncClient, payload: dict[str, object], field: str, reason: str
) -> None:
    answer = await client.post("/maintenance", json=payload)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"{field}:")
    assert reason in answer.json()["detail"]
    assert (await client.get("/maintenance")).json()["total"] == 0


async def test_an_unknown_window_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.get("/maintenance/77")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "maintenance window 77 not found"
