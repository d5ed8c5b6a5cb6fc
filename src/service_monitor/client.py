"""A small typed client of the service's HTTP API, for the `stats` and `urls` commands.

It speaks only HTTP, so it works against any deployment the API is reachable at. Every answer the
API gives as an error becomes an `ApiError` (status code, the API's `detail`, and the field errors
of a 422); a transport failure (refused, timed out, TLS) becomes an `ApiUnreachable` naming the
URL. The key, when given, is sent as `Authorization: Bearer <key>` and never appears in a message.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

from .check_spec import DEFAULT_CHECK, Assertion, CheckSpec, RequestSpec

DEFAULT_TIMEOUT = 30.0  # seconds for one answer
CONNECT_TIMEOUT = 5.0  # seconds to open a connection


@dataclass(frozen=True)
class FieldError:
    """One entry of a 422 answer's `errors`: where (e.g. ["body", "url"]), what, and its type."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class ApiError(Exception):
    """The API answered with an error status. `detail` is the API's own sentence."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: tuple[FieldError, ...] = (),
        existing_id: int | None = None,
    ) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors
        self.existing_id = existing_id  # 409 on add: the monitor that already has this URL

    @property
    def key_refused(self) -> bool:
        """401 (a key is needed) or 403 (the key sent is not valid)."""
        return self.status in (401, 403)


class ApiUnreachable(Exception):
    """No answer from the API: connection refused, DNS, TLS, or a timeout."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"cannot reach the API at {base_url}: {reason}")
        self.base_url = base_url
        self.reason = reason


@dataclass(frozen=True)
class Summary:
    """Successful and failed checks in the past 30 days."""

    success: int
    fail: int

    @property
    def ratio(self) -> float | None:
        """The share of successful checks (0 to 1); None when there were no checks."""
        total = self.success + self.fail
        return self.success / total if total else None


@dataclass(frozen=True)
class TopItem:
    name: str
    url: str
    count: int


@dataclass(frozen=True)
class Monitor:
    id: int
    name: str
    url: str
    created_at: str  # ISO 8601, UTC, as the API gives it
    state: str  # "pending" or "active"
    # The check as the API shows it: secret header values are check_spec.REDACTED.
    check: CheckSpec = DEFAULT_CHECK
    owner: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """One check of a monitor, as GET /urls/{id} and the history give it."""

    checked_at: str  # ISO 8601, UTC
    status: str  # "success" or "fail"
    http_status: int | None
    latency_ms: int
    cause: str | None
    detail: str | None  # why it failed, one sentence; None for a success
    degraded: bool
    tls_expires_at: str | None  # ISO 8601, UTC; https answers only


@dataclass(frozen=True)
class WindowCount:
    success: int
    fail: int
    degraded: int  # of the successes


@dataclass(frozen=True)
class MonitorDetail:
    """GET /urls/{id}: the monitor, its newest checks first, its counts by window ("hour",
    "week", "month") and the days left on its TLS certificate."""

    monitor: Monitor
    checks: list[CheckResult]
    counts: dict[str, WindowCount]
    tls_days_left: int | None


@dataclass(frozen=True)
class Change:
    """PATCH /urls/{id}: the monitor as it is (or, for a dry run, would be), and the fields whose
    value differs from the stored one; empty: nothing changed."""

    monitor: Monitor
    changed: list[str]


class Unset(enum.Enum):
    """A PATCH field left out (kept as it is), where None means "clear it"."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class MonitorPage:
    items: list[Monitor] = field(default_factory=list)
    total: int = 0
    limit: int = 0
    offset: int = 0


def valid_key(key: str) -> bool:
    """A key an HTTP header can carry: printable ASCII, no spaces."""
    return bool(key) and key.isascii() and key.isprintable() and not any(c.isspace() for c in key)


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__  # ConnectTimeout, ReadTimeout, ...
        return f"no answer in time ({kind})"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


def _error(response: httpx.Response) -> ApiError:
    """The API's error answer as an ApiError; a body that is not the API's JSON (a proxy's HTML
    page, say) keeps the status and the first line of its text."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return ApiError(response.status_code, text or response.reason_phrase or "error")
    errors = tuple(
        FieldError(tuple(e.get("loc", ())), str(e.get("msg", "")), str(e.get("type", "")))
        for e in body.get("errors") or ()
        if isinstance(e, dict)
    )
    existing = body.get("id")
    return ApiError(
        response.status_code,
        body["detail"],
        errors,
        existing if isinstance(existing, int) and not isinstance(existing, bool) else None,
    )


def _unexpected(response: httpx.Response, exc: Exception) -> ApiError:
    return ApiError(
        response.status_code,
        f"the API answered {response.request.method} {response.request.url.path} with an"
        f" unexpected body ({type(exc).__name__}: {exc})",
    )


def _monitor(item: dict[str, Any]) -> Monitor:
    # ValidationError (a ValueError) when the API answers a check this client cannot read.
    check = CheckSpec.model_validate(
        {
            "request": item.get("request") or {},
            "assertions": item.get("assertions") or [],
            "degraded_after_ms": item.get("degraded_after_ms"),
        }
    )
    owner = item.get("owner")
    return Monitor(
        id=int(item["id"]),
        name=str(item["name"]),
        url=str(item["url"]),
        created_at=str(item["created_at"]),
        state=str(item["state"]),
        check=DEFAULT_CHECK if check == DEFAULT_CHECK else check,
        owner=None if owner is None else str(owner),
    )


def _check_result(item: dict[str, Any]) -> CheckResult:
    http_status = item.get("http_status")
    return CheckResult(
        checked_at=str(item["checked_at"]),
        status=str(item["status"]),
        http_status=None if http_status is None else int(http_status),
        latency_ms=int(item["latency_ms"]),
        cause=item.get("cause"),
        detail=item.get("detail"),
        degraded=bool(item.get("degraded", False)),
        tls_expires_at=item.get("tls_expires_at"),
    )


def check_fields(check: CheckSpec) -> dict[str, Any]:
    """The check as the API's top-level monitor fields: request, assertions, degraded_after_ms."""
    data = check.model_dump(mode="json")
    return {
        "request": data["request"],
        "assertions": data["assertions"],
        "degraded_after_ms": data["degraded_after_ms"],
    }


class ApiClient:
    """`async with ApiClient(base_url, key) as api:` then `await api.summary()`, ...

    One connection pool per client; `max_connections` bounds the requests in flight (the import
    sends rows concurrently).
    """

    def __init__(
        self,
        base_url: str,
        key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if key:
            if not valid_key(key):  # the message never shows the key
                raise ValueError("an API key must be printable ASCII without spaces")
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )

    def __repr__(self) -> str:  # never the key
        return f"ApiClient({self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        try:
            # Never logged here: a body may hold secret header values.
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.TransportError as exc:
            raise ApiUnreachable(self.base_url, _reason(exc)) from None
        if response.is_error:
            raise _error(response)
        return response

    async def summary(self, *, cache: bool = True) -> Summary:
        """GET /urls/summary: successful and failed checks in the past 30 days."""
        response = await self._request("GET", "/urls/summary", params=_cache(cache))
        try:
            counts = {item["status"]: int(item["count"]) for item in response.json()}
            return Summary(success=counts["success"], fail=counts["fail"])
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def top(self, status: str, span: str, *, cache: bool = True) -> list[TopItem]:
        """GET /urls/top/{status}/{span}: the 10 URLs with the most checks of `status`
        ("success" or "fail") in the past `span` ("hour", "week" or "month")."""
        response = await self._request("GET", f"/urls/top/{status}/{span}", params=_cache(cache))
        try:
            return [
                TopItem(name=str(i["name"]), url=str(i["url"]), count=int(i["count"]))
                for i in response.json()
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def list_urls(
        self, limit: int = 100, offset: int = 0, q: str | None = None, *, owner: str | None = None
    ) -> MonitorPage:
        """GET /urls: a page of monitors by id; `q` (sent only when given) keeps those whose name
        or URL contains it, `owner` those with this owner label."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if q is not None:
            params["q"] = q
        if owner is not None:
            params["owner"] = owner
        response = await self._request("GET", "/urls", params=params)
        try:
            body = response.json()
            return MonitorPage(
                items=[_monitor(item) for item in body["items"]],
                total=int(body["total"]),
                limit=int(body["limit"]),
                offset=int(body["offset"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def add_url(
        self, name: str, url: str, *, check: CheckSpec | None = None, owner: str | None = None
    ) -> Monitor:
        """POST /urls/: the new monitor, with `check` (default: one GET, success below 400) and
        `owner`. A URL already monitored with the same check raises ApiError 409 whose
        `existing_id` is that monitor's id; a refused field, ApiError 422 naming it."""
        body: dict[str, Any] = {"name": name, "url": url}
        if check is not None and check != DEFAULT_CHECK:
            body |= check_fields(check)
        if owner is not None:
            body["owner"] = owner
        response = await self._request("POST", "/urls/", json=body)
        try:
            return _monitor(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def get_url(self, monitor_id: int) -> MonitorDetail:
        """GET /urls/{id}: the monitor (secrets redacted), its newest checks and counts
        (ApiError 404 when there is no such monitor)."""
        response = await self._request("GET", f"/urls/{monitor_id}")
        try:
            body = response.json()
            counts = {
                window: WindowCount(int(c["success"]), int(c["fail"]), int(c.get("degraded", 0)))
                for window, c in body["counts"].items()
            }
            days = body.get("tls_days_left")
            return MonitorDetail(
                monitor=_monitor(body),
                checks=[_check_result(c) for c in body["checks"]],
                counts=counts,
                tls_days_left=None if days is None else int(days),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _unexpected(response, exc) from None

    async def update_url(
        self,
        monitor_id: int,
        *,
        name: str | None = None,
        url: str | None = None,
        request: RequestSpec | None = None,
        assertions: Sequence[Assertion] | None = None,
        degraded_after_ms: int | Unset | None = UNSET,
        owner: str | Unset | None = UNSET,
        check: CheckSpec | None = None,
        dry_run: bool = False,
    ) -> Change:
        """PATCH /urls/{id}: change the fields given (None, or UNSET where None clears: left as
        they are). `check` sets request, assertions and degraded_after_ms at once. A secret
        header's value given as REDACTED keeps the stored one. With `dry_run`, nothing is
        written: the answer says what would change."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if url is not None:
            body["url"] = url
        if check is not None:
            body |= check_fields(check)
        if request is not None:
            body["request"] = request.model_dump(mode="json")
        if assertions is not None:
            body["assertions"] = [a.model_dump(mode="json") for a in assertions]
        if not isinstance(degraded_after_ms, Unset):
            body["degraded_after_ms"] = degraded_after_ms
        if not isinstance(owner, Unset):
            body["owner"] = owner
        params: dict[str, str | int] = {"dry_run": "true"} if dry_run else {}
        response = await self._request("PATCH", f"/urls/{monitor_id}", params=params, json=body)
        try:
            answer = response.json()
            return Change(_monitor(answer), [str(f) for f in answer["changed"]])
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def delete_url(self, monitor_id: int) -> None:
        """DELETE /urls/{id}: stop monitoring it (ApiError 404 when there is no such monitor)."""
        await self._request("DELETE", f"/urls/{monitor_id}")


def _cache(cache: bool) -> dict[str, str | int]:
    return {} if cache else {"cache": "false"}
