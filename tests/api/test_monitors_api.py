"""Adding, listing, reading and deleting monitors over HTTP, on each deployment."""

from __future__ import annotations

import httpx
import pytest

from service_monitor.models import Cause, Check, Status
from service_monitor.services import Services


async def test_post_stores_and_queues_the_monitor(
    client: httpx.AsyncClient, services: Services
) -> None:
    response = await client.post("/urls/", json={"name": "a", "url": "http://www.a.com"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "a"
    assert body["url"] == "http://www.a.com"
    assert body["state"] == "pending"
    assert isinstance(body["id"], int)
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    assert response.headers["location"] == f"/urls/{body['id']}"
    assert await services.cache.claim(10) == [body["id"]]


async def test_post_without_trailing_slash_works_too(client: httpx.AsyncClient) -> None:
    response = await client.post("/urls", json={"name": "a", "url": "https://a.com/x"})
    assert response.status_code == 201


async def test_same_url_again_is_409_with_the_existing_id(client: httpx.AsyncClient) -> None:
    first = (await client.post("/urls/", json={"name": "a", "url": "http://a.com"})).json()
    again = await client.post("/urls/", json={"name": "b", "url": "HTTP://A.COM:80/"})
    assert again.status_code == 409
    assert again.json()["id"] == first["id"]
    assert "already monitored" in again.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"name": "a", "url": "not a url"}, "url", "spaces"),
        ({"name": "a", "url": "ftp://files.example.com/"}, "url", "http:// or https://"),
        ({"name": "a", "url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"name": "a", "url": "http://"}, "url", "host"),
        ({"name": "a", "url": "/relative/path"}, "url", "http:// or https://"),
        ({"name": "a", "url": "http://a.com/" + "x" * 2040}, "url", "2048"),
        ({"name": "a", "url": "http://a.com:99999/"}, "url", "Port out of range"),
        ({"name": "", "url": "http://a.com"}, "name", "at least 1"),
        ({"name": "   ", "url": "http://a.com"}, "name", "empty"),
        ({"name": "n" * 101, "url": "http://a.com"}, "name", "at most 100"),
        ({"name": "bad\x00name", "url": "http://a.com"}, "name", "printable"),
        ({"name": "line\nbreak", "url": "http://a.com"}, "name", "printable"),
        ({"name": 5, "url": "http://a.com"}, "name", "string"),
        ({"url": "http://a.com"}, "name", "required"),
        ({"name": "a"}, "url", "required"),
        ({"name": "a", "url": "http://a.com", "extra": 1}, "extra", "not permitted"),
    ],
)
async def test_bad_monitor_is_422_naming_the_field_and_why(
    client: httpx.AsyncClient, payload: object, field: str, reason: str
) -> None:
    response = await client.post("/urls/", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert f"{field}:" in body["detail"]
    assert reason in body["detail"]
    assert body["errors"]


@pytest.mark.parametrize("content", [b"[1, 2]", b'"a string"', b""])
async def test_body_that_is_not_a_json_object_is_422(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        "/urls/", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_list_pages_monitors_with_total(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await client.post("/urls/", json={"name": f"m{i}", "url": f"http://m{i}.com"})
    page = (await client.get("/urls", params={"limit": 2, "offset": 2})).json()
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 2)
    assert [m["name"] for m in page["items"]] == ["m2", "m3"]
    assert (await client.get("/urls/")).json()["total"] == 5


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}])
async def test_bad_paging_is_422(client: httpx.AsyncClient, params: dict[str, int | str]) -> None:
    response = await client.get("/urls", params=params)
    assert response.status_code == 422


async def test_one_monitor_with_its_recent_checks_and_counts(
    client: httpx.AsyncClient, services: Services
) -> None:
    created = (await client.post("/urls/", json={"name": "a", "url": "http://a.com"})).json()
    now = services.clock()
    await services.storage.add_checks(
        [
            Check(created["id"], now - 60, Status.SUCCESS, 200, 10),
            Check(created["id"], now - 7200, Status.FAIL, None, 1000, Cause.TIMEOUT),
            Check(created["id"], now - 10 * 86400, Status.FAIL, 503, 50, Cause.HTTP_STATUS),
        ]
        + [Check(created["id"], now - 100 - i, Status.SUCCESS, 200, 10) for i in range(30)]
    )
    response = await client.get(f"/urls/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "a"
    assert len(body["checks"]) == 20
    assert body["checks"][0]["latency_ms"] == 10
    assert body["counts"] == {
        "hour": {"success": 31, "fail": 0, "degraded": 0},
        "week": {"success": 31, "fail": 1, "degraded": 0},
        "month": {"success": 31, "fail": 2, "degraded": 0},
    }


async def test_unknown_monitor_is_404_naming_the_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/urls/424242")
    assert response.status_code == 404
    assert response.json() == {"detail": "monitor 424242 not found"}
    assert (await client.delete("/urls/424242")).status_code == 404


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999999999999999"])
async def test_monitor_id_that_is_not_a_positive_integer_is_422(
    client: httpx.AsyncClient, bad_id: str
) -> None:
    assert (await client.get(f"/urls/{bad_id}")).status_code == 422


async def test_deleted_monitor_is_gone_from_reads_and_probing(
    client: httpx.AsyncClient, services: Services
) -> None:
    created = (await client.post("/urls/", json={"name": "a", "url": "http://a.com"})).json()
    response = await client.delete(f"/urls/{created['id']}")
    assert response.status_code == 204
    assert (await client.get(f"/urls/{created['id']}")).status_code == 404
    assert (await client.get("/urls")).json()["total"] == 0
    assert (await client.delete(f"/urls/{created['id']}")).status_code == 404
    await services.storage.activate()
    assert await services.storage.targets() == []


async def test_url_deleted_then_added_again_is_monitored_again(client: httpx.AsyncClient) -> None:
    created = (await client.post("/urls/", json={"name": "a", "url": "http://a.com"})).json()
    await client.delete(f"/urls/{created['id']}")
    again = await client.post("/urls/", json={"name": "a2", "url": "http://a.com"})
    assert again.status_code == 201
    assert again.json()["id"] == created["id"]
    assert again.json()["name"] == "a2"
