"""The API's own metrics at /metrics: requests by route template and status, their duration, and
the statistics' cache hits and misses, with labels that stay bounded whatever clients send."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.cache.redis import RedisCache
from service_monitor.config import load_settings
from service_monitor.services import Services
from service_monitor.storage.sqlite import SQLiteStorage
from tests.conftest import REDIS_HOST, REDIS_PORT, embedded_settings, redis_cleanup
from tests.faults import Mode, TCPProxy, tcp_proxy
from tests.metrics.scrape import scrape

REQUESTS = "service_monitor_http_requests_total"


async def test_a_request_is_counted_under_its_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/urls/", json={"name": "a", "url": "http://a.test/"})
    assert created.status_code == 201
    monitor_id = created.json()["id"]
    assert (await client.get(f"/urls/{monitor_id}")).status_code == 200
    assert (await client.get(f"/urls/{monitor_id}")).status_code == 200
    assert (await client.get("/urls/999999")).status_code == 404

    scraped = await scrape(client)

    template = "/urls/{monitor_id}"
    assert scraped.value(REQUESTS, method="GET", route=template, status="200") == 2
    assert scraped.value(REQUESTS, method="GET", route=template, status="404") == 1
    assert scraped.value(REQUESTS, method="POST", route="/urls/", status="201") == 1
    assert str(monitor_id) not in scraped.label_values(REQUESTS, "route")
    duration = "service_monitor_http_request_duration_seconds_count"
    assert scraped.value(duration, method="GET", route=template) == 3


async def test_metrics_scrapes_are_counted_under_their_own_route(
    client: httpx.AsyncClient,
) -> None:
    await scrape(client)
    scraped = await scrape(client)
    assert scraped.value(REQUESTS, method="GET", route="/metrics", status="200") == 1


async def test_cache_hits_and_misses_are_counted_including_the_fast_path(
    client: httpx.AsyncClient,
) -> None:
    # Valid statistics requests are all answered by the plain-ASGI fast path (api/fast_stats.py).
    first = await client.get("/urls/summary")
    second = await client.get("/urls/summary")
    fresh = await client.get("/urls/summary?cache=false")
    top = await client.get("/urls/top/fail/hour")
    assert [r.headers["cached"] for r in (first, second, fresh, top)] == [
        "false",
        "true",
        "false",
        "false",
    ]
    invalid = await client.get("/urls/top/fail/decade")  # handed back to FastAPI: a 422
    assert invalid.status_code == 422

    scraped = await scrape(client)

    cache = "service_monitor_cache_requests_total"
    assert scraped.value(cache, route="/urls/summary", result="hit") == 1
    assert scraped.value(cache, route="/urls/summary", result="miss") == 2
    assert scraped.value(cache, route="/urls/top/{status}/{timespan}", result="miss") == 1
    assert scraped.value(cache, route="/urls/top/{status}/{timespan}", result="hit") is None
    top_route = "/urls/top/{status}/{timespan}"
    assert scraped.value(REQUESTS, method="GET", route="/urls/summary", status="200") == 3
    assert scraped.value(REQUESTS, method="GET", route=top_route, status="200") == 1
    assert scraped.value(REQUESTS, method="GET", route=top_route, status="422") == 1


async def test_a_thousand_unknown_paths_add_no_label_values(client: httpx.AsyncClient) -> None:
    await client.get("/status")
    before = await scrape(client)

    for number in range(1000):
        answer = await client.get(f"/no/such/path/{number}-{uuid.uuid4().hex}")
        assert answer.status_code == 404
    for method in ("BREW", "PROPFIND"):
        await client.request(method, f"/{uuid.uuid4().hex}")
    after = await scrape(client)

    routes = after.label_values(REQUESTS, "route")
    assert routes - before.label_values(REQUESTS, "route") <= {"unmatched", "/metrics"}
    assert after.value(REQUESTS, method="GET", route="unmatched", status="404") == 1000
    assert after.label_values(REQUESTS, "method") <= {"GET", "other"}
    assert after.total(REQUESTS, method="other") == 2


async def test_metrics_need_the_read_key_when_reads_do(services: Services) -> None:
    settings = load_settings(
        **(services.settings.model_dump() | {"API_KEYS": "k1", "READ_AUTH": True})
    )
    guarded = Services(settings, services.storage, services.cache, clock=services.clock)
    app = create_app(services=guarded)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        scraped = await scrape(client, Authorization="Bearer k1")
    assert scraped.value(REQUESTS, method="GET", route="/metrics", status="401") == 1


async def test_metrics_are_open_when_reads_need_no_key(client: httpx.AsyncClient) -> None:
    scraped = await scrape(client)
    assert scraped.value("service_monitor_metrics_source_up", source="cache") == 1
    assert scraped.value("service_monitor_metrics_source_up", source="store") == 1
    assert scraped.value("service_monitor_queue_depth") == 0


@pytest.fixture
async def services_with_redis_behind_a_proxy(
    tmp_path: Path, require_redis: None
) -> AsyncIterator[tuple[Services, TCPProxy]]:
    async with tcp_proxy(REDIS_HOST, REDIS_PORT) as proxy:
        settings = embedded_settings(
            tmp_path,
            CACHE_ADDRESS="127.0.0.1",
            CACHE_PORT=proxy.port,
            CACHE_KEY_PREFIX=f"sm-test:{uuid.uuid4().hex}:",
            CACHE_RETRY_AFTER=60,
        )
        storage = await SQLiteStorage.open(settings.SQLITE_PATH)
        cache = await RedisCache.open(settings)
        try:
            yield Services(settings, storage, cache), proxy
        finally:
            await cache.close()
            await storage.close()
            await redis_cleanup(settings.CACHE_KEY_PREFIX)


async def test_metrics_answer_when_the_cache_is_down_and_say_which_source_is_missing(
    services_with_redis_behind_a_proxy: tuple[Services, TCPProxy],
) -> None:
    services, proxy = services_with_redis_behind_a_proxy
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/urls/")).status_code == 200
        await proxy.set_mode(Mode.CUT)

        scraped = await scrape(client)

    assert scraped.value("service_monitor_metrics_source_up", source="cache") == 0
    assert scraped.value("service_monitor_metrics_source_up", source="store") == 1
    assert scraped.value("service_monitor_queue_depth") is None
    assert scraped.value("service_monitor_cycles_total", outcome="done") == 0
    assert scraped.value(REQUESTS, method="GET", route="/urls/", status="200") == 1
