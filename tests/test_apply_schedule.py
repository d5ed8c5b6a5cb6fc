"""`service-monitor apply` with a monitor's `interval` and `regions` on each deployment: applied,
compared (dry run included) and reset like the other fields, and a bad one named by its line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.client import ApiClient
from service_monitor.services import Services
from tests.test_apply import problems, sync, write

FILE = """\
owner: team-a
monitors:
  - name: shop
    url: https://shop.example/
    interval: 5m
    regions: [us, eu]
  - name: blog
    url: https://blog.example/
    interval: 3600
"""


@pytest.fixture
async def api(services: Services) -> AsyncIterator[ApiClient]:
    services.settings = services.settings.model_copy(
        update={"REGIONS": ["eu", "us", "asia"], "CYCLE_INTERVAL": 600}
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with ApiClient("http://test", transport=transport) as client:
        yield client


async def test_a_schedule_is_applied_then_left_alone(api: ApiClient, tmp_path: Path) -> None:
    path = write(tmp_path, FILE)
    first = await sync(api, path)
    assert (first.created, first.failed, first.errors) == (2, 0, [])
    monitors = {m.name: m for m in (await api.list_urls(owner="team-a")).items}
    shop, blog = monitors["shop"], monitors["blog"]
    assert (shop.own_interval, shop.own_regions) == (300, ("eu", "us"))
    assert (blog.own_interval, blog.own_regions, blog.regions) == (3600, None, ("asia", "eu", "us"))
    again = await sync(api, path, dry_run=True)
    assert (again.updated, again.unchanged) == (0, 2)
    assert (await sync(api, path)).unchanged == 2


async def test_a_changed_or_removed_schedule_is_a_dry_run_diff_then_an_update(
    api: ApiClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await sync(api, write(tmp_path, FILE))
    capsys.readouterr()
    changed = """\
    owner: team-a
    monitors:
      - name: shop
        url: https://shop.example/
        interval: 300
        regions: [asia]
      - name: blog
        url: https://blog.example/
    """
    path = write(tmp_path, changed)
    dry = await sync(api, path, dry_run=True)
    assert (dry.updated, dry.unchanged) == (2, 0)
    out = capsys.readouterr().out
    assert "would update shop (monitor " in out
    assert "): regions\n" in out
    assert "): interval\n" in out
    monitors = {m.name: m for m in (await api.list_urls(owner="team-a")).items}
    assert monitors["shop"].own_regions == ("eu", "us")  # a dry run writes nothing
    done = await sync(api, path)
    assert done.updated == 2
    monitors = {m.name: m for m in (await api.list_urls(owner="team-a")).items}
    assert monitors["shop"].own_regions == ("asia",)
    assert (monitors["blog"].own_interval, monitors["blog"].interval) == (None, 600)


async def test_an_unknown_region_is_reported_by_the_line_that_names_it(
    api: ApiClient, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """\
        owner: team-a
        monitors:
          - name: shop
            url: https://shop.example/
            regions:
              - eu
              - mars
        """,
    )
    outcome = await sync(api, path)
    assert outcome.errors == [
        f"{path}:7: regions.1: unknown region 'mars'; this deployment's regions (REGIONS) are:"
        " asia, eu, us"
    ]
    assert outcome.failed == 1


def test_a_bad_interval_or_regions_is_named_by_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        owner: team-a
        monitors:
          - name: a
            url: https://a.example/
            interval: 30
          - name: b
            url: https://b.example/
            interval: often
          - name: c
            url: https://c.example/
            regions: []
          - name: d
            url: https://d.example/
            regions: eu
          - name: e
            url: https://e.example/
            regions: [eu, 7]
          - name: f
            url: https://f.example/
            interval: true
        """,
    )
    assert problems(path) == [
        "5: interval: must be a minute to a day (60 to 86400 seconds), got 30 s",
        "8: interval: expected seconds or a duration such as 90m, 2h, 1d, got 'often'",
        "11: regions: expected a list of region names (leave it out: every region), got []",
        "14: regions: expected a list of region names (leave it out: every region), got 'eu'",
        "17: regions.1: expected a region's name, got 7",
        "20: interval: expected seconds or a text like 5m, got True",
    ]
