"""The API's HTTP client (service_monitor/client.py) against a real API process, on both
deployments: typed answers, one error type with the API's own reasons, and a clear error when the
API cannot be reached."""

from __future__ import annotations

import pytest

from service_monitor.check_spec import (
    DEFAULT_CHECK,
    REDACTED,
    CheckSpec,
    RequestSpec,
    StatusAssertion,
    TLSAssertion,
)
from service_monitor.client import (
    ApiClient,
    ApiError,
    ApiUnreachable,
    FieldError,
    Summary,
    TopItem,
    WindowCount,
)
from service_monitor.models import Status
from tests.api_process import api_process, store_checks
from tests.targets import closed_port, target_server

KEY = "k-client-test-5e1f0a"


async def test_client_adds_lists_and_deletes_monitors(deployment: dict[str, str]) -> None:
    async with api_process(deployment) as base, ApiClient(base) as api:
        shop = await api.add_url("shop", "https://shop.example/")
        assert (shop.name, shop.url, shop.state) == ("shop", "https://shop.example/", "pending")
        blog = await api.add_url("blog", "https://blog.example/")

        page = await api.list_urls(limit=1)
        assert ([m.id for m in page.items], page.total, page.limit) == ([shop.id], 2, 1)
        page = await api.list_urls(limit=1, offset=1)
        assert page.items == [blog]

        await api.delete_url(shop.id)
        assert [m.id for m in (await api.list_urls()).items] == [blog.id]


async def test_client_errors_carry_the_status_the_api_detail_field_errors_and_conflict_id(
    deployment: dict[str, str],
) -> None:
    async with api_process(deployment) as base, ApiClient(base) as api:
        first = await api.add_url("a", "http://www.a.com")
        with pytest.raises(ApiError) as conflict:
            await api.add_url("again", "http://WWW.A.com:80")
        assert conflict.value.status == 409
        assert conflict.value.existing_id == first.id
        assert "already monitored" in conflict.value.detail

        with pytest.raises(ApiError) as invalid:
            await api.add_url("ftp", "ftp://files.example/")
        assert invalid.value.status == 422
        assert invalid.value.detail == (
            "url: must be an absolute http:// or https:// URL, got scheme 'ftp'"
        )
        assert invalid.value.errors == (
            FieldError(
                ("body", "url"),
                "must be an absolute http:// or https:// URL, got scheme 'ftp'",
                "value_error",
            ),
        )
        assert invalid.value.existing_id is None

        with pytest.raises(ApiError) as missing:
            await api.delete_url(first.id + 100)
        assert (missing.value.status, missing.value.detail) == (
            404,
            f"monitor {first.id + 100} not found",
        )


async def test_client_reads_the_summary_and_the_top_lists(deployment: dict[str, str]) -> None:
    async with api_process(deployment) as base, ApiClient(base) as api:
        assert await api.summary(cache=False) == Summary(success=0, fail=0)
        assert (await api.summary(cache=False)).ratio is None
        assert await api.top("fail", "hour", cache=False) == []

        up = await api.add_url("up", "https://up.example/")
        down = await api.add_url("down", "https://down.example/")
        await store_checks(
            deployment,
            [(up.id, Status.SUCCESS, 3), (down.id, Status.FAIL, 2), (down.id, Status.SUCCESS, 1)],
        )
        summary = await api.summary(cache=False)
        assert summary == Summary(success=4, fail=2)
        assert summary.ratio == pytest.approx(4 / 6)
        assert await api.top("success", "week", cache=False) == [
            TopItem("up", "https://up.example/", 3),
            TopItem("down", "https://down.example/", 1),
        ]
        assert await api.top("fail", "month", cache=False) == [
            TopItem("down", "https://down.example/", 2)
        ]


async def test_client_sends_its_key_as_a_bearer_token(deployment: dict[str, str]) -> None:
    async with api_process(deployment, API_KEYS=KEY, READ_AUTH="true") as base:
        async with ApiClient(base) as anonymous:
            with pytest.raises(ApiError) as missing:
                await anonymous.summary()
            assert missing.value.status == 401
            assert missing.value.key_refused
        async with ApiClient(base, "not-the-key") as wrong:
            with pytest.raises(ApiError) as refused:
                await wrong.add_url("x", "https://x.example/")
            assert (refused.value.status, refused.value.detail) == (
                403,
                "the API key sent is not valid",
            )
        async with ApiClient(base, KEY) as keyed:
            assert (await keyed.add_url("x", "https://x.example/")).name == "x"
            assert (await keyed.list_urls()).total == 1
            assert KEY not in repr(keyed)


async def test_an_unreachable_api_raises_api_unreachable_naming_its_url() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    async with ApiClient(base) as api:
        with pytest.raises(ApiUnreachable) as unreachable:
            await api.summary()
    assert str(unreachable.value).startswith(f"cannot reach the API at {base}: ")


async def test_an_answer_that_is_not_the_apis_json_keeps_its_status_and_text() -> None:
    # Something else answers at that address (another service, a proxy's error page).
    async with target_server() as other, ApiClient(other) as api:
        with pytest.raises(ApiError) as error:
            await api.summary()
    assert (error.value.status, error.value.detail) == (404, "404: Not Found")


async def test_client_adds_shows_and_edits_a_monitors_check(deployment: dict[str, str]) -> None:
    check = CheckSpec(
        request=RequestSpec(method="GET", headers={"Authorization": "Bearer c-77"}, timeout_s=1),
        assertions=[StatusAssertion(type="status", codes=["2xx"])],
        degraded_after_ms=500,
    )
    async with api_process(deployment) as base, ApiClient(base) as api:
        added = await api.add_url("api", "https://api.example/", check=check, owner="ops")
        assert added.owner == "ops"
        assert added.check.request.headers == {"Authorization": REDACTED}
        assert added.check.assertions == check.assertions
        assert added.check.degraded_after_ms == 500
        plain = await api.add_url("api", "https://api.example/")  # another check: allowed
        assert plain.check == DEFAULT_CHECK

        detail = await api.get_url(added.id)
        assert detail.monitor == added
        assert detail.checks == []
        assert detail.counts["hour"] == WindowCount(0, 0, 0)
        assert detail.tls_days_left is None

        dry = await api.update_url(added.id, name="api v2", dry_run=True)
        assert dry.changed == ["name"]
        assert (await api.get_url(added.id)).monitor.name == "api"
        # The check as shown, secrets redacted, sent back: nothing changes.
        same = await api.update_url(added.id, check=added.check)
        assert same.changed == []
        cleared = await api.update_url(added.id, degraded_after_ms=None, owner=None)
        assert cleared.changed == ["degraded_after_ms", "owner"]
        assert (cleared.monitor.check.degraded_after_ms, cleared.monitor.owner) == (None, None)
        assert [m.id for m in (await api.list_urls(owner="ops")).items] == []

        with pytest.raises(ApiError) as refused:
            await api.update_url(added.id, assertions=[TLSAssertion(type="tls", min_days=7)],
                                 url="http://api.example/")  # fmt: skip
        assert refused.value.status == 422
        assert refused.value.detail.startswith("request.headers: the URL moves to another origin")
