"""An HTTP client on the ASGI app, built on each deployment's services (as tests/api has)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.api.deps import Services


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
