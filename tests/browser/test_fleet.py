"""The overview's fleet card, on each backend: hidden until the planner has planned a slot, then
the newest slot, the slots by state and, beside Redis, each region's stream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from service_monitor.fleet.local import LocalShardQueue
from service_monitor.fleet.planner import Planner
from service_monitor.fleet.queue import ShardQueue
from service_monitor.fleet.redis_streams import RedisShardQueue
from service_monitor.storage import open_storage
from tests.browser.conftest import FACTORY, Api, Tab, backend_env, open_tab, serve
from tests.conftest import run_aside
from tests.fleet.intake import NoIntake


@pytest.fixture(scope="module", params=["embedded", "mysql+redis"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[Api]:
    tmp_path = tmp_path_factory.mktemp("fleet")
    for env in backend_env(request.param, tmp_path, request):
        yield from serve(env, request.param, seeded=False, command=FACTORY)


@pytest.fixture
def tab(browser: Browser, api: Api) -> Iterator[Tab]:
    with open_tab(browser, api) as opened:
        yield opened


async def _plan(api: Api, monitors: int) -> None:
    storage = await open_storage(api.settings)
    queue: ShardQueue = (
        await RedisShardQueue.open(api.settings) if api.settings.uses_redis else LocalShardQueue()
    )
    try:
        rows = [(f"f{n}", f"https://f{n}.example/") for n in range(monitors)]
        await storage.import_monitors(rows, 0.0)
        assert await Planner(storage, queue, NoIntake(), api.settings).tick() is not None
    finally:
        await queue.close()
        await storage.close()


def test_the_fleet_card_shows_the_newest_slot_once_the_planner_has_planned(tab: Tab) -> None:
    tab.open()
    expect(tab.page.locator("#fleet")).to_be_hidden()
    run_aside(_plan(tab.api, 12))
    tab.open()
    card = tab.page.locator("#fleet")
    expect(card).to_be_visible()
    expect(card).to_contain_text("12 monitors in 1 shards")
    expect(card.locator(".badge.slot-planned")).to_have_text("planned")
    expect(card).to_contain_text("Slots: 0 done, 1 in progress, 0 failed.")
    if tab.api.settings.uses_redis:
        expect(card.locator("tr[data-region='local'] td").nth(1)).to_have_text("1")
        expect(card).to_contain_text("Dead letters: 0")
    else:
        expect(card.locator("table")).to_have_count(0)
    assert tab.unexpected_errors() == []
