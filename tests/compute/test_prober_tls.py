"""TLS against real HTTPS servers on 127.0.0.1 with trustme certificates, one expiring soon and one
far off, trusted only through PROBE_CA_BUNDLE: a real handshake, a real expiry date, verification on.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
import uvloop
from aiohttp import web

from service_monitor.check_spec import DEFAULT_CHECK, CheckSpec
from service_monitor.compute.prober import open_probe_session, open_probe_sessions, probe
from service_monitor.config import Settings, load_settings
from service_monitor.errors import SettingsError
from service_monitor.models import Cause, Check, Status, Target

TIMEOUT = 5.0  # seconds
NEAR_DAYS = 3  # the near certificate expires this many days (and an hour) from now
FAR_DAYS = 400
TLS_14_DAYS = CheckSpec.model_validate({"assertions": [{"type": "tls", "min_days": 14}]})


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "internal-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _expiring_in(days: int) -> datetime.datetime:
    # An hour past the whole days, so "days left" is exactly `days` whenever the test runs.
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days, hours=1)


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _to_http(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.app[PLAIN_URL])


PLAIN_URL = web.AppKey("plain_url", str)


async def _serve(
    ca: trustme.CA, not_after: datetime.datetime, plain_url: str = ""
) -> web.AppRunner:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", not_after=not_after).configure_cert(context)
    app = web.Application()
    app[PLAIN_URL] = plain_url
    app.router.add_get("/ok", _ok)
    app.router.add_get("/to-http", _to_http)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    return runner


def _url(runner: web.AppRunner, path: str = "/ok") -> str:
    host, port = runner.addresses[0][:2]
    return f"https://{host}:{port}{path}"


@pytest.fixture
async def near(ca: trustme.CA) -> AsyncIterator[tuple[str, datetime.datetime]]:
    not_after = _expiring_in(NEAR_DAYS)
    runner = await _serve(ca, not_after)
    yield _url(runner), not_after
    await runner.cleanup()


@pytest.fixture
async def far(ca: trustme.CA) -> AsyncIterator[tuple[str, datetime.datetime]]:
    not_after = _expiring_in(FAR_DAYS)
    runner = await _serve(ca, not_after)
    yield _url(runner), not_after
    await runner.cleanup()


def _settings(ca_bundle: Path | None) -> Settings:
    return load_settings(
        TIMEOUT=TIMEOUT, ALLOW_PRIVATE_TARGETS=True, PROBE_CA_BUNDLE=ca_bundle or ""
    )


@pytest.fixture
async def session(ca_bundle: Path) -> AsyncIterator[aiohttp.ClientSession]:
    async with open_probe_session(_settings(ca_bundle)) as opened:
        yield opened


async def _probe(
    session: aiohttp.ClientSession, url: str, spec: CheckSpec = DEFAULT_CHECK
) -> Check:
    return await probe(
        session, Target(1, url, spec), timeout=TIMEOUT, max_body_bytes=1024, max_redirects=3
    )


def _seconds(moment: datetime.datetime) -> float:
    # A certificate says its expiry to the second.
    return float(int(moment.timestamp()))


async def test_every_https_answer_records_its_certificates_expiry_even_without_an_assertion(
    session: aiohttp.ClientSession, far: tuple[str, datetime.datetime]
) -> None:
    url, not_after = far

    check = await _probe(session, url)

    assert (check.status, check.http_status) == (Status.SUCCESS, 200)
    assert check.tls_expires_at == _seconds(not_after)


async def test_a_certificate_valid_long_enough_passes_the_tls_assertion(
    session: aiohttp.ClientSession, far: tuple[str, datetime.datetime]
) -> None:
    url, not_after = far

    check = await _probe(session, url, TLS_14_DAYS)

    assert (check.status, check.cause, check.detail) == (Status.SUCCESS, None, None)
    assert check.tls_expires_at == _seconds(not_after)


async def test_a_certificate_expiring_sooner_than_the_limit_fails_with_its_days_and_date(
    session: aiohttp.ClientSession, near: tuple[str, datetime.datetime]
) -> None:
    url, not_after = near

    check = await _probe(session, url, TLS_14_DAYS)

    assert (check.status, check.cause, check.http_status) == (Status.FAIL, Cause.ASSERTION, 200)
    assert check.detail == (
        f"certificate expires in {NEAR_DAYS} days ({not_after:%Y-%m-%d}), limit 14"
    )
    assert check.tls_expires_at == _seconds(not_after)


async def test_a_kept_connection_still_reports_the_certificate(
    session: aiohttp.ClientSession, far: tuple[str, datetime.datetime]
) -> None:
    url, not_after = far

    checks = [await _probe(session, url) for _ in range(3)]  # the 2nd and 3rd reuse the 1st's

    assert [c.tls_expires_at for c in checks] == [_seconds(not_after)] * 3


async def test_a_session_that_closes_each_connection_still_reports_the_certificate(
    ca_bundle: Path, far: tuple[str, datetime.datetime]
) -> None:
    url, not_after = far
    async with open_probe_sessions(_settings(ca_bundle)) as sessions:
        check = await _probe(sessions.once, url)

    assert check.tls_expires_at == _seconds(not_after)


async def test_without_the_ca_bundle_the_certificate_is_refused_with_a_detail(
    near: tuple[str, datetime.datetime],
) -> None:
    url, _ = near
    async with open_probe_session(_settings(None)) as untrusting:
        check = await _probe(untrusting, url)

    assert (check.status, check.cause, check.http_status) == (Status.FAIL, Cause.TLS, None)
    assert check.detail is not None
    assert check.detail.startswith("tls: certificate verify failed: ")
    assert check.tls_expires_at is None


async def test_a_redirect_from_https_to_http_has_no_certificate_for_the_tls_assertion(
    session: aiohttp.ClientSession, ca: trustme.CA
) -> None:
    plain = web.AppRunner(web.Application(), shutdown_timeout=0.5)
    plain.app.router.add_get("/ok", _ok)
    await plain.setup()
    await web.TCPSite(plain, "127.0.0.1", 0).start()
    host, port = plain.addresses[0][:2]
    secure = await _serve(ca, _expiring_in(FAR_DAYS), plain_url=f"http://{host}:{port}/ok")
    try:
        check = await _probe(session, _url(secure, "/to-http"), TLS_14_DAYS)
    finally:
        await secure.cleanup()
        await plain.cleanup()

    assert (check.status, check.cause) == (Status.FAIL, Cause.ASSERTION)
    assert check.detail == "no TLS certificate: the answer did not come over https"
    assert check.tls_expires_at is None


async def test_plain_http_records_no_certificate(session: aiohttp.ClientSession) -> None:
    runner = web.AppRunner(web.Application(), shutdown_timeout=0.5)
    runner.app.router.add_get("/ok", _ok)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        check = await _probe(session, f"http://{host}:{port}/ok")
    finally:
        await runner.cleanup()

    assert check.status is Status.SUCCESS
    assert check.tls_expires_at is None


def test_the_certificate_is_read_on_uvloop_too(ca: trustme.CA, ca_bundle: Path) -> None:
    """The compute runs on uvloop: its TLS transport must give the peer certificate as well."""

    async def run() -> Check:
        runner = await _serve(ca, _expiring_in(FAR_DAYS))
        try:
            async with open_probe_sessions(_settings(ca_bundle)) as sessions:
                return await _probe(sessions.once, _url(runner), TLS_14_DAYS)
        finally:
            await runner.cleanup()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        check = runner.run(run())

    assert (check.status, check.detail) == (Status.SUCCESS, None)
    assert check.tls_expires_at is not None


# -- the setting --------------------------------------------------------------------------------


@pytest.fixture
def not_pem(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a certificate\n")
    return path


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("/does/not/exist.pem", "no such file"),
        ("not_pem", "is not a PEM file of CA certificates"),
        ("directory", "is a directory, not a PEM file"),
    ],
)
def test_a_bad_ca_bundle_is_one_line_naming_the_setting(
    value: str, why: str, not_pem: Path, tmp_path: Path
) -> None:
    path = {"not_pem": str(not_pem), "directory": str(tmp_path)}.get(value, value)

    with pytest.raises(SettingsError) as raised:
        load_settings(PROBE_CA_BUNDLE=path)

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"invalid setting PROBE_CA_BUNDLE={path!r}: {why}")


def test_an_empty_ca_bundle_setting_means_none() -> None:
    assert load_settings(PROBE_CA_BUNDLE="").PROBE_CA_BUNDLE is None
