"""The prober against real servers on 127.0.0.1 (ephemeral ports): every outcome becomes a Check."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
import trustme
from aiohttp import web

from service_monitor.compute.prober import open_probe_session, probe
from service_monitor.config import Settings
from service_monitor.models import Cause, Check, Status, Target

TIMEOUT = 1.0  # seconds a probe may take in these tests: small, so the file runs fast
SLACK = 2.0  # seconds past TIMEOUT a probe may still be returning: loose, so it cannot flake
MAX_BODY_BYTES = 64 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "service-monitor-test/1"

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# -- the servers --------------------------------------------------------------------------------


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(0.3)  # seconds: well within TIMEOUT
    return web.Response(text="slow")


async def _hang(request: web.Request) -> web.Response:
    await asyncio.sleep(3600)  # seconds: never answers within any test
    return web.Response(text="too late")


async def _redirect(request: web.Request) -> web.Response:
    """/redirect/N answers 302 to /redirect/N-1 and /redirect/0 answers 200: N hops in all."""
    hops = int(request.match_info["hops"])
    if hops == 0:
        return web.Response(text="arrived")
    raise web.HTTPFound(f"/redirect/{hops - 1}")


async def _moved(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.Response(status=code, headers={"Location": "/ok"})


async def _loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop")


async def _endless(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    chunk = b"x" * 64 * 1024
    try:
        while True:
            await resp.write(chunk)
    except ConnectionResetError:  # the prober hung up once it had read enough: expected
        pass
    return resp


async def _trickle(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)  # 200 and headers at once...
    try:
        while True:  # ...then one byte every 0.2 s, forever
            await resp.write(b"x")
            await asyncio.sleep(0.2)
    except ConnectionResetError:
        pass
    return resp


async def _echo_headers(request: web.Request) -> web.Response:
    request.app[SEEN_HEADERS].append(dict(request.headers))
    return web.Response(text="seen", headers={"Set-Cookie": "session=abc; Path=/"})


SEEN_HEADERS = web.AppKey("seen_headers", list[dict[str, str]])


def _app() -> web.Application:
    app = web.Application()
    app[SEEN_HEADERS] = []
    app.router.add_get("/ok", _ok)
    app.router.add_get("/status/{code}", _status)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/hang", _hang)
    app.router.add_get("/redirect/{hops}", _redirect)
    app.router.add_get("/moved/{code}", _moved)
    app.router.add_get("/loop", _loop)
    app.router.add_get("/endless", _endless)
    app.router.add_get("/trickle", _trickle)
    app.router.add_get("/echo", _echo_headers)
    return app


async def _start(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> web.AppRunner:
    # handler_cancellation: a handler stops when the prober hangs up, so teardown never waits
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
    return runner


@pytest.fixture
async def app_and_url() -> AsyncIterator[tuple[web.Application, str]]:
    app = _app()
    runner = await _start(app)
    host, port = runner.addresses[0][:2]
    yield app, f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
def base_url(app_and_url: tuple[web.Application, str]) -> str:
    return app_and_url[1]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    settings = Settings(
        TIMEOUT=TIMEOUT,
        USER_AGENT=USER_AGENT,
        PER_HOST_LIMIT=4,
        CONCURRENCY=100,
        ALLOW_PRIVATE_TARGETS=True,  # the targets listen on 127.0.0.1
    )
    async with open_probe_session(settings) as opened:
        yield opened


@pytest.fixture
def refused_url() -> str:
    """A URL on a port nobody listens on: bound to learn a free port, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


async def _raw_server(handle: RawHandler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/"
    await server.wait_closed()


@pytest.fixture
async def closing_url() -> AsyncIterator[str]:
    """A server that reads the request and hangs up without a byte of answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the whole request first: the outcome is then fixed
        writer.close()
        await writer.wait_closed()

    async for url in _raw_server(handle):
        yield url


@pytest.fixture
async def garbage_url() -> AsyncIterator[str]:
    """A server that answers bytes that are not HTTP."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async for url in _raw_server(handle):
        yield url


@pytest.fixture
async def untrusted_https_url() -> AsyncIterator[str]:
    """An HTTPS server whose certificate comes from a CA the default trust store does not know."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    runner = await _start(_app(), ssl_context=context)
    host, port = runner.addresses[0][:2]
    yield f"https://{host}:{port}/ok"
    await runner.cleanup()


async def _probe(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout_s: float = TIMEOUT,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    monitor_id: int = 7,
) -> Check:
    return await probe(
        session,
        Target(monitor_id=monitor_id, url=url),
        timeout=timeout_s,
        max_body_bytes=max_body_bytes,
        max_redirects=max_redirects,
    )


# -- answers ------------------------------------------------------------------------------------


async def test_200_is_a_success_stamped_with_its_start_time(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    before = time.time()
    check = await _probe(session, f"{base_url}/ok")
    after = time.time()

    assert check.monitor_id == 7
    assert check.status is Status.SUCCESS
    assert check.cause is None
    assert check.detail is None
    assert not check.degraded
    assert check.tls_expires_at is None  # plain http
    assert check.http_status == 200
    assert before <= check.checked_at <= after
    assert 0 <= check.latency_ms < TIMEOUT * 1000


@pytest.mark.parametrize("code", [404, 500, 503])
async def test_status_of_400_or_more_is_a_http_status_failure(
    session: aiohttp.ClientSession, base_url: str, code: int
) -> None:
    check = await _probe(session, f"{base_url}/status/{code}")

    assert check.status is Status.FAIL
    assert check.cause is Cause.HTTP_STATUS
    assert check.http_status == code
    assert check.detail == f"status {code} is not below 400"
    assert 0 <= check.latency_ms < TIMEOUT * 1000


async def test_status_below_400_that_is_not_200_is_a_success(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    check = await _probe(session, f"{base_url}/status/204")

    assert check.status is Status.SUCCESS
    assert check.cause is None
    assert check.http_status == 204


async def test_slow_answer_within_the_timeout_is_a_success_with_its_latency(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    check = await _probe(session, f"{base_url}/slow")

    assert check.status is Status.SUCCESS
    assert check.http_status == 200
    assert 250 <= check.latency_ms < TIMEOUT * 1000  # the server sleeps 300 ms


async def test_probe_sends_the_user_agent_and_keeps_no_cookies(
    session: aiohttp.ClientSession, app_and_url: tuple[web.Application, str]
) -> None:
    app, base_url = app_and_url
    for _ in range(2):  # the first answer sets a cookie; the second request must not send it
        check = await _probe(session, f"{base_url}/echo")
        assert check.status is Status.SUCCESS

    first, second = app[SEEN_HEADERS]
    assert first["User-Agent"] == USER_AGENT
    assert "Cookie" not in second


# -- timeouts -----------------------------------------------------------------------------------


async def test_hung_server_is_recorded_as_timeout_cut_at_the_timeout(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    started = time.perf_counter()
    check = await _probe(session, f"{base_url}/hang")
    elapsed = time.perf_counter() - started

    assert check.status is Status.FAIL
    assert check.cause is Cause.TIMEOUT
    assert check.http_status is None
    assert check.detail == "timeout: no answer within 1 s"
    assert elapsed < TIMEOUT + SLACK
    assert TIMEOUT * 1000 * 0.9 <= check.latency_ms < (TIMEOUT + SLACK) * 1000


async def test_server_trickling_a_body_is_a_timeout_not_a_success(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    started = time.perf_counter()
    check = await _probe(session, f"{base_url}/trickle")
    elapsed = time.perf_counter() - started

    # The 200 came at once, but the capped body never did: the page is not up, and the status
    # that was received is kept.
    assert check.status is Status.FAIL
    assert check.cause is Cause.TIMEOUT
    assert check.http_status == 200
    assert check.detail == "timeout: status 200 came, but not the body within 1 s"
    assert elapsed < TIMEOUT + SLACK
    assert check.latency_ms >= TIMEOUT * 1000 * 0.9


async def test_cancelling_a_probe_propagates_instead_of_becoming_a_check(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    task = asyncio.create_task(_probe(session, f"{base_url}/hang", timeout_s=30.0))
    await asyncio.sleep(0.1)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


# -- bodies -------------------------------------------------------------------------------------


async def test_endless_body_is_read_only_up_to_the_cap_and_succeeds_quickly(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    timeout = 10.0  # seconds: generous, so "well before the timeout" is unmistakable
    started = time.perf_counter()
    check = await _probe(
        session, f"{base_url}/endless", timeout_s=timeout, max_body_bytes=256 * 1024
    )
    elapsed = time.perf_counter() - started

    assert check.status is Status.SUCCESS
    assert check.http_status == 200
    assert elapsed < timeout / 4
    # the connection left with the stream still arriving was dropped, not pooled: the session
    # still works
    assert (await _probe(session, f"{base_url}/ok")).status is Status.SUCCESS


async def test_cap_of_zero_bytes_still_judges_by_the_status(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    check = await _probe(session, f"{base_url}/endless", max_body_bytes=0)

    assert check.status is Status.SUCCESS
    assert check.http_status == 200


# -- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirect_to_a_200_is_a_success(
    session: aiohttp.ClientSession, base_url: str, code: int
) -> None:
    check = await _probe(session, f"{base_url}/moved/{code}")

    assert check.status is Status.SUCCESS
    assert check.cause is None
    assert check.http_status == 200


async def test_chain_of_exactly_max_redirects_hops_ending_in_200_is_a_success(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    check = await _probe(session, f"{base_url}/redirect/3", max_redirects=3)

    assert check.status is Status.SUCCESS
    assert check.http_status == 200


async def test_one_hop_more_than_max_redirects_is_too_many_redirects(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    check = await _probe(session, f"{base_url}/redirect/4", max_redirects=3)

    assert check.status is Status.FAIL
    assert check.cause is Cause.TOO_MANY_REDIRECTS
    assert check.detail == "too many redirects: more than 3 followed"
    assert check.http_status == 302  # the last response received was a redirect


async def test_max_redirects_of_zero_fails_any_redirect_instead_of_following_forever(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    check = await _probe(session, f"{base_url}/redirect/1", max_redirects=0)

    assert check.status is Status.FAIL
    assert check.cause is Cause.TOO_MANY_REDIRECTS
    assert check.http_status == 302


async def test_redirect_loop_is_too_many_redirects(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    check = await _probe(session, f"{base_url}/loop", max_redirects=10)

    assert check.status is Status.FAIL
    assert check.cause is Cause.TOO_MANY_REDIRECTS
    assert check.http_status == 302
    assert check.latency_ms < TIMEOUT * 1000


# -- no answer ----------------------------------------------------------------------------------


async def test_refused_port_is_a_connect_failure(
    session: aiohttp.ClientSession, refused_url: str
) -> None:
    check = await _probe(session, refused_url)

    assert check.status is Status.FAIL
    assert check.cause is Cause.CONNECT
    assert check.http_status is None
    assert check.detail == "connect: connection refused"
    assert check.latency_ms < TIMEOUT * 1000


# Each a failure with no HTTP status, for the cause named. A server hanging up without an answer is
# not CONNECT: the connection was made and the server spoke, by hanging up (aiohttp's
# ServerDisconnectedError).
@pytest.mark.parametrize(
    ("failing_url", "cause", "detail"),
    [
        ("unknown_host_url", Cause.DNS, "dns: does-not-exist.invalid does not resolve ("),
        ("untrusted_https_url", Cause.TLS, "tls: certificate verify failed: "),
        (
            "closing_url",
            Cause.INVALID_RESPONSE,
            "invalid response: the server closed the connection without an answer",
        ),
        ("garbage_url", Cause.INVALID_RESPONSE, "invalid response: not an HTTP answer: "),
    ],
    indirect=["failing_url"],
    ids=[
        "unknown_host_is_a_dns_failure",
        "certificate_from_an_untrusted_ca_is_a_tls_failure",
        "server_hanging_up_without_an_answer_is_an_invalid_response",
        "bytes_that_are_not_http_are_an_invalid_response",
    ],
)
async def test_a_failure_before_any_status_is_recorded_with_its_cause(
    session: aiohttp.ClientSession, failing_url: str, cause: Cause, detail: str
) -> None:
    check = await _probe(session, failing_url)

    assert check.status is Status.FAIL
    assert check.cause is cause
    assert check.http_status is None
    assert check.detail is not None
    assert check.detail.startswith(detail), check.detail


@pytest.fixture
def unknown_host_url() -> str:
    return "http://does-not-exist.invalid/"


@pytest.fixture
def failing_url(request: pytest.FixtureRequest) -> str:
    """The URL of the fixture named by the test's parameter (set up before the test's loop runs)."""
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.com/", "not a url", ""])
async def test_malformed_url_comes_back_as_a_failed_check_not_an_exception(
    session: aiohttp.ClientSession, url: str
) -> None:
    check = await _probe(session, url)

    assert check.status is Status.FAIL
    assert check.cause is Cause.INVALID_RESPONSE
    assert check.http_status is None
    assert check.detail is not None
    assert check.detail.startswith("invalid response: ")


# -- many at once -------------------------------------------------------------------------------


async def test_one_broken_url_among_50_concurrent_probes_affects_no_other(
    session: aiohttp.ClientSession, base_url: str, refused_url: str
) -> None:
    urls = [f"{base_url}/ok"] * 50
    urls[17] = refused_url

    checks = await asyncio.gather(
        *(_probe(session, url, monitor_id=i) for i, url in enumerate(urls))
    )

    assert [check.monitor_id for check in checks] == list(range(50))
    assert [check.status for check in checks].count(Status.SUCCESS) == 49
    assert checks[17].status is Status.FAIL
    assert checks[17].cause is Cause.CONNECT
