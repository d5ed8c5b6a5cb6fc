"""The dashboard's alerting (issue 16) in Chromium, against a real API process on the embedded
store: health on the overview and a monitor's page, the incidents, the channels (a test send to a
local webhook receiver on 127.0.0.1) and the maintenance windows.

Incidents are not written by hand: checks are stored through the store, as a probe stores them,
and the store's own evaluation of health opens and resolves them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, expect

from service_monitor.models import Cause, Check, CycleOutcome, CycleRecord, Status
from service_monitor.storage import open_storage
from tests.alerting.receiver import Receiver, receiving
from tests.browser.conftest import Api, Tab, _Background, open_tab, serve
from tests.conftest import run_aside
from tests.servers import server_env

DOCS = Path(__file__).parents[2] / "docs"
FLAPS = 24  # the flapping monitor's incidents: more than a page of them anywhere
UP = ("login", "status page", "images", "docs site")


@dataclass
class Seeded:
    """The API, the receiver its channels send to, and the ids of the seeded monitors by name."""

    api: Api
    receiver: Receiver
    ids: dict[str, int]
    channel: dict[str, Any]  # the default webhook channel made before the checks


def _checks(
    monitor_id: int, start: float, outcomes: str, cause: Cause = Cause.TIMEOUT
) -> list[Check]:
    """One check a minute from `start`: 'f' failed (with `cause` and its detail), 's' passed."""
    detail = {
        Cause.TIMEOUT: "timeout: no answer within 2 s",
        Cause.HTTP_STATUS: "status 503 is not below 400",
    }[cause]
    checks = []
    for k, outcome in enumerate(outcomes):
        at = start + 60 * k
        if outcome == "f":
            http = 503 if cause is Cause.HTTP_STATUS else None
            checks.append(Check(monitor_id, at, Status.FAIL, http, 2000, cause, detail))
        else:
            checks.append(Check(monitor_id, at, Status.SUCCESS, 200, 40 + k % 30))
    return checks


async def _store_checks(api: Api, ids: dict[str, int], now: float) -> None:
    """As probes would: two monitors down now, one down then recovered, one flapping FLAPS times,
    the others up, and `newcomer` never checked (unknown)."""
    storage = await open_storage(api.settings)
    try:
        batches = [
            _checks(ids["checkout"], now - 600, "ssffff"),
            _checks(ids["search"], now - 400, "sfff", Cause.HTTP_STATUS),
            _checks(ids["billing"], now - 900, "fffss"),
            _checks(ids["flappy"], now - 86400, "fffss" * FLAPS),
            *(_checks(ids[name], now - 300, "sss") for name in UP),
        ]
        for batch in batches:
            await storage.add_checks(batch)
    finally:
        await storage.close()


async def _record_cycle(api: Api, finished_at: float, probed: int) -> None:
    """The cycle those checks came from: what the page's top line shows."""
    storage = await open_storage(api.settings)
    try:
        await storage.record_cycle(
            CycleRecord(
                started_at=finished_at - 4,
                finished_at=finished_at,
                outcome=CycleOutcome.DONE,
                probed=probed,
                success=probed - 2,
                fail=2,
                stored=probed,
            )
        )
    finally:
        await storage.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[Seeded]:
    """An API process on a new embedded store, a webhook receiver on 127.0.0.1 (allowed by
    ALLOW_PRIVATE_TARGETS), a default webhook channel, then the checks that open incidents."""
    path = tmp_path_factory.mktemp("alerts") / "alerts.sqlite3"
    env = server_env(SQLITE_PATH=path, ALLOW_PRIVATE_TARGETS="true", TIMEOUT=2)
    background = _Background()
    hooks = receiving()
    receiver: Receiver = background.run(hooks.__aenter__())
    try:
        for api in serve(env, "embedded", seeded=False):
            names = ["checkout", "search", "billing", "flappy", "newcomer", *UP]
            for name in names:
                url = f"https://{name.replace(' ', '-')}.example.com/health"
                created = httpx.post(api.base + "/urls/", json={"name": name, "url": url})
                assert created.status_code == 201, created.text
            ids = {m["name"]: m["id"] for m in get(api, "/urls", limit=100)["items"]}
            channel = httpx.post(
                api.base + "/channels",
                json={
                    "name": "ops hook",
                    "type": "webhook",
                    "url": receiver.url("/seed"),
                    "is_default": True,
                },
            )
            assert channel.status_code == 201, channel.text
            now = time.time()
            run_aside(_store_checks(api, ids, now))
            run_aside(_record_cycle(api, now, probed=len(names) - 1))
            yield Seeded(api, receiver, ids, channel.json())
    finally:
        background.run(hooks.__aexit__(None, None, None))
        background.close()


@pytest.fixture
def tab(browser: Browser, seeded: Seeded) -> Iterator[Tab]:
    with open_tab(browser, seeded.api) as opened:
        yield opened


def get(api: Api, path: str, **params: Any) -> Any:
    response = httpx.get(api.base + path, params=params)
    response.raise_for_status()
    return response.json()


def assert_no_console_error(tab: Tab) -> None:
    assert tab.unexpected_errors() == []


def monitor_row(tab: Tab, name: str) -> Any:
    return tab.page.locator("#monitor-table tbody tr").filter(
        has=tab.page.get_by_role("link", name=name, exact=True)
    )


def test_the_overview_shows_the_open_incidents_the_health_counts_and_a_health_column(
    tab: Tab, seeded: Seeded
) -> None:
    api = seeded.api
    tab.open()
    page = tab.page
    overview = get(api, "/urls/overview", limit=25)
    assert overview["health"]["down"] == 2, overview["health"]
    expect(page.locator("#health-up")).to_have_text(str(overview["health"]["up"]))
    expect(page.locator("#health-down")).to_have_text("2")
    expect(page.locator("#health-unknown")).to_have_text(str(overview["health"]["unknown"]))
    opened = page.locator("#open-incidents li")
    expect(opened).to_have_count(2)
    expect(page.locator("#open-incidents h3")).to_have_text("2 open incidents")
    checkout = opened.filter(has_text="checkout")
    expect(checkout.get_by_role("link", name="checkout")).to_have_attribute(
        "href", f"#/monitors/{seeded.ids['checkout']}"
    )
    expect(checkout).to_contain_text("down since")
    expect(checkout.locator(".cause")).to_have_text("timeout: no answer within 2 s")
    expect(opened.filter(has_text="search").locator(".cause")).to_have_text(
        "http status: status 503 is not below 400"
    )
    expect(page.locator("#nav-open")).to_have_text("2")
    expect(monitor_row(tab, "checkout").locator(".health-col")).to_have_text("down")
    expect(monitor_row(tab, "login").locator(".health-col")).to_have_text("up")
    expect(monitor_row(tab, "newcomer").locator(".health-col")).to_have_text("unknown")
    tab.screenshot("alerts-overview")
    assert_no_console_error(tab)


def test_the_nav_moves_between_the_overview_incidents_channels_and_maintenance(
    tab: Tab,
) -> None:
    tab.open()
    page = tab.page
    nav = page.get_by_role("navigation", name="sections")
    for label, view in [
        ("Incidents", "#incidents"),
        ("Channels", "#channels"),
        ("Maintenance", "#maintenance"),
        ("Overview", "#home"),
    ]:
        nav.get_by_role("link", name=label).click()
        expect(page.locator(view)).to_be_visible()
        expect(page.locator("main:visible")).to_have_count(1)
        expect(nav.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
    page.go_back()
    expect(page.locator("#maintenance")).to_be_visible()
    assert_no_console_error(tab)


def test_a_monitors_page_shows_its_health_thresholds_channels_and_incidents(
    tab: Tab, seeded: Seeded
) -> None:
    tab.open(f"/#/monitors/{seeded.ids['checkout']}")
    page = tab.page
    view = page.locator("#alerting-view")
    expect(view.locator(".badge")).to_have_text("down")
    expect(view).to_contain_text("at least 3 failed checks in a row")
    expect(view).to_contain_text("down after 3 failed checks in a row (the default)")
    expect(view).to_contain_text("up again after 2 successful checks in a row (the default)")
    expect(view).to_contain_text("none named: the default channels (ops hook)")
    incident = get(seeded.api, f"/urls/{seeded.ids['checkout']}/incidents")["items"][0]
    expect(view.get_by_role("link", name=f"incident #{incident['id']}")).to_be_visible()
    rows = page.locator("#monitor-incident-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("open")
    expect(rows.first).to_contain_text("no answer within 2 s")
    assert_no_console_error(tab)


def test_a_monitors_incident_history_is_paginated(tab: Tab, seeded: Seeded) -> None:
    tab.open(f"/#/monitors/{seeded.ids['flappy']}")
    page = tab.page
    rows = page.locator("#monitor-incident-table tbody tr")
    info = page.locator("#monitor-incidents-info")
    expect(info).to_have_text(f"1–10 of {FLAPS}")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("resolved")
    expect(page.locator("#monitor-incidents-prev")).to_be_disabled()
    page.locator("#monitor-incidents-next").click()
    expect(info).to_have_text(f"11–20 of {FLAPS}")
    page.locator("#monitor-incidents-next").click()
    expect(info).to_have_text(f"21–{FLAPS} of {FLAPS}")
    expect(rows).to_have_count(FLAPS - 20)
    expect(page.locator("#monitor-incidents-next")).to_be_disabled()
    assert_no_console_error(tab)


def test_editing_a_monitors_thresholds_and_channels_patches_it(
    browser: Browser, seeded: Seeded
) -> None:
    api = seeded.api
    pager = httpx.post(
        api.base + "/channels",
        json={"name": "pager", "type": "webhook", "url": seeded.receiver.url("/pager")},
    )
    assert pager.status_code == 201, pager.text
    monitor = seeded.ids["login"]
    with open_tab(browser, api) as tab:
        tab.expect_http_errors(422)
        tab.open(f"/#/monitors/{monitor}")
        page = tab.page
        page.get_by_role("button", name="Edit alerting").click()
        form = page.locator("#alerting-form")
        expect(form.get_by_label("pager (webhook)")).to_be_visible()
        page.get_by_label("Down after (failed checks in a row)").fill("0")
        page.get_by_role("button", name="Save", exact=True).click()
        down_after = page.get_by_label("Down after (failed checks in a row)")
        expect(down_after).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#alerting-message")).to_contain_text("Down after:")
        down_after.fill("5")
        form.get_by_label("pager (webhook)").check()
        form.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#detail-message")).to_contain_text("Saved:")
        expect(page.locator("#detail-message")).to_contain_text("failure_threshold")
        view = page.locator("#alerting-view")
        expect(view).to_contain_text("down after 5 failed checks in a row (its own)")
        expect(view.get_by_role("link", name="pager")).to_be_visible()
        stored = get(api, f"/urls/{monitor}")
        assert stored["failure_threshold"] == 5
        assert stored["thresholds"]["failure"] == 5
        assert stored["channels"] == ["pager"]
        tab.screenshot("alerts-monitor-edit")
        assert_no_console_error(tab)


def test_the_incidents_view_lists_open_and_all_incidents_by_pages(tab: Tab, seeded: Seeded) -> None:
    tab.open("/#/incidents")
    page = tab.page
    rows = page.locator("#incident-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#incidents-info")).to_have_text("1–2 of 2")
    expect(rows.filter(has_text="checkout").get_by_role("link", name="checkout")).to_be_visible()
    every = get(seeded.api, "/incidents", state="all", limit=1)["total"]
    assert every > 25
    page.get_by_role("button", name="All", exact=True).click()
    expect(page.locator("#incidents")).to_have_attribute("data-state", "all")
    expect(page.locator("#incidents-info")).to_have_text(f"1–25 of {every}")
    expect(rows).to_have_count(25)
    page.locator("#incidents-next").click()
    expect(page.locator("#incidents-info")).to_have_text(f"26–{every} of {every}")
    expect(rows).to_have_count(every - 25)
    # Newest first (by id): the flapping monitor's, stored after the others, fill page 1.
    expect(rows.last).to_contain_text("checkout")
    tab.screenshot("alerts-incidents")
    assert_no_console_error(tab)


def test_an_incidents_page_shows_its_notifications(tab: Tab, seeded: Seeded) -> None:
    incident = get(seeded.api, f"/urls/{seeded.ids['checkout']}/incidents")["items"][0]
    detail = get(seeded.api, f"/incidents/{incident['id']}")
    assert detail["notifications"], detail
    tab.open("/#/incidents")
    page = tab.page
    page.get_by_role("link", name=f"#{incident['id']}", exact=True).click()
    expect(page.locator("#incident")).to_have_attribute("data-loaded", str(incident["id"]))
    expect(page.locator("#incident-title")).to_have_text(f"Incident #{incident['id']}: checkout")
    facts = page.locator("#incident-facts")
    expect(facts).to_contain_text("timeout: no answer within 2 s")
    expect(facts).to_contain_text("not yet")
    notes = page.locator("#notification-table tbody tr")
    expect(notes).to_have_count(len(detail["notifications"]))
    first = detail["notifications"][0]
    expect(notes.first).to_contain_text(first["kind"])
    expect(notes.first).to_contain_text("ops hook")
    expect(notes.first).to_contain_text(first["state"])
    expect(notes.first.locator("td.num")).to_have_text(str(first["attempts"]))
    page.get_by_role("link", name="All incidents").click()
    expect(page.locator("#incidents")).to_be_visible()
    assert_no_console_error(tab)


def test_a_webhook_channel_shows_its_secret_once_and_its_test_reaches_the_receiver(
    tab: Tab, seeded: Seeded
) -> None:
    tab.open("/#/channels")
    page = tab.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tab.api.base)
    page.get_by_label("Channel name").fill("team hook")
    page.get_by_label("Channel type").select_option("webhook")
    page.get_by_label("Channel URL").fill(seeded.receiver.url("/team"))
    page.get_by_label("Remind every (minutes)").fill("60")
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#channel-message")).to_contain_text("Added team hook (webhook")
    box = page.locator("#channel-secret")
    expect(box).to_be_visible()
    expect(box).to_contain_text("Shown this once")
    expect(box).to_contain_text("X-Signature: sha256=")
    secret = page.get_by_label("Signing secret of team hook").input_value()
    assert len(secret) >= 20
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = page.locator("#channel-table tbody tr").filter(has_text="team hook")
    expect(row).to_contain_text("every 1 h")
    expect(row).to_contain_text("127.0.0.1")
    assert secret not in page.locator("#channel-table").inner_text()
    tab.screenshot("alerts-channel-secret")
    page.get_by_role("button", name="I have stored it").click()
    expect(box).to_be_hidden()
    # The page never shows it again: a reload lists the channel without it.
    tab.page.reload()
    tab.page.wait_for_selector("html[data-ready]")
    expect(page.locator("#channels")).not_to_contain_text(secret)

    before = len(seeded.receiver.requests)
    page.get_by_role("button", name="Test team hook").click()
    expect(row.locator(".test-result")).to_contain_text("Test sent")
    sent = [r for r in seeded.receiver.requests[before:] if r.path == "/team"]
    assert len(sent) == 1
    signature = hmac.new(secret.encode(), sent[0].body, hashlib.sha256).hexdigest()
    assert sent[0].headers["X-Signature"] == f"sha256={signature}"

    seeded.receiver.fail_next = 1  # the receiver answers the next request with a 500
    page.get_by_role("button", name="Test team hook").click()
    expect(row.locator(".test-result")).to_contain_text("Test failed")
    expect(row.locator(".test-result")).to_contain_text("500")
    tab.screenshot("alerts-channel-test")
    assert_no_console_error(tab)


def test_a_refused_channel_shows_the_apis_reason_by_its_field(tab: Tab) -> None:
    tab.expect_http_errors(409, 422)
    tab.open("/#/channels")
    page = tab.page
    page.get_by_label("Channel name").fill("bad hook")
    page.get_by_label("Channel type").select_option("webhook")
    page.get_by_label("Channel URL").fill("ftp://files.example.com/hook")
    page.get_by_role("button", name="Add channel").click()
    url = page.get_by_label("Channel URL")
    expect(url).to_have_attribute("aria-invalid", "true")
    message = page.locator("#channel-message")
    expect(message).to_have_class("message error")
    expect(message).to_contain_text("URL:")
    expect(page.locator("#channel-add .field-error")).not_to_have_count(0)
    page.get_by_label("Channel name").fill("ops hook")  # the seeded channel's name
    url.fill("https://hooks.example.com/other")
    page.get_by_role("button", name="Add channel").click()
    answer = httpx.post(
        tab.api.base + "/channels",
        json={"name": "ops hook", "type": "webhook", "url": "https://hooks.example.com/other"},
    )
    assert answer.status_code == 409
    expect(message).to_contain_text(answer.json()["detail"])
    assert_no_console_error(tab)


def test_a_channel_is_edited_and_one_in_use_is_deleted_only_when_forced(
    tab: Tab, seeded: Seeded
) -> None:
    api = seeded.api
    made = httpx.post(
        api.base + "/channels",
        json={"name": "old name", "type": "webhook", "url": seeded.receiver.url("/old")},
    )
    assert made.status_code == 201, made.text
    monitor = seeded.ids["images"]
    named = httpx.patch(f"{api.base}/urls/{monitor}", json={"channels": ["old name"]})
    assert named.status_code == 200, named.text
    tab.expect_http_errors(409)
    tab.open("/#/channels")
    page = tab.page
    page.get_by_role("button", name="Edit old name").click()
    expect(page.locator("#channel-form-title")).to_have_text("Edit channel old name")
    expect(page.get_by_label("Channel type")).to_be_disabled()
    page.get_by_label("Channel name").fill("new name")
    page.get_by_label("Also tell when an incident is resolved").uncheck()
    page.get_by_role("button", name="Save channel").click()
    expect(page.locator("#channel-message")).to_contain_text("Saved new name:")
    expect(page.locator("#channel-message")).to_contain_text("send_resolved")
    row = page.locator("#channel-table tbody tr").filter(has_text="new name")
    expect(row.locator("td.num")).to_have_text("1")

    delete = page.get_by_role("button", name="Delete new name")
    delete.click()
    expect(delete).to_have_text("Confirm")
    delete.click()
    message = page.locator("#channels-message")
    expect(message).to_contain_text("is named by 1 monitor(s)")
    page.get_by_role("button", name="Delete anyway").click()
    expect(message).to_contain_text("Deleted new name.")
    expect(row).to_have_count(0)
    assert get(api, f"/urls/{monitor}")["channels"] == []
    assert_no_console_error(tab)


def _local_minute(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")  # the browser runs in UTC (open_tab)


def test_maintenance_windows_are_added_for_all_or_one_monitor_listed_and_deleted(
    tab: Tab, seeded: Seeded
) -> None:
    tab.expect_http_errors(422)
    tab.open("/#/maintenance")
    page = tab.page
    rows = page.locator("#window-table tbody tr")
    expect(rows.first).to_contain_text("No maintenance window")
    # One-off, for every monitor, started a minute ago: active now.
    page.get_by_label("Starts at").fill(_local_minute(datetime.now(UTC) - timedelta(minutes=1)))
    page.get_by_label("Lasts (minutes)").fill("30")
    page.get_by_label("Note").fill("database upgrade")
    page.get_by_role("button", name="Add window").click()
    message = page.locator("#window-message")
    expect(message).to_contain_text("active now")
    first = rows.filter(has_text="database upgrade")
    expect(first).to_contain_text("All monitors")
    expect(first.locator(".badge")).to_have_text("active")
    expect(first).to_contain_text("30 min")

    # Recurring, for one monitor picked by name; a bad cron first.
    page.get_by_label("Recurring (cron)").check()
    page.get_by_label("All monitors").uncheck()
    page.get_by_label("Monitor (type its name)").fill("billing")
    page.get_by_label("Cron expression").fill("0 2 * * FUNDAY")
    page.get_by_label("Time zone the cron is read in").fill("Europe/Paris")
    page.get_by_label("Lasts (minutes)").fill("120")
    page.get_by_role("button", name="Add window").click()
    cron = page.get_by_label("Cron expression")
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(message).to_have_class("message error")
    # Every day, 12 hours from now in Paris: not active now, whenever the test runs.
    hour = (datetime.now(ZoneInfo("Europe/Paris")).hour + 12) % 24
    cron.fill(f"0 {hour} * * *")
    page.get_by_label("Time zone the cron is read in").fill("Europe/Paris")
    page.get_by_role("button", name="Add window").click()
    expect(message).to_contain_text("Added window")
    second = rows.filter(has_text="Europe/Paris")
    expect(second).to_contain_text(f"cron “0 {hour} * * *” in Europe/Paris")
    expect(second).to_contain_text("next")
    expect(second.get_by_role("link", name="billing")).to_have_attribute(
        "href", f"#/monitors/{seeded.ids['billing']}"
    )
    # A name no monitor has is refused by the page, next to the box.
    page.get_by_label("All monitors").uncheck()
    page.get_by_label("Monitor (type its name)").fill("no such monitor")
    page.get_by_label("Cron expression").fill("0 3 * * *")
    page.get_by_role("button", name="Add window").click()
    expect(page.get_by_label("Monitor (type its name)")).to_have_attribute("aria-invalid", "true")
    expect(message).to_contain_text("no monitor is named “no such monitor”")
    tab.screenshot("alerts-maintenance")

    windows = get(seeded.api, "/maintenance")["items"]
    assert len(windows) == 2
    for window in windows:
        delete = page.get_by_role("button", name=f"Delete window {window['id']}")
        delete.click()
        delete.click()
    expect(rows.first).to_contain_text("No maintenance window")
    assert get(seeded.api, "/maintenance")["total"] == 0
    assert_no_console_error(tab)


def test_the_alerting_views_fit_a_phone(browser: Browser, seeded: Seeded) -> None:
    with open_tab(browser, seeded.api, viewport={"width": 390, "height": 844}) as tab:
        for path in ("/", "/#/incidents", "/#/channels", "/#/maintenance"):
            tab.open(path)
            assert tab.page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert_no_console_error(tab)


def test_the_docs_screenshot_shows_an_open_incident_and_the_incidents(
    browser: Browser, seeded: Seeded
) -> None:
    """docs/dashboard-alerts.png: the overview with its open incidents above the incidents view.
    Written to docs/ only with UPDATE_DOCS_SCREENSHOTS=1 (the tests leave the tree unchanged)."""
    with open_tab(browser, seeded.api, viewport={"width": 1280, "height": 720}) as tab:
        tab.open()
        expect(tab.page.locator("#open-incidents li")).to_have_count(2)
        top = tab.page.screenshot()
        tab.page.goto(tab.api.base + "/#/incidents")
        expect(tab.page.locator("#incident-table tbody tr")).to_have_count(2)
        tab.page.get_by_role("button", name="All", exact=True).click()
        expect(tab.page.locator("#incident-table tbody tr")).to_have_count(25)
        bottom = tab.page.screenshot()
        assert_no_console_error(tab)
        # One image of the two, stacked by the browser itself (no imaging library needed).
        stacked = tab.page.context.new_page()
        images = "".join(
            f'<img style="display:block" src="data:image/png;base64,{base64.b64encode(shot).decode()}">'
            for shot in (top, bottom)
        )
        stacked.set_content(f'<body style="margin:0;background:#888">{images}</body>')
        target = (
            DOCS / "dashboard-alerts.png"
            if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"
            else Path(__file__).parent / "screenshots" / "dashboard-alerts.png"
        )
        target.parent.mkdir(exist_ok=True)
        stacked.screenshot(path=target, full_page=True)
