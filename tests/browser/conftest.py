"""The dashboard in a real browser: Debian's Chromium driven by Playwright (never `playwright
install`), against a real API process per backend, seeded with 1,000 monitors.

One browser and one API process per backend for the module; every test opens a new
browser context (a cold cache, its own sessionStorage). Without Chromium the tests skip with the
reason, and fail instead under REQUIRE_SERVICES=1 (`.ci/run` installs it with apt-get).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from service_monitor.config import Settings, load_settings
from tests.browser.seed import seed
from tests.conftest import (
    run_aside,
    service_missing,
)
from tests.servers import SETTING_NAMES, deployment_env, running
from tests.targets import closed_port

SCREENSHOTS = Path(__file__).parent / "screenshots"  # git-ignored
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
API = (sys.executable, "-m", "uvicorn", "src.service_monitor.api.app:app", "--host", "127.0.0.1")
# The composition root's app, as the API image serves it: with the dispatcher and the fleet's queue.
FACTORY = (
    *(sys.executable, "-m", "uvicorn", "service_monitor.assembly:app_from_environment"),
    *("--factory", "--host", "127.0.0.1"),
)
# What Chromium logs for an answer with an error status: a test that provokes one says so.
_HTTP_ERROR = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


def chromium_path() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


# Per module, not per session: while Playwright's sync API is open, its event loop counts as
# running in the main thread, and the async tests of the modules after this one could not start.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        service_missing("no Chromium found (apt-get install -y chromium)")
    assert path is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        yield launched
        launched.close()


class _Background:
    """An event loop in a thread, to hold tests/servers.py's async `running(...)` open across
    synchronous tests (Playwright's sync API cannot run inside an event loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Api:
    """A running API process and the settings of its store."""

    backend: str
    base: str
    settings: Settings


def serve(
    env: dict[str, str], backend: str, *, seeded: bool = True, command: tuple[str, ...] = API
) -> Iterator[Api]:
    """Seed the store of `env` (unless not `seeded`), then run an API process on it (`command`:
    the seed's module app, or FACTORY) until the generator is closed."""
    env = {**env, "LOG_LEVEL": "WARNING"}
    settings = load_settings(**{k: v for k, v in env.items() if k in SETTING_NAMES})
    if seeded:
        run_aside(seed(settings))
    port = closed_port()
    background = _Background()
    server: AbstractAsyncContextManager[str] = running(
        *command, "--port", str(port), env=env, port=port
    )
    try:
        base = background.run(server.__aenter__())
        try:
            yield Api(backend, base, settings)
        finally:
            background.run(server.__aexit__(None, None, None))
    finally:
        background.close()


def backend_env(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    """The environment of an API process: as tests/conftest.py's `deployment`, per module."""
    yield from deployment_env(backend, tmp_path, request, "ui")


@pytest.fixture(scope="module", params=["embedded", "mysql+redis"])
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[Api]:
    """An API process on each backend, its store seeded (tests/browser/seed.py). Asks for the
    browser first, so that without Chromium nothing is started."""
    tmp_path = tmp_path_factory.mktemp("dashboard")
    for env in backend_env(request.param, tmp_path, request):
        yield from serve(env, request.param)


@dataclass
class Tab:
    """A page in a new browser context, recording console errors, page errors and every request."""

    page: Page
    api: Api
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def open(self, path: str = "/") -> None:
        """Load the page and wait until its first data is rendered (app.js sets data-ready)."""
        self.page.goto(self.api.base + path)
        self.page.wait_for_selector("html[data-ready]")

    def expect_http_errors(self, *statuses: int) -> None:
        """Chromium logs an error for each answer with one of these codes: the test provokes them."""
        self.expected_statuses.update(statuses)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not self._expected(e)]

    def _expected(self, error: str) -> bool:
        match = _HTTP_ERROR.search(error)
        return match is not None and int(match[1]) in self.expected_statuses

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}-{self.api.backend.replace('+', '-')}.png"
        self.page.screenshot(path=path, full_page=True)


@contextmanager
def open_tab(
    browser: Browser, api: Api, viewport: dict[str, int] | None = None, poll_ms: int | None = None
) -> Iterator[Tab]:
    context = browser.new_context(
        viewport=viewport or {"width": 1280, "height": 800},  # type: ignore[arg-type]
        locale="en-US",
        timezone_id="UTC",
    )
    if poll_ms is not None:
        # app.js reads its cycle polling interval from here (15 s otherwise)
        context.add_init_script(f"localStorage.setItem('service-monitor.poll-ms', '{poll_ms}')")
    page = context.new_page()
    page.set_default_timeout(20_000)
    tab = Tab(page, api)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.errors.append(message.text)

    def request(sent: Request) -> None:
        tab.requests.append(sent.url)

    page.on("console", console)
    page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
    page.on("request", request)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def tab(browser: Browser, api: Api) -> Iterator[Tab]:
    with open_tab(browser, api) as opened:
        yield opened
