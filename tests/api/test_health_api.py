"""`/status` for the load balancer, a cache that is down, and the documented schema."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from service_monitor.api.app import create_app
from service_monitor.cache.redis import RedisCache
from service_monitor.config import load_settings
from service_monitor.services import Services
from service_monitor.storage import Storage
from tests.conftest import FakeClock
from tests.targets import closed_port


async def test_status_is_200_when_database_and_cache_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/status")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "detail": None}


def _down_cache() -> RedisCache:
    """A Redis client aimed at a port where nothing listens."""
    settings = load_settings(
        CACHE_ADDRESS="127.0.0.1", CACHE_PORT=closed_port(), CACHE_OP_TIMEOUT=0.5
    )
    client = aioredis.Redis(
        host="127.0.0.1", port=settings.CACHE_PORT, socket_connect_timeout=0.5, socket_timeout=0.5
    )
    return RedisCache(client, settings)


async def test_cache_down_is_503_naming_the_cache_but_stats_still_answer(
    storage: Storage, clock: FakeClock
) -> None:
    cache = _down_cache()
    services = Services(load_settings(), storage, cache, clock=clock)
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            health = await client.get("/status")
            assert health.status_code == 503
            assert health.json()["cache"] == "down"
            assert health.json()["database"] == "ok"
            assert "cache" in health.json()["detail"]

            summary = await client.get("/urls/summary")
            assert summary.status_code == 200  # from the database
            assert summary.headers["cached"] == "false"

            added = await client.post("/urls/", json={"name": "a", "url": "http://a.com"})
            assert added.status_code == 201  # stored; the next cycle takes it in from the database
            assert (await storage.get_monitor(added.json()["id"])).state.name == "PENDING"
    finally:
        await cache.close()


async def test_docs_describe_every_endpoint_and_its_errors(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        ("/urls/top/{status}/{timespan}", "get"): {"200", "422", "503"},
        ("/urls/summary", "get"): {"200", "422", "503"},
        ("/urls/", "post"): {"201", "400", "409", "413", "422", "503"},
        ("/urls", "get"): {"200", "422", "503"},
        ("/urls/{monitor_id}", "get"): {"200", "404", "422", "503"},
        ("/urls/{monitor_id}", "delete"): {"204", "404", "422", "503"},
        ("/status", "get"): {"200", "503"},
    }
    for (path, method), codes in expected.items():
        assert set(paths[path][method]["responses"]) == codes, (path, method)
    top_params = {p["name"]: p for p in paths["/urls/top/{status}/{timespan}"]["get"]["parameters"]}
    assert set(top_params) == {"status", "timespan", "cache"}
