"""The dashboard's part of per-monitor checks (issue 15), in Chromium against a real API process on
each backend: a monitor added with a request and assertions through the add form's advanced part,
probed by a real compute cycle against a local server the test starts, then its page: the failure's
detail, the degraded flag, the settings (secrets redacted) and their edit; a 422 shown by the field
it names."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from playwright.sync_api import Browser, Locator, Page, expect

from service_monitor.models import Check, Status
from service_monitor.storage import open_storage
from tests.browser.conftest import Api, Tab, _Background, backend_env, open_tab, serve
from tests.browser.seed import add_check
from tests.conftest import run_aside
from tests.servers import ROOT

SLOW_S = 0.3  # seconds /slow takes to answer: over the degraded limit the tests set, inside TIMEOUT
DEGRADED_AFTER_MS = 100
DAY = 86400


@dataclass
class Target:
    """A local HTTP server the monitors probe; it records each request's X-Token header."""

    base: str
    tokens: list[str] = field(default_factory=list)


@asynccontextmanager
async def target_server(target: Target) -> AsyncIterator[str]:
    """Serve /health ({"status": "ok"}), /slow (the same after SLOW_S) and /sick
    ({"status": "degraded"}, still a 200); yields the base URL."""

    async def answer(request: web.Request) -> web.Response:
        target.tokens.append(request.headers.get("X-Token", ""))
        if request.path == "/slow":
            await asyncio.sleep(SLOW_S)
        status = "degraded" if request.path == "/sick" else "ok"
        return web.json_response({"status": status})

    app = web.Application()
    for path in ("/health", "/slow", "/sick"):
        app.router.add_route("*", path, answer)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    background = _Background()
    found = Target("")
    server = target_server(found)
    try:
        found.base = background.run(server.__aenter__())
        yield found
        background.run(server.__aexit__(None, None, None))
    finally:
        background.close()


@dataclass
class Deployment:
    """An API process on a new (unseeded) store, and the environment to run a compute cycle."""

    api: Api
    env: dict[str, str]

    def cycle(self) -> None:
        """One compute cycle, as `service-monitor compute` runs it (a process of its own)."""
        done = subprocess.run(
            [sys.executable, "-m", "src.service_monitor.compute.scheduler"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module", params=["embedded", "mysql+redis"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[Deployment]:
    tmp_path = tmp_path_factory.mktemp("checks")
    for env in backend_env(request.param, tmp_path, request):
        env = {**env, "LOG_LEVEL": "WARNING"}
        for api in serve(env, request.param, seeded=False):
            yield Deployment(api, env)


@pytest.fixture
def tab(browser: Browser, deployment: Deployment) -> Iterator[Tab]:
    with open_tab(browser, deployment.api) as opened:
        yield opened


def unique(path: str) -> str:
    """A query that makes each test's URLs its own (a store is shared by the module's tests)."""
    return f"{path}?t={time.time_ns()}"


def advanced(page: Page) -> Locator:
    """The add form, its advanced part opened."""
    form = page.locator("#add-form")
    details = page.locator("#add-advanced")
    if details.get_attribute("open") is None:
        form.get_by_text("Advanced: request and assertions").click()
    return form


def add_assertion(form: Locator, kind: str, number: int, title: str) -> Locator:
    form.get_by_label("New assertion on").select_option(kind)
    form.get_by_role("button", name="Add assertion").click()
    group = form.get_by_role("group", name=f"Assertion {number}: {title}")
    expect(group).to_be_visible()
    return group


def add_through_the_form(page: Page, name: str, url: str, *, slow_limit: bool) -> int:
    """Fill the add form: a secret X-Token header, status 2xx and $.status == "ok" (and a degraded
    limit when `slow_limit`); submit; the new monitor's id."""
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("URL", exact=True).fill(url)
    form = advanced(page)
    form.get_by_label("Method").select_option("GET")
    form.get_by_role("button", name="Add header").click()
    form.get_by_label("Header 1 name").fill("X-Token")
    form.get_by_label("Header 1 value").fill("s3cret")
    form.get_by_label("Header 1 is secret").check()
    expect(form.get_by_label("Header 1 value")).to_have_attribute("type", "password")
    status = add_assertion(form, "status", 1, "status code")
    expect(status.get_by_label("Codes, ranges or classes")).to_have_value("2xx")
    json_path = add_assertion(form, "json", 2, "JSON path")
    json_path.get_by_label("JSON path").fill("$.status")
    json_path.get_by_label("Condition").select_option("equals")
    json_path.get_by_label("Value (JSON or text)").fill("ok")
    if slow_limit:
        form.get_by_label("Degraded after (ms)", exact=False).fill(str(DEGRADED_AFTER_MS))
    page.get_by_role("button", name="Add", exact=True).click()
    message = page.locator("#add-message")
    expect(message).to_contain_text(f"Added {name}")
    href = message.get_by_role("link", name=name).get_attribute("href")
    assert href is not None
    return int(href.rsplit("/", 1)[1])


def reopen(tab: Tab, path: str) -> None:
    """Load the page anew (a hash change alone would keep the data of the first load)."""
    tab.page.goto("about:blank")
    tab.open(path)


def get(api: Api, path: str) -> Any:
    response = httpx.get(api.base + path)
    response.raise_for_status()
    return response.json()


async def stored_headers(api: Api, monitor_id: int) -> dict[str, str]:
    """The request headers the store keeps for the monitor (secrets included)."""
    storage = await open_storage(api.settings)
    try:
        return dict((await storage.get_monitor(monitor_id)).check.request.headers)
    finally:
        await storage.close()


def test_a_monitor_added_with_assertions_in_the_advanced_form_is_stored_with_them(
    tab: Tab, target: Target
) -> None:
    tab.open()
    page = tab.page
    url = target.base + unique("/health")
    monitor_id = add_through_the_form(page, "form with checks", url, slow_limit=True)
    # The form is back to the default check for the next URL.
    expect(page.locator("#add-advanced")).not_to_have_attribute("open", "")
    expect(page.locator("#add-form fieldset.assertion")).to_have_count(0)

    monitor = get(tab.api, f"/urls/{monitor_id}")
    assert monitor["request"]["method"] == "GET"
    assert monitor["request"]["headers"] == {"X-Token": "<redacted>"}
    assert monitor["request"]["secret_headers"] == ["X-Token"]
    assert monitor["assertions"] == [
        {"type": "status", "codes": ["2xx"]},
        {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
    ]
    assert monitor["degraded_after_ms"] == DEGRADED_AFTER_MS
    assert run_aside(stored_headers(tab.api, monitor_id)) == {"X-Token": "s3cret"}

    page.locator("#add-message").get_by_role("link", name="form with checks").click()
    settings = page.locator("#settings-view")
    expect(settings).to_contain_text(f"GET {url}")
    expect(settings).to_contain_text("X-Token: <redacted>")
    expect(settings).not_to_contain_text("s3cret")
    expect(settings).to_contain_text("status is one of 2xx")
    expect(settings).to_contain_text('$.status equals "ok"')
    expect(settings).to_contain_text(f"slower than {DEGRADED_AFTER_MS} ms is flagged degraded")
    tab.screenshot("checks-settings")
    assert tab.unexpected_errors() == []


def test_after_a_cycle_a_monitors_page_shows_the_failures_detail_and_the_degraded_flag(
    browser: Browser, deployment: Deployment, target: Target
) -> None:
    with open_tab(browser, deployment.api) as tab:
        tab.open()
        page = tab.page
        sick = add_through_the_form(
            page, "sick api", target.base + unique("/sick"), slow_limit=False
        )
        slow = add_through_the_form(
            page, "slow api", target.base + unique("/slow"), slow_limit=True
        )
        target.tokens.clear()
        deployment.cycle()
        # The compute sent the secret header the API never shows.
        assert target.tokens.count("s3cret") >= 2, target.tokens

        reopen(tab, f"/#/monitors/{sick}")
        expect(page.locator("#detail-name")).to_have_text("sick api")
        expect(page.locator("#cycle")).to_contain_text("ok, 1 failed")
        flags = page.locator("#detail-flags")
        expect(flags.locator(".badge")).to_have_text("down")
        detail = get(deployment.api, f"/urls/{sick}")["checks"][0]["detail"]
        assert "$.status" in detail, detail
        expect(flags).to_contain_text(detail)
        expect(page.locator("#recent tbody tr").first).to_contain_text("assertion")
        expect(page.locator("#recent tbody tr").first.locator(".detail-col")).to_have_text(detail)
        expect(page.locator("#failures tbody tr").first.locator(".detail-col")).to_have_text(detail)
        tab.screenshot("checks-failure-detail")

        reopen(tab, f"/#/monitors/{slow}")
        expect(page.locator("#detail-name")).to_have_text("slow api")
        expect(flags.locator(".badge")).to_have_text("degraded")
        expect(flags).to_contain_text(f"over the degraded limit of {DEGRADED_AFTER_MS} ms")
        expect(page.locator("#detail-facts")).to_contain_text("(1 degraded)")
        expect(page.locator(".degraded-counts")).to_contain_text("Degraded: 1 in the past hour")
        expect(page.locator("#recent tbody tr").first.locator(".badge")).to_have_text("degraded")
        tab.screenshot("checks-degraded")

        reopen(tab, "/")
        search = page.get_by_label("Search monitors by name or URL")
        search.fill("slow api")
        row = page.locator("#monitor-table tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator("td.last .badge")).to_have_text("degraded")
        search.fill("sick api")
        expect(row).to_have_count(1)
        expect(row.locator("td.last .badge")).to_have_text("down")
        expect(row.locator(".detail")).to_have_text(detail)
        tab.screenshot("checks-overview")
        assert tab.unexpected_errors() == []


def test_a_bad_regex_is_refused_and_the_form_names_the_field(tab: Tab, target: Target) -> None:
    tab.expect_http_errors(422)
    tab.open()
    page = tab.page
    page.get_by_label("Name", exact=True).fill("bad regex")
    page.get_by_label("URL", exact=True).fill(target.base + unique("/health"))
    form = advanced(page)
    body = add_assertion(form, "body", 1, "body text or regex")
    body.get_by_label("Condition").select_option("matches")
    body.get_by_label("Text or regex").fill("healthy (")
    page.get_by_role("button", name="Add", exact=True).click()
    answer = httpx.post(
        tab.api.base + "/urls/",
        json={
            "name": "bad regex",
            "url": target.base + "/health",
            "assertions": [{"type": "body", "op": "matches", "value": "healthy ("}],
        },
    )
    assert answer.status_code == 422
    why = answer.json()["errors"][0]["msg"]
    message = page.locator("#add-message")
    expect(message).to_have_class("message error")
    expect(message).to_contain_text(f"Assertion 1 (body text or regex), text or regex: {why}")
    pattern = body.get_by_label("Text or regex")
    expect(pattern).to_have_attribute("aria-invalid", "true")
    expect(body.locator(".field-error")).to_have_text(why)
    tab.screenshot("checks-bad-regex")
    assert [e for e in tab.errors if "422" in e], "the 422 answer was not seen"
    assert tab.unexpected_errors() == []


def test_a_bad_header_name_and_a_head_with_a_body_assertion_are_named_where_they_are(
    tab: Tab, target: Target
) -> None:
    tab.expect_http_errors(422)
    tab.open()
    page = tab.page
    page.get_by_label("Name", exact=True).fill("bad header")
    page.get_by_label("URL", exact=True).fill(target.base + unique("/health"))
    form = advanced(page)
    form.get_by_role("button", name="Add header").click()
    form.get_by_label("Header 1 name").fill("X Bad")
    form.get_by_label("Header 1 value").fill("v")
    page.get_by_role("button", name="Add", exact=True).click()
    message = page.locator("#add-message")
    expect(message).to_contain_text("Header X Bad: header name 'X Bad' is not a valid")
    expect(form.get_by_label("Header 1 name")).to_have_attribute("aria-invalid", "true")

    form.get_by_label("Header 1 name").fill("X-Good")
    form.get_by_label("Method").select_option("HEAD")
    add_assertion(form, "body", 1, "body text or regex").get_by_label("Text or regex").fill("ok")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(message).to_contain_text("Assertions: a HEAD answer has no body")
    expect(form.get_by_label("Header 1 name")).not_to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("group", name="Assertions (all must hold)")).to_have_attribute(
        "aria-invalid", "true"
    )
    tab.screenshot("checks-head-with-body")
    # The rows still take and lose entries, renumbered, with the errors' notes among them.
    add_assertion(form, "latency", 2, "response time")
    form.get_by_role("button", name="Remove assertion 1").click()
    expect(form.get_by_role("group", name="Assertion 1: response time")).to_be_visible()
    form.get_by_role("button", name="Add header").click()
    expect(form.get_by_label("Header 2 name")).to_be_visible()
    form.get_by_role("button", name="Remove header 1").click()
    expect(form.get_by_label("Header 1 name")).to_have_value("")
    assert tab.unexpected_errors() == []


def test_editing_a_monitors_settings_patches_it_and_keeps_its_secret(
    tab: Tab, target: Target
) -> None:
    url = target.base + unique("/health")
    created = httpx.post(
        tab.api.base + "/urls/",
        json={
            "name": "to edit",
            "url": url,
            "request": {"headers": {"Authorization": "Bearer kept"}},
            "assertions": [{"type": "status", "codes": [200]}],
        },
    )
    assert created.status_code == 201, created.text
    monitor_id = created.json()["id"]
    tab.expect_http_errors(422)
    tab.open(f"/#/monitors/{monitor_id}")
    page = tab.page
    expect(page.locator("#settings-view")).to_contain_text("Authorization: <redacted>")
    page.get_by_role("button", name="Edit", exact=True).click()
    edit = page.locator("#edit-form")
    expect(edit.get_by_label("Monitor name")).to_have_value("to edit")
    # The stored secret is not in the page: left empty, it is kept.
    expect(edit.get_by_label("Header 1 name")).to_have_value("Authorization")
    expect(edit.get_by_label("Header 1 value")).to_have_value("")
    expect(edit.get_by_label("Header 1 value")).to_have_attribute(
        "placeholder", "unchanged (secret)"
    )
    expect(edit.get_by_label("Header 1 is secret")).to_be_disabled()  # always secret

    # Over TIMEOUT (2 s in the tests): refused, and the field is named where it is.
    edit.get_by_label("Timeout (s)").fill("30")
    edit.get_by_role("button", name="Save").click()
    expect(edit.get_by_label("Timeout (s)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#edit-message")).to_contain_text("Timeout: ")
    expect(page.locator("#edit-message")).to_contain_text("TIMEOUT")
    tab.screenshot("checks-edit-refused")

    edit.get_by_label("Timeout (s)").fill("1.5")
    edit.get_by_label("Monitor name").fill("edited")
    group = edit.get_by_role("group", name="Assertion 1: status code")
    group.get_by_label("Codes, ranges or classes").fill("200, 204")
    latency = add_assertion(edit, "latency", 2, "response time")
    latency.get_by_label("Answered within (ms)").fill("900")
    edit.get_by_role("button", name="Save").click()
    message = page.locator("#detail-message")
    expect(message).to_have_text("Saved: name, request, assertions changed.")
    expect(edit).to_be_hidden()
    expect(page.locator("#detail-name")).to_have_text("edited")
    settings = page.locator("#settings-view")
    expect(settings).to_contain_text("timeout 1.5 s")
    expect(settings).to_contain_text("status is one of 200, 204")
    expect(settings).to_contain_text("answered within 900 ms")

    monitor = get(tab.api, f"/urls/{monitor_id}")
    assert monitor["name"] == "edited"
    assert monitor["request"]["timeout_s"] == 1.5
    assert monitor["assertions"] == [
        {"type": "status", "codes": [200, 204]},
        {"type": "latency", "below_ms": 900},
    ]
    assert run_aside(stored_headers(tab.api, monitor_id)) == {"Authorization": "Bearer kept"}

    # Saved again unchanged: nothing to write.
    page.get_by_role("button", name="Edit", exact=True).click()
    edit.get_by_role("button", name="Save").click()
    expect(message).to_have_text("Nothing changed.")
    tab.screenshot("checks-edited")
    assert tab.unexpected_errors() == []


def test_the_overview_and_the_monitors_page_show_the_days_left_on_its_certificate(
    tab: Tab,
) -> None:
    # The certificate's expiry as a probe of an https URL records it (tests/compute probes a
    # real TLS server for it); written through the store here, read back through the API.
    created = httpx.post(
        tab.api.base + "/urls/",
        json={"name": "tls soon", "url": f"https://tls-{time.time_ns()}.example.com/"},
    )
    assert created.status_code == 201, created.text
    monitor_id = created.json()["id"]
    now = time.time()
    check = Check(monitor_id, now, Status.SUCCESS, 200, 40, tls_expires_at=now + 5 * DAY + 3600)
    run_aside(add_check(tab.api.settings, check))
    tab.open()
    page = tab.page
    page.get_by_label("Search monitors by name or URL").fill("tls soon")
    row = page.locator("#monitor-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td.tls-col")).to_have_text("5 d")
    expect(row.locator("td.tls-col")).to_have_class("num tls-col bad")
    page.get_by_role("link", name="tls soon").click()
    expect(page.locator("#detail-flags .tls")).to_contain_text("TLS certificate: 5 days left")
    tab.screenshot("checks-tls")
    assert json.dumps(get(tab.api, f"/urls/{monitor_id}")["tls_days_left"]) == "5"
    assert tab.unexpected_errors() == []


# Every control of the add and edit forms, with the name a screen reader reads for it.
_UNLABELLED = """(form) => [...form.querySelectorAll("input, select, textarea")]
    .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute("aria-label"))
    .map((node) => node.outerHTML)"""


def test_every_input_of_the_forms_has_a_label_and_the_page_fits_a_phone(
    browser: Browser, deployment: Deployment, target: Target
) -> None:
    created = httpx.post(
        deployment.api.base + "/urls/",
        json={
            "name": "on a phone",
            "url": target.base + unique("/health"),
            "request": {
                "method": "POST",
                "body": '{"ping": true}',
                "content_type": "application/json",
            },
            "assertions": [
                {"type": "status", "codes": ["2xx"]},
                {"type": "body", "op": "contains", "value": "ok"},
                {"type": "json", "path": "$.status", "op": "exists"},
                {"type": "header", "name": "Content-Type", "op": "contains", "value": "json"},
                {"type": "latency", "below_ms": 1500},
            ],
            "degraded_after_ms": 500,
        },
    )
    assert created.status_code == 201, created.text
    with open_tab(browser, deployment.api, viewport={"width": 390, "height": 844}) as tab:
        tab.open(f"/#/monitors/{created.json()['id']}")
        page = tab.page
        expect(page.locator("#settings-view")).to_contain_text("$.status exists")
        expect(page.locator("#settings-view")).to_contain_text("header Content-Type contains")
        page.get_by_role("button", name="Edit", exact=True).click()
        edit = page.locator("#edit-form")
        expect(edit.locator("fieldset.assertion")).to_have_count(5)
        # exists takes no value: its box is hidden
        expect(
            edit.get_by_role("group", name="Assertion 3: JSON path").get_by_label(
                "Value (JSON or text)"
            )
        ).to_be_hidden()
        edit.get_by_role("button", name="Add header").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert edit.evaluate(_UNLABELLED) == []
        tab.screenshot("checks-edit-phone")
        page.get_by_role("link", name="All monitors").click()
        form = advanced(page)
        form.get_by_role("button", name="Add header").click()
        for kind in ("status", "body", "json", "header", "latency", "tls"):
            form.get_by_label("New assertion on").select_option(kind)
            form.get_by_role("button", name="Add assertion").click()
        expect(form.locator("fieldset.assertion")).to_have_count(6)
        assert form.evaluate(_UNLABELLED) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        tab.screenshot("checks-add-phone")
        assert tab.unexpected_errors() == []


def test_an_edit_that_makes_a_monitor_another_ones_twin_links_to_that_one(
    tab: Tab, target: Target
) -> None:
    url = target.base + unique("/health")
    plain = httpx.post(tab.api.base + "/urls/", json={"name": "plain", "url": url})
    assert plain.status_code == 201, plain.text
    checked = httpx.post(
        tab.api.base + "/urls/",
        json={"name": "checked", "url": url, "assertions": [{"type": "status", "codes": [200]}]},
    )
    assert checked.status_code == 201, checked.text  # one URL, two different checks
    tab.expect_http_errors(409)
    tab.open(f"/#/monitors/{checked.json()['id']}")
    page = tab.page
    page.get_by_role("button", name="Edit", exact=True).click()
    edit = page.locator("#edit-form")
    edit.get_by_role("button", name="Remove assertion 1").click()
    edit.get_by_role("button", name="Save").click()
    message = page.locator("#edit-message")
    expect(message).to_have_class("message error")
    expect(message.get_by_role("link")).to_have_attribute(
        "href", f"#/monitors/{plain.json()['id']}"
    )
    expect(edit).to_be_visible()  # the edit is kept to change it again
    assert tab.unexpected_errors() == []
