"""A monitor's schedule on the dashboard, on each backend, with a deployment of two regions: the add
form's interval and regions, the monitors list's interval column, the edit form, the per-region
table and the region filter of a monitor's checks, and a refused interval named where it is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from service_monitor.models import Cause, Check, Status
from service_monitor.storage import open_storage
from tests.browser.conftest import Api, Tab, backend_env, open_tab, serve
from tests.conftest import run_aside

FLEET = {"REGION": "eu", "REGIONS": "eu,us", "CYCLE_INTERVAL": "600", "LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module", params=["embedded", "mysql+redis"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[Api]:
    tmp_path = tmp_path_factory.mktemp("regions")
    for env in backend_env(request.param, tmp_path, request):
        yield from serve({**env, **FLEET}, request.param, seeded=False)


@pytest.fixture
def tab(browser: Browser, api: Api) -> Iterator[Tab]:
    with open_tab(browser, api) as opened:
        yield opened


def get(api: Api, path: str) -> Any:
    response = httpx.get(api.base + path)
    response.raise_for_status()
    return response.json()


def open_advanced(page: Page) -> None:
    if page.locator("#add-advanced").get_attribute("open") is None:
        page.locator("#add-advanced summary").click()


def test_the_add_form_sets_an_interval_and_regions_and_the_list_shows_the_interval(
    tab: Tab,
) -> None:
    tab.open()
    page = tab.page
    form = page.locator("#add-form")
    form.get_by_label("Name").fill("every two minutes")
    form.get_by_label("URL").fill(f"https://two.example/?t={time.time_ns()}")
    open_advanced(page)
    interval = form.get_by_label("Check every")
    expect(interval).to_have_attribute("placeholder", "default (600 s)")
    interval.fill("120")
    form.get_by_label("us", exact=True).check()
    form.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#add-message")).to_contain_text("Added")
    href = page.locator("#add-message a").get_attribute("href")
    assert href is not None
    monitor_id = int(href.rsplit("/", 1)[1])
    stored = get(tab.api, f"/urls/{monitor_id}")
    assert (stored["interval"], stored["regions"], stored["regions_are_default"]) == (
        120,
        ["us"],
        False,
    )
    row = page.locator(f"#monitor-table tr[data-id='{monitor_id}']")
    expect(row.locator("td.every-col")).to_have_text("2 min")
    assert tab.unexpected_errors() == []


def test_a_refused_interval_is_named_where_it_is(tab: Tab) -> None:
    tab.expect_http_errors(422)
    tab.open()
    page = tab.page
    form = page.locator("#add-form")
    form.get_by_label("Name").fill("too often")
    form.get_by_label("URL").fill(f"https://often.example/?t={time.time_ns()}")
    open_advanced(page)
    form.get_by_label("Check every").fill("30")
    form.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#add-message")).to_contain_text("Check every")
    expect(form.get_by_label("Check every")).to_have_attribute("aria-invalid", "true")
    assert tab.unexpected_errors() == []


async def _checks(api: Api, monitor_id: int) -> None:
    storage = await open_storage(api.settings)
    try:
        now = time.time()
        await storage.add_checks(
            [
                Check(monitor_id, now - 300, Status.SUCCESS, 200, 12, region="eu"),
                Check(monitor_id, now - 240, Status.SUCCESS, 200, 14, region="eu"),
                Check(
                    monitor_id, now - 120, Status.FAIL, 503, 40, Cause.HTTP_STATUS,
                    "status 503 is not below 400", region="us",
                ),
            ]
        )  # fmt: skip
    finally:
        await storage.close()


def test_a_monitors_page_splits_its_checks_by_region_and_edits_its_schedule(tab: Tab) -> None:
    created = httpx.post(
        tab.api.base + "/urls/",
        json={"name": "two regions", "url": f"https://regions.example/?t={time.time_ns()}"},
    )
    assert created.status_code == 201, created.text
    monitor_id = created.json()["id"]
    run_aside(_checks(tab.api, monitor_id))
    tab.open(f"/#/monitors/{monitor_id}")
    page = tab.page
    expect(page.locator("#settings-view")).to_contain_text("every 10 min (the default")
    regions = page.locator("#region-table tbody tr")
    expect(regions).to_have_count(2)
    expect(page.locator("#region-table tr[data-region='eu']")).to_contain_text("2")
    expect(page.locator("#region-table tr[data-region='us'] td").nth(3)).to_contain_text("down")
    # Each region's own health: eu's two successes make it up; us's one failure is no streak yet.
    expect(page.locator("#region-table tr[data-region='eu'] td").nth(1)).to_have_text("up")
    expect(page.locator("#region-table tr[data-region='us'] td").nth(1)).to_have_text("unknown")
    recent = page.locator("#recent tbody tr")
    expect(recent).to_have_count(3)

    page.get_by_label("Show checks from").select_option("eu")
    expect(page.locator("#detail")).to_have_attribute("data-region", "eu")
    expect(recent).to_have_count(2)
    for cell in recent.locator("td.region-col").all():
        expect(cell).to_have_text("eu")
    expect(page.locator("#failures tbody")).to_contain_text("No failure in this span.")
    page.get_by_label("Show checks from").select_option("us")
    expect(recent).to_have_count(1)
    expect(page.locator("#failures tbody")).to_contain_text("status 503")
    page.get_by_label("Show checks from").select_option("")
    expect(recent).to_have_count(3)

    page.get_by_role("button", name="Edit", exact=True).click()
    edit = page.locator("#edit-form")
    edit.get_by_label("Check every").fill("3600")
    edit.get_by_label("eu", exact=True).check()
    edit.get_by_role("button", name="Save").click()
    expect(page.locator("#detail-message")).to_contain_text("interval, regions changed")
    expect(page.locator("#settings-view")).to_contain_text("every 1 h")
    expect(page.locator("#settings-view")).to_contain_text("from eu")
    # us checked it before: listed, no longer probed from.
    expect(page.locator("#region-table tr[data-region='us']")).to_contain_text("no longer")
    stored = get(tab.api, f"/urls/{monitor_id}")
    assert (stored["interval"], stored["regions"]) == (3600, ["eu"])
    tab.screenshot("regions")
    assert tab.unexpected_errors() == []
