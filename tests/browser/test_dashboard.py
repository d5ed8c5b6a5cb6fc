"""The dashboard at `/` in Chromium, against a real API process on each backend with 1,000 monitors
(tests/browser/seed.py): what a user sees and does, and that the page logs no error doing it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from service_monitor.models import Cause, Check, Status
from tests.browser.conftest import Api, Tab, open_tab, serve
from tests.browser.seed import (
    DEGRADED_AFTER_MS,
    add_check,
    failed_days_ago,
    name,
    record_cycle,
    tls_days,
)
from tests.conftest import run_aside
from tests.servers import server_env

KEY = "browser-test-key"


def get(api: Api, path: str, **params: Any) -> Any:
    response = httpx.get(api.base + path, params=params)
    response.raise_for_status()
    return response.json()


def monitor_id(api: Api, monitor_name: str) -> int:
    items = get(api, "/urls/overview", q=monitor_name)["items"]
    return int(next(item["id"] for item in items if item["name"] == monitor_name))


def rows(tab: Tab) -> Any:
    return tab.page.locator("#monitor-table tbody tr")


def assert_no_console_error(tab: Tab) -> None:
    assert tab.unexpected_errors() == []


def test_the_dashboard_shows_the_summary_the_top_lists_and_a_page_of_monitors(tab: Tab) -> None:
    tab.open()
    page = tab.page
    summary = {item["status"]: item["count"] for item in get(tab.api, "/urls/summary")}
    expect(page.locator("#sum-success")).to_have_text(f"{summary['success']:,}")
    expect(page.locator("#sum-fail")).to_have_text(f"{summary['fail']:,}")
    ratio = summary["success"] / (summary["success"] + summary["fail"])
    expect(page.locator("#sum-ratio")).to_have_text(f"{int(ratio * 1000) / 10:.1f}%")
    # The hour's most failing: every check of sites 50, 100, ... failed (lowest id first).
    fails = page.locator("#top-fail li")
    expect(fails).to_have_count(10)
    expect(fails.first).to_contain_text("site 0050")
    expect(fails.first.locator(".count")).to_have_text("6")
    expect(page.locator("#top-success li")).to_have_count(10)
    total = get(tab.api, "/urls", limit=1)["total"]
    expect(rows(tab)).to_have_count(25)
    expect(rows(tab).first.locator("td.name")).to_have_text("site 0001")
    expect(page.locator("#page-info")).to_have_text(f"1–25 of {total:,}")
    expect(rows(tab).first.locator("svg.strip rect")).to_have_count(24)
    expect(rows(tab).first.locator("td.tls-col")).to_have_text(f"{tls_days(1)} d")
    # Site 9 has a degraded limit and its newest check passed slower than it.
    ninth = rows(tab).nth(8)
    expect(ninth.locator("td.name")).to_have_text(name(9))
    expect(ninth.locator("td.last .badge")).to_have_text("degraded")
    expect(page.locator("#cycle")).to_contain_text("Last cycle")
    tab.screenshot("dashboard")
    assert all(url.startswith(tab.api.base + "/") for url in tab.requests), tab.requests
    assert_no_console_error(tab)


def test_the_span_switch_changes_the_top_lists(tab: Tab) -> None:
    tab.open()
    page = tab.page
    first_fail = page.locator("#top-fail li").first
    expect(first_fail).to_contain_text("site 0050")
    page.get_by_role("button", name="Week").click()
    expect(page.locator("#top")).to_have_attribute("data-span", "week")
    expect(page.get_by_role("button", name="Week")).to_have_attribute("aria-pressed", "true")
    # 2 days ago sites 901-912 failed 30 times each: they lead the week (903 failed once more).
    expect(first_fail).to_contain_text("site 0903")
    expect(first_fail.locator(".count")).to_have_text("31")
    leaders = page.locator("#top-fail li .name").all_inner_texts()
    assert all(failed_days_ago(int(text.split()[-1])) for text in leaders), leaders
    page.get_by_role("button", name="Month").click()
    expect(page.locator("#top")).to_have_attribute("data-span", "month")
    expect(first_fail).to_contain_text("site 0903")
    page.get_by_role("button", name="Hour").click()
    expect(page.locator("#top")).to_have_attribute("data-span", "hour")
    expect(first_fail).to_contain_text("site 0050")
    tab.screenshot("top-week-month-hour")
    assert_no_console_error(tab)


def test_adding_a_url_shows_it_and_the_same_url_again_names_the_existing_monitor(
    tab: Tab,
) -> None:
    tab.open()
    page = tab.page
    url = f"https://added-{time.time_ns()}.example.com/"
    page.get_by_label("Name", exact=True).fill("added from the page")
    page.get_by_label("URL", exact=True).fill(url)
    page.get_by_role("button", name="Add", exact=True).click()
    message = page.locator("#add-message")
    expect(message).to_contain_text("Added added from the page")
    added = message.get_by_role("link", name="added from the page").get_attribute("href")
    page.get_by_label("Search monitors by name or URL").fill(url)
    expect(rows(tab)).to_have_count(1)
    expect(rows(tab).first.locator("td.name")).to_have_text("added from the page")
    expect(rows(tab).first.locator("td.last .badge")).to_have_text("pending")

    tab.expect_http_errors(409)
    page.get_by_label("Name", exact=True).fill("again")
    page.get_by_label("URL", exact=True).fill(url)
    page.get_by_role("button", name="Add", exact=True).click()
    answer = httpx.post(tab.api.base + "/urls/", json={"name": "again", "url": url})
    assert answer.status_code == 409
    expect(message).to_contain_text(answer.json()["detail"])
    expect(message.get_by_role("link")).to_have_attribute(
        "href", f"#/monitors/{answer.json()['id']}"
    )
    assert added == f"#/monitors/{answer.json()['id']}"
    tab.screenshot("added-and-duplicate")
    assert_no_console_error(tab)


def test_a_bad_url_shows_the_apis_message(tab: Tab) -> None:
    tab.expect_http_errors(422)
    tab.open()
    page = tab.page
    page.get_by_label("Name", exact=True).fill("bad")
    page.get_by_label("URL", exact=True).fill("ftp://files.example.com/")
    page.get_by_role("button", name="Add", exact=True).click()
    answer = httpx.post(
        tab.api.base + "/urls/", json={"name": "bad", "url": "ftp://files.example.com/"}
    )
    assert answer.status_code == 422
    message = page.locator("#add-message")
    expect(message).to_have_text(answer.json()["detail"])
    expect(message).to_have_class("message error")
    expect(page.get_by_label("URL", exact=True)).to_have_attribute("aria-invalid", "true")
    tab.screenshot("bad-url")
    assert [e for e in tab.errors if "422" in e], "the 422 answer was not seen"
    assert_no_console_error(tab)


def test_pages_walk_through_1000_monitors_and_the_search_narrows_them(tab: Tab) -> None:
    tab.open()
    page = tab.page
    total = get(tab.api, "/urls", limit=1)["total"]
    assert total >= 1000
    info = page.locator("#page-info")
    expect(info).to_have_text(f"1–25 of {total:,}")
    expect(page.locator("#page-prev")).to_be_disabled()
    page.locator("#page-next").click()
    expect(info).to_have_text(f"26–50 of {total:,}")
    expect(rows(tab).first.locator("td.name")).to_have_text(name(26))
    page.locator("#page-prev").click()
    expect(info).to_have_text(f"1–25 of {total:,}")
    expect(rows(tab).first.locator("td.name")).to_have_text(name(1))

    search = page.get_by_label("Search monitors by name or URL")
    search.fill("SITE 09")  # case-insensitive: sites 900-999
    expect(info).to_have_text("1–25 of 100")
    expect(rows(tab).first.locator("td.name")).to_have_text(name(900))
    for _ in range(3):
        page.locator("#page-next").click()
    expect(info).to_have_text("76–100 of 100")
    expect(rows(tab).last.locator("td.name")).to_have_text(name(999))
    expect(page.locator("#page-next")).to_be_disabled()
    search.fill("site-0777.example")  # the URL matches too
    expect(info).to_have_text("1–1 of 1")
    expect(rows(tab).first.locator("td.name")).to_have_text(name(777))
    search.fill("no such monitor anywhere")
    expect(rows(tab).first).to_contain_text("No monitor matches")
    tab.screenshot("pagination-and-search")
    assert_no_console_error(tab)


def test_a_monitors_page_shows_its_checks_over_time_and_its_failures(tab: Tab) -> None:
    tab.open()
    page = tab.page
    page.get_by_label("Search monitors by name or URL").fill(name(50))
    expect(rows(tab)).to_have_count(1)
    page.get_by_role("link", name=name(50)).click()
    expect(page.locator("#detail-name")).to_have_text(name(50))
    expect(page.locator("#home")).to_be_hidden()
    expect(page.locator("#detail-url")).to_have_text("https://site-0050.example.com/health")
    expect(page.locator("#status-strip svg rect")).to_have_count(24)
    expect(page.locator("#latency-chart svg")).to_be_visible()
    failures = page.locator("#failures tbody tr")
    expect(failures).to_have_count(6)  # every check of its past hour failed
    expect(failures.first).to_contain_text("http status")
    expect(failures.first).to_contain_text("503")
    expect(failures.first.locator(".detail-col")).to_have_text("status 503 is not below 400")
    flags = page.locator("#detail-flags")
    expect(flags.locator(".badge")).to_have_text("down")
    expect(flags).to_contain_text("status 503 is not below 400")
    expect(flags.locator(".tls")).to_contain_text(f"TLS certificate: {tls_days(50)} days left")
    expect(page.locator("#recent tbody tr")).to_have_count(6)
    tab.screenshot("monitor-day")
    page.get_by_role("button", name="7 d").click()
    expect(page.locator("#detail")).to_have_attribute("data-span", "week")
    expect(page.locator("#status-strip svg rect")).to_have_count(168)
    page.get_by_role("button", name="30 d").click()
    expect(page.locator("#detail")).to_have_attribute("data-span", "month")
    expect(page.locator("#status-strip svg rect")).to_have_count(30)
    tab.screenshot("monitor-month")
    page.get_by_role("link", name="All monitors").click()
    expect(page.locator("#home")).to_be_visible()
    expect(page.locator("#detail")).to_be_hidden()
    assert_no_console_error(tab)


def test_a_monitors_page_shows_the_latency_of_a_monitor_that_succeeds(tab: Tab) -> None:
    tab.open(f"/#/monitors/{monitor_id(tab.api, name(1))}")
    page = tab.page
    expect(page.locator("#detail-name")).to_have_text(name(1))
    expect(page.locator("#latency-chart svg circle")).not_to_have_count(0)
    expect(page.locator("#failures tbody tr")).to_contain_text("No failure in this span.")
    assert_no_console_error(tab)


def test_a_monitor_with_a_degraded_limit_shows_its_degraded_checks(tab: Tab) -> None:
    tab.open(f"/#/monitors/{monitor_id(tab.api, name(18))}")
    page = tab.page
    expect(page.locator("#detail-name")).to_have_text(name(18))
    flags = page.locator("#detail-flags")
    expect(flags.locator(".badge")).to_have_text("degraded")
    expect(flags).to_contain_text(f"over the degraded limit of {DEGRADED_AFTER_MS} ms")
    expect(flags.locator(".degraded-counts")).to_contain_text("Degraded: 1 in the past hour")
    expect(page.locator("#settings-view")).to_contain_text(
        f"slower than {DEGRADED_AFTER_MS} ms is flagged degraded"
    )
    expect(page.locator("#recent tbody tr").first.locator(".badge")).to_have_text("degraded")
    tab.screenshot("monitor-degraded")
    assert_no_console_error(tab)


def test_deleting_a_monitor_removes_it_from_the_table(tab: Tab) -> None:
    url = f"https://to-delete-{time.time_ns()}.example.com/"
    created = httpx.post(tab.api.base + "/urls/", json={"name": "to delete", "url": url})
    assert created.status_code == 201
    tab.open()
    page = tab.page
    page.get_by_label("Search monitors by name or URL").fill(url)
    expect(rows(tab)).to_have_count(1)
    button = page.get_by_role("button", name="Delete to delete")
    button.click()
    expect(button).to_have_text("Confirm")
    button.click()
    expect(rows(tab).first).to_contain_text("No monitor matches")
    assert httpx.get(f"{tab.api.base}/urls/{created.json()['id']}").status_code == 404
    assert_no_console_error(tab)


def test_deleting_from_a_monitors_page_goes_back_to_the_list(tab: Tab) -> None:
    url = f"https://to-delete-{time.time_ns()}.example.com/"
    created = httpx.post(tab.api.base + "/urls/", json={"name": "doomed", "url": url})
    assert created.status_code == 201
    tab.open(f"/#/monitors/{created.json()['id']}")
    page = tab.page
    button = page.locator("#detail-delete")
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_text("Confirm delete")
    button.click()
    page.wait_for_url("**/#/")
    assert httpx.get(f"{tab.api.base}/urls/{created.json()['id']}").status_code == 404
    assert_no_console_error(tab)


def test_the_page_refreshes_itself_after_a_new_cycle(browser: Browser, api: Api) -> None:
    with open_tab(browser, api, poll_ms=300) as tab:
        tab.open()
        page = tab.page
        page.get_by_label("Search monitors by name or URL").fill(name(3))
        badge = rows(tab).first.locator("td.last .badge")
        expect(badge).to_have_text("up")
        now = time.time()
        failed = Check(monitor_id(api, name(3)), now, Status.FAIL, 500, 12, Cause.HTTP_STATUS)
        run_aside(add_check(api.settings, failed))
        run_aside(record_cycle(api.settings, now))
        expect(page.locator("html")).to_have_attribute("data-refreshes", "1")
        expect(badge).to_have_text("down")
        expect(rows(tab).first.locator(".small")).to_contain_text("500 · http status · 12 ms")
        assert_no_console_error(tab)


def test_the_page_is_readable_on_a_phone(browser: Browser, api: Api) -> None:
    with open_tab(browser, api, viewport={"width": 390, "height": 844}) as tab:
        tab.open()
        page = tab.page
        expect(rows(tab)).to_have_count(25)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        expect(rows(tab).first.locator("td.name")).to_be_visible()
        expect(rows(tab).first.locator("svg.strip")).to_be_visible()
        tab.screenshot("phone")
        assert_no_console_error(tab)


@pytest.fixture(scope="module")
def guarded_api(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Api]:
    """An API with API_KEYS and READ_AUTH (embedded: the key checks do not depend on the store)."""
    path = tmp_path_factory.mktemp("guarded") / "guarded.sqlite3"
    env = server_env(SQLITE_PATH=path, API_KEYS=KEY, READ_AUTH="true")
    yield from serve(env, "embedded")


def test_with_keys_set_the_page_asks_for_one_and_sends_it(
    browser: Browser, guarded_api: Api
) -> None:
    with open_tab(browser, guarded_api) as tab:
        tab.expect_http_errors(401, 403)
        tab.open()
        page = tab.page
        banner = page.locator("#banner")
        expect(banner).to_contain_text("needs a key")
        page.get_by_role("button", name="API key").click()
        page.get_by_label("API key").fill("not the key")
        page.get_by_role("button", name="Use key").click()
        expect(banner).to_contain_text("not valid")
        page.get_by_role("button", name="API key").click()
        page.get_by_label("API key").fill(KEY)
        page.get_by_role("button", name="Use key").click()
        expect(rows(tab)).to_have_count(25)
        expect(banner).to_be_hidden()
        expect(page.locator("#cycle")).to_contain_text("Last cycle")
        page.get_by_label("Name", exact=True).fill("with a key")
        page.get_by_label("URL", exact=True).fill("https://with-a-key.example.com/")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("#add-message")).to_contain_text("Added with a key")
        tab.screenshot("with-key")
        assert_no_console_error(tab)


@pytest.fixture(scope="module")
def empty_api(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Api]:
    """A new install: no monitor, no check, no cycle yet."""
    path = tmp_path_factory.mktemp("empty") / "empty.sqlite3"
    yield from serve(server_env(SQLITE_PATH=path), "embedded", seeded=False)


def test_a_new_install_with_nothing_yet_loads_without_errors(
    browser: Browser, empty_api: Api
) -> None:
    with open_tab(browser, empty_api) as tab:
        tab.open()
        page = tab.page
        expect(page.locator("#cycle")).to_contain_text("No cycle has finished yet")
        expect(page.locator("td.empty")).to_contain_text("No monitor yet")
        tab.screenshot("new-install")
        assert_no_console_error(tab)
