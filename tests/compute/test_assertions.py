"""Every assertion of a monitor's check, holding and failing, against a real server on 127.0.0.1:
the probe sends the check's request and its Check says which condition failed and what was seen."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from service_monitor.check_spec import DEFAULT_CHECK, CheckSpec
from service_monitor.compute.assertions import compile_check, compiled_count
from service_monitor.compute.prober import open_probe_session, probe
from service_monitor.config import Settings
from service_monitor.models import Cause, Check, Status, Target

TIMEOUT = 5.0  # seconds: generous, no test here waits for it except through a spec's timeout_s
MAX_BODY_BYTES = 64 * 1024
HEALTH = {"status": "ok", "queue": 12, "ready": True, "version": None, "items": [{"id": 1}]}
# A body longer than MAX_BODY_BYTES whose only "needle" comes after the cap.
BIG = b"x" * (MAX_BODY_BYTES + 10) + b"needle"
SEEN = web.AppKey("seen", list[dict[str, Any]])


async def _json(request: web.Request) -> web.Response:
    return web.json_response(HEALTH, headers={"X-Version": "v2", "Cache-Control": "no-store"})


async def _text(request: web.Request) -> web.Response:
    return web.Response(text="all systems healthy\nbuild 1234\n")


async def _latin1(request: web.Request) -> web.Response:
    return web.Response(
        body="café ouvert".encode("latin-1"), content_type="text/plain", charset="latin-1"
    )


async def _big(request: web.Request) -> web.Response:
    return web.Response(body=BIG)


async def _not_json(request: web.Request) -> web.Response:
    return web.Response(text="<html>oops</html>", content_type="text/html")


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="healthy anyway")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(0.3)  # seconds: past the small limits below, well within TIMEOUT
    return web.json_response(HEALTH)


async def _hang(request: web.Request) -> web.Response:
    await asyncio.sleep(3600)  # seconds: never answers within any test
    return web.Response()


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/json")


async def _backtracking(request: web.Request) -> web.Response:
    # "(a|aa)+$" takes exponential time on this: far past REGEX_TIMEOUT_S.
    return web.Response(text="a" * 40 + "!")


async def _echo(request: web.Request) -> web.Response:
    """Records what was sent: method, headers and body."""
    body = await request.read()
    request.app[SEEN].append(
        {"method": request.method, "headers": dict(request.headers), "body": body.decode()}
    )
    return web.json_response({"method": request.method})


def _app() -> web.Application:
    app = web.Application()
    app[SEEN] = []
    for path, handler in [
        ("/json", _json),
        ("/text", _text),
        ("/latin1", _latin1),
        ("/big", _big),
        ("/not-json", _not_json),
        ("/status/{code}", _status),
        ("/slow", _slow),
        ("/redirect", _redirect),
        ("/backtracking", _backtracking),
    ]:
        app.router.add_get(path, handler)
    app.router.add_route("*", "/echo", _echo)
    app.router.add_route("*", "/hang", _hang)
    return app


@pytest.fixture
async def server() -> AsyncIterator[tuple[web.Application, str]]:
    app = _app()
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield app, f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
def base_url(server: tuple[web.Application, str]) -> str:
    return server[1]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    settings = Settings(TIMEOUT=TIMEOUT, ALLOW_PRIVATE_TARGETS=True)  # targets on 127.0.0.1
    async with open_probe_session(settings) as opened:
        yield opened


def spec(*assertions: dict[str, Any], **fields: Any) -> CheckSpec:
    return CheckSpec.model_validate({"assertions": list(assertions), **fields})


async def check(session: aiohttp.ClientSession, url: str, checked: CheckSpec) -> Check:
    return await probe(
        session,
        Target(3, url, checked),
        timeout=TIMEOUT,
        max_body_bytes=MAX_BODY_BYTES,
        max_redirects=5,
    )


def assert_passes(result: Check) -> None:
    assert (result.status, result.cause, result.detail) == (Status.SUCCESS, None, None)


def assert_fails(result: Check, detail: str) -> None:
    assert (result.status, result.cause) == (Status.FAIL, Cause.ASSERTION)
    assert result.detail == detail


# -- status -------------------------------------------------------------------------------------


@pytest.mark.parametrize("codes", [[503], ["5xx"], ["500-503"], [200, "5xx"]])
async def test_a_status_assertion_accepts_a_status_the_default_would_fail(
    session: aiohttp.ClientSession, base_url: str, codes: list[int | str]
) -> None:
    result = await check(
        session, f"{base_url}/status/503", spec({"type": "status", "codes": codes})
    )

    assert_passes(result)
    assert result.http_status == 503


async def test_a_status_outside_the_assertion_fails_naming_the_accepted_ranges(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(
        session, f"{base_url}/status/503", spec({"type": "status", "codes": ["2xx", 301]})
    )

    assert_fails(result, "status 503 is not one of 200-299, 301")
    assert result.http_status == 503


async def test_a_success_status_can_be_refused_by_a_narrower_assertion(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(
        session, f"{base_url}/status/204", spec({"type": "status", "codes": [200]})
    )

    assert_fails(result, "status 204 is not one of 200")


async def test_without_a_status_assertion_400_or_more_fails_as_before_with_a_detail(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(
        session, f"{base_url}/status/500", spec({"type": "body", "op": "contains", "value": "x"})
    )

    assert (result.status, result.cause) == (Status.FAIL, Cause.HTTP_STATUS)
    assert result.detail == "status 500 is not below 400"


async def test_the_default_check_fails_a_500_with_a_detail(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(session, f"{base_url}/status/500", DEFAULT_CHECK)

    assert (result.status, result.cause, result.http_status) == (
        Status.FAIL,
        Cause.HTTP_STATUS,
        500,
    )
    assert result.detail == "status 500 is not below 400"
    assert not result.degraded
    assert result.tls_expires_at is None


# -- body ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value"),
    [
        ("contains", "healthy"),
        ("not_contains", "unhealthy"),
        ("matches", r"build \d+"),
        ("not_matches", r"error|fail"),
    ],
)
async def test_a_body_assertion_that_holds_passes(
    session: aiohttp.ClientSession, base_url: str, op: str, value: str
) -> None:
    assert_passes(
        await check(session, f"{base_url}/text", spec({"type": "body", "op": op, "value": value}))
    )


@pytest.mark.parametrize(
    ("op", "value", "detail"),
    [
        ("contains", "degraded", "body does not contain 'degraded' (body of 31 bytes)"),
        ("not_contains", "healthy", "body contains 'healthy'"),
        ("matches", r"version \d+", r"body does not match 'version \\d+' (body of 31 bytes)"),
        ("not_matches", r"build \d+", r"body matches 'build \\d+' at 'build 1234'"),
    ],
)
async def test_a_body_assertion_that_fails_says_what_was_seen(
    session: aiohttp.ClientSession, base_url: str, op: str, value: str, detail: str
) -> None:
    result = await check(
        session, f"{base_url}/text", spec({"type": "body", "op": op, "value": value})
    )

    assert_fails(result, detail)
    assert result.http_status == 200


async def test_the_body_is_decoded_with_its_declared_charset(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(
        session, f"{base_url}/latin1", spec({"type": "body", "op": "contains", "value": "café"})
    )

    assert_passes(result)


async def test_text_past_the_body_cap_is_not_found_and_the_detail_says_how_much_was_read(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(
        session, f"{base_url}/big", spec({"type": "body", "op": "contains", "value": "needle"})
    )

    assert_fails(result, f"body does not contain 'needle' (first {MAX_BODY_BYTES} bytes read)")


@pytest.mark.parametrize(
    ("assertion", "detail"),
    [
        (
            {"type": "body", "op": "not_contains", "value": "needle"},
            f"body is longer than {MAX_BODY_BYTES} bytes (MAX_BODY_BYTES): cannot tell it does not"
            " contain 'needle' past them",
        ),
        (
            {"type": "body", "op": "not_matches", "value": "ne+dle"},
            f"body is longer than {MAX_BODY_BYTES} bytes (MAX_BODY_BYTES): cannot tell it does not"
            " match 'ne+dle' past them",
        ),
        (
            {"type": "json", "path": "$.status", "op": "exists"},
            f"body is longer than {MAX_BODY_BYTES} bytes (MAX_BODY_BYTES): not parsed as JSON for"
            " $.status",
        ),
    ],
    ids=["not_contains", "not_matches", "json"],
)
async def test_a_condition_that_needs_more_than_the_cap_fails_saying_so(
    session: aiohttp.ClientSession, base_url: str, assertion: dict[str, Any], detail: str
) -> None:
    assert_fails(await check(session, f"{base_url}/big", spec(assertion)), detail)


async def test_a_regex_that_runs_too_long_fails_instead_of_holding_the_loop(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(
        session,
        f"{base_url}/backtracking",
        spec({"type": "body", "op": "matches", "value": "(a|aa)+$"}),
    )

    assert_fails(
        result, "regex '(a|aa)+$' did not finish within 100 ms on the body (body of 41 bytes)"
    )


# -- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "op", "value"),
    [
        ("$.status", "equals", "ok"),
        ("$.status", "not_equals", "degraded"),
        ("$.queue", "less_than", 100),
        ("$.queue", "greater_than", 1.5),
        ("$.ready", "equals", True),
        ("$.version", "equals", None),
        ("$.items[0].id", "equals", 1),
        ("$.items[0].id", "equals", 1.0),
        ("$.version", "exists", None),
        ("$.missing", "not_exists", None),
    ],
)
async def test_a_json_assertion_that_holds_passes(
    session: aiohttp.ClientSession, base_url: str, path: str, op: str, value: Any
) -> None:
    assertion = {"type": "json", "path": path, "op": op, "value": value}

    assert_passes(await check(session, f"{base_url}/json", spec(assertion)))


@pytest.mark.parametrize(
    ("path", "op", "value", "detail"),
    [
        ("$.status", "equals", "degraded", "$.status is 'ok', expected 'degraded'"),
        ("$.status", "not_equals", "ok", "$.status is 'ok', expected another value"),
        ("$.queue", "less_than", 10, "$.queue is 12, expected less than 10"),
        ("$.queue", "greater_than", 12, "$.queue is 12, expected greater than 12"),
        ("$.status", "less_than", 10, "$.status is 'ok', not a number"),
        ("$.ready", "equals", 1, "$.ready is true, expected 1"),
        ("$.queue", "equals", "12", "$.queue is 12, expected '12'"),
        ("$.missing", "equals", "ok", "$.missing not found, expected 'ok'"),
        ("$.missing", "exists", None, "$.missing not found"),
        ("$.items", "not_exists", None, '$.items exists: [{"id":1}]'),
    ],
)
async def test_a_json_assertion_that_fails_says_what_was_seen(
    session: aiohttp.ClientSession, base_url: str, path: str, op: str, value: Any, detail: str
) -> None:
    assertion = {"type": "json", "path": path, "op": op, "value": value}

    assert_fails(await check(session, f"{base_url}/json", spec(assertion)), detail)


async def test_a_body_that_is_not_json_fails_the_json_assertion(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(
        session, f"{base_url}/not-json", spec({"type": "json", "path": "$.status", "op": "exists"})
    )

    assert_fails(result, "body is not JSON: Expecting value: line 1 column 1 (char 0)")


# -- headers, latency, several at once ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "op", "value"),
    [
        ("X-Version", "equals", "v2"),
        ("x-version", "equals", "v2"),
        ("Cache-Control", "contains", "no-"),
    ],
)
async def test_a_header_assertion_that_holds_passes(
    session: aiohttp.ClientSession, base_url: str, name: str, op: str, value: str
) -> None:
    assertion = {"type": "header", "name": name, "op": op, "value": value}

    assert_passes(await check(session, f"{base_url}/json", spec(assertion)))


@pytest.mark.parametrize(
    ("name", "op", "value", "detail"),
    [
        ("X-Version", "equals", "v3", "header 'X-Version' is 'v2', expected 'v3'"),
        (
            "Cache-Control",
            "contains",
            "private",
            "header 'Cache-Control' is 'no-store', does not contain 'private'",
        ),
        ("X-Missing", "equals", "1", "header 'X-Missing' is missing, expected '1'"),
    ],
)
async def test_a_header_assertion_that_fails_says_what_was_seen(
    session: aiohttp.ClientSession, base_url: str, name: str, op: str, value: str, detail: str
) -> None:
    assertion = {"type": "header", "name": name, "op": op, "value": value}

    assert_fails(await check(session, f"{base_url}/json", spec(assertion)), detail)


async def test_an_answer_within_the_latency_limit_passes(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    # The limit is past the probe's own timeout: any answer at all is within it.
    result = await check(session, f"{base_url}/json", spec({"type": "latency", "below_ms": 60_000}))

    assert_passes(result)


async def test_a_slower_answer_than_the_latency_limit_fails_with_its_time(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(session, f"{base_url}/slow", spec({"type": "latency", "below_ms": 100}))

    assert_fails(result, f"answered in {result.latency_ms} ms, limit 100 ms")
    assert result.latency_ms >= 250  # the server sleeps 300 ms


async def test_every_failed_assertion_is_named_in_one_detail(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    checked = spec(
        {"type": "status", "codes": [200]},
        {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
        {"type": "json", "path": "$.queue", "op": "less_than", "value": 5},
        {"type": "header", "name": "X-Version", "op": "equals", "value": "v1"},
    )

    result = await check(session, f"{base_url}/json", checked)

    assert_fails(
        result, "$.queue is 12, expected less than 5; header 'X-Version' is 'v2', expected 'v1'"
    )


async def test_a_failing_status_assertion_is_the_only_detail_and_the_body_is_not_judged(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    checked = spec(
        {"type": "status", "codes": ["2xx"]},
        {"type": "body", "op": "contains", "value": "never there"},
    )

    assert_fails(
        await check(session, f"{base_url}/status/502", checked), "status 502 is not one of 200-299"
    )


# -- degraded -----------------------------------------------------------------------------------


async def test_a_passing_answer_slower_than_degraded_after_ms_is_a_degraded_success(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(session, f"{base_url}/slow", spec(degraded_after_ms=100))

    assert (result.status, result.degraded, result.detail) == (Status.SUCCESS, True, None)


async def test_a_passing_answer_within_degraded_after_ms_is_not_degraded(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    # Past the probe's own timeout: no answer can be slower.
    result = await check(session, f"{base_url}/json", spec(degraded_after_ms=60_000))

    assert (result.status, result.degraded) == (Status.SUCCESS, False)


async def test_a_failing_answer_is_never_flagged_degraded(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    checked = spec({"type": "body", "op": "contains", "value": "nope"}, degraded_after_ms=100)

    result = await check(session, f"{base_url}/slow", checked)

    assert (result.status, result.degraded) == (Status.FAIL, False)


# -- the request --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_the_check_sends_its_method(
    session: aiohttp.ClientSession, server: tuple[web.Application, str], method: str
) -> None:
    app, base_url = server

    result = await check(session, f"{base_url}/echo", spec(request={"method": method}))

    assert_passes(result)
    assert [seen["method"] for seen in app[SEEN]] == [method]


async def test_the_check_sends_its_headers_body_and_content_type(
    session: aiohttp.ClientSession, server: tuple[web.Application, str]
) -> None:
    app, base_url = server
    request = {
        "method": "POST",
        "headers": {"Authorization": "Bearer s3cret", "X-Probe": "1"},
        "body": '{"ping": true}',
        "content_type": "application/json",
    }

    result = await check(
        session,
        f"{base_url}/echo",
        spec(
            {"type": "json", "path": "$.method", "op": "equals", "value": "POST"}, request=request
        ),
    )

    assert_passes(result)
    [seen] = app[SEEN]
    assert (
        seen["headers"]["Authorization"] == "Bearer s3cret"
    )  # secret to the API, sent all the same
    assert seen["headers"]["X-Probe"] == "1"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"]) == {"ping": True}


async def test_with_follow_redirects_off_the_redirect_is_the_answer(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    not_followed = spec({"type": "status", "codes": [302]}, request={"follow_redirects": False})
    followed = spec({"type": "status", "codes": [302]})

    assert_passes(await check(session, f"{base_url}/redirect", not_followed))
    assert_fails(
        await check(session, f"{base_url}/redirect", followed), "status 200 is not one of 302"
    )


async def test_the_checks_timeout_s_shortens_the_probes_timeout(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await check(session, f"{base_url}/hang", spec(request={"timeout_s": 0.3}))

    assert (result.status, result.cause) == (Status.FAIL, Cause.TIMEOUT)
    assert result.detail == "timeout: no answer within 0.3 s"


async def test_a_timeout_s_over_the_probes_timeout_is_capped_by_it(
    session: aiohttp.ClientSession, base_url: str
) -> None:
    result = await probe(
        session,
        Target(3, f"{base_url}/hang", spec(request={"timeout_s": 300})),
        timeout=0.3,
        max_body_bytes=MAX_BODY_BYTES,
        max_redirects=5,
    )

    assert result.detail == "timeout: no answer within 0.3 s"


# -- compiling ----------------------------------------------------------------------------------


def test_a_spec_is_compiled_once_and_forgotten_with_it() -> None:
    checked = spec({"type": "body", "op": "contains", "value": "ok"})
    before = compiled_count()

    first = compile_check(checked, max_body_bytes=MAX_BODY_BYTES)
    assert compile_check(checked, max_body_bytes=MAX_BODY_BYTES) is first
    assert compiled_count() == before + 1

    del checked, first
    gc.collect()
    assert compiled_count() == before


def test_the_default_check_is_never_compiled() -> None:
    before = compiled_count()

    plan = compile_check(DEFAULT_CHECK, max_body_bytes=MAX_BODY_BYTES)

    assert plan.is_default
    assert not plan.judges
    assert not plan.keeps_body
    assert compiled_count() == before


# -- never raises -------------------------------------------------------------------------------

EVERYTHING = spec(
    {"type": "status", "codes": ["2xx"]},
    {"type": "body", "op": "matches", "value": "ok"},
    {"type": "json", "path": "$.status", "op": "equals", "value": "ok"},
    {"type": "header", "name": "X-Version", "op": "equals", "value": "v2"},
    {"type": "latency", "below_ms": 60_000},
    {"type": "tls", "min_days": 1},
    request={"method": "POST", "body": "x", "content_type": "text/plain", "timeout_s": 0.5},
    degraded_after_ms=100,
)


@pytest.fixture
async def hanging_up_url() -> AsyncIterator[str]:
    """A server that reads the request and hangs up without a byte of answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


@pytest.mark.parametrize(
    ("path", "cause", "detail"),
    [
        ("/hang", Cause.TIMEOUT, "timeout: no answer within 0.5 s"),
        ("/json", Cause.ASSERTION, "status 405 is not one of 200-299"),  # POST not routed
        ("://nowhere", Cause.INVALID_RESPONSE, "invalid response: the URL cannot be requested"),
    ],
)
async def test_a_check_with_every_assertion_fails_as_a_check_never_an_exception(
    session: aiohttp.ClientSession, base_url: str, path: str, cause: Cause, detail: str
) -> None:
    url = path if path.startswith("://") else f"{base_url}{path}"

    result = await check(session, url, EVERYTHING)

    assert (result.status, result.cause, result.degraded) == (Status.FAIL, cause, False)
    assert result.detail is not None
    assert result.detail.startswith(detail)


async def test_a_server_hanging_up_fails_a_full_check_with_a_detail(
    session: aiohttp.ClientSession, hanging_up_url: str
) -> None:
    result = await check(session, hanging_up_url, EVERYTHING)

    assert (result.status, result.cause) == (Status.FAIL, Cause.INVALID_RESPONSE)
    assert result.detail == "invalid response: the server closed the connection without an answer"
