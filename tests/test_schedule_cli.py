"""A monitor's interval and regions through the typed client (in-process, on each deployment) and
the `urls add|edit|show|list` options, against a real API process that knows two regions."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.client import ApiClient, ApiError
from service_monitor.config import load_settings
from service_monitor.models import Check, Status
from service_monitor.remote.urls import parse_interval
from service_monitor.services import Services
from service_monitor.storage import open_storage
from tests.api_process import api_process
from tests.servers import SETTING_NAMES
from tests.test_remote_cli import CliRunner, cli, row

__all__ = ["cli"]  # the fixture, used by name

FLEET = {"REGION": "eu", "REGIONS": "eu,us", "CYCLE_INTERVAL": 600}


@pytest.fixture
async def api(services: Services) -> AsyncIterator[ApiClient]:
    services.settings = services.settings.model_copy(
        update={"REGIONS": ["eu", "us"], "CYCLE_INTERVAL": 600}
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with ApiClient("http://test", transport=transport) as client:
        yield client


async def test_the_client_sets_reads_and_clears_a_schedule(
    api: ApiClient, services: Services
) -> None:
    plain = await api.add_url("plain", "https://plain.example/")
    assert (plain.interval, plain.own_interval, plain.regions, plain.own_regions) == (
        600,
        None,
        ("eu", "us"),
        None,
    )
    made = await api.add_url("a", "https://a.example/", interval=120, regions=["us"])
    assert (made.own_interval, made.own_regions) == (120, ("us",))
    dry = await api.update_url(made.id, interval=None, regions=["eu", "us"], dry_run=True)
    assert dry.changed == ["interval", "regions"]
    assert (await api.get_url(made.id)).monitor.own_interval == 120
    change = await api.update_url(made.id, interval=None, regions=None)
    assert (change.changed, change.monitor.interval_is_default) == (["interval", "regions"], True)
    assert (change.monitor.interval, change.monitor.regions) == (600, ("eu", "us"))
    assert (await api.update_url(made.id, name="a")).changed == []  # UNSET: left as it is

    await services.checks.add_checks(
        [
            Check(made.id, services.clock() - 60, Status.SUCCESS, 200, 5, region="eu"),
            Check(made.id, services.clock() - 30, Status.FAIL, 500, 7, region="us"),
        ]
    )
    detail = await api.get_url(made.id)
    assert [(r.region, r.scheduled, r.day.fail) for r in detail.regions_status] == [
        ("eu", True, 0),
        ("us", True, 1),
    ]
    assert detail.regions_status[1].last_check is not None
    assert [c.region for c in detail.checks] == ["us", "eu"]
    assert [c.region for c in await api.checks(made.id, region="eu")] == ["eu"]
    regions = await api.regions()
    assert (regions.regions, regions.default_interval) == (("eu", "us"), 600)


async def test_the_client_raises_the_apis_422_naming_the_region(api: ApiClient) -> None:
    with pytest.raises(ApiError) as refused:
        await api.add_url("a", "https://a.example/", regions=["eu", "mars"])
    assert refused.value.status == 422
    assert refused.value.errors[0].loc == ("body", "regions", 1)
    assert "unknown region 'mars'" in refused.value.detail
    assert "eu, us" in refused.value.detail
    with pytest.raises(ApiError) as bad:
        await api.checks(1, region="mars")
    assert bad.value.status == 422


@pytest.mark.parametrize(
    ("text", "seconds"), [("60", 60), ("5m", 300), ("1h30m", 5400), ("1d", 86_400)]
)
def test_an_interval_is_read_in_seconds_or_with_a_unit(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["59", "2d", "often", "", "-60"])
def test_an_interval_outside_a_minute_to_a_day_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"a minute to a day|expected seconds"):
        parse_interval(text)


async def _store(deployment: dict[str, str], monitor_id: int) -> None:
    settings = load_settings(**{k: v for k, v in deployment.items() if k in SETTING_NAMES})
    storage = await open_storage(settings)
    try:
        now = time.time()
        await storage.add_checks(
            [
                Check(monitor_id, now - 120, Status.SUCCESS, 200, 5, region="eu"),
                Check(monitor_id, now - 60, Status.FAIL, 503, 9, region="us"),
            ]
        )
    finally:
        await storage.close()


async def test_urls_commands_set_show_and_clear_a_schedule(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment, **FLEET) as base:
        api = ("--api-url", base)
        added = await cli("urls", "add", "shop", "https://shop.example/", "--interval", "5m",
                          "--regions", "us,eu", *api)  # fmt: skip
        assert added.code == 0, added.err
        listed = await cli("urls", "list", *api)
        assert row("1", "shop").search(listed.out)
        assert "5m" in listed.out
        await _store(deployment, 1)
        shown = await cli("urls", "show", "1", *api)
        assert shown.code == 0, shown.err
        assert "schedule: every 5m, from eu, us" in shown.out
        assert "1 ok, 0 failed" in shown.out
        assert "0 ok, 1 failed" in shown.out
        only_us = await cli("urls", "show", "1", "--region", "us", "--json", *api)
        body = json.loads(only_us.out)
        assert [c["region"] for c in body["checks"]] == ["us"]
        assert body["interval"] == 300
        assert [r["region"] for r in body["regions_status"]] == ["eu", "us"]

        dry = await cli("urls", "edit", "1", "--default-interval", "--dry-run", *api)
        assert (dry.code, dry.out) == (0, "would change monitor 1: interval\n")
        cleared = await cli("urls", "edit", "1", "--default-interval", "--all-regions", *api)
        assert (cleared.code, cleared.out) == (0, "changed monitor 1: interval, regions\n")
        shown = await cli("urls", "show", "1", *api)
        assert "schedule: every 10m (the default), from eu, us (every region)" in shown.out

        unknown = await cli("urls", "edit", "1", "--regions", "eu,mars", *api)
        assert unknown.code == 1
        assert unknown.err == (
            "service-monitor: the API answered 422: regions.1: unknown region 'mars';"
            " this deployment's regions (REGIONS) are: eu, us\n"
        )
        with pytest.raises(SystemExit) as too_often:
            await cli("urls", "add", "b", "https://b.example/", "--interval", "30", *api)
        assert too_often.value.code == 2
        assert "a minute to a day" in cli.capsys.readouterr().err
