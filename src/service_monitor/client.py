"""A small typed client of the service's HTTP API, for the `stats` and `urls` commands.

It speaks only HTTP, so it works against any deployment the API is reachable at. Every answer the
API gives as an error becomes an `ApiError` (status code, the API's `detail`, and the field errors
of a 422); a transport failure (refused, timed out, TLS) becomes an `ApiUnreachable` naming the
URL. The key, when given, is sent as `Authorization: Bearer <key>` and never appears in a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

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
    return Monitor(
        id=int(item["id"]),
        name=str(item["name"]),
        url=str(item["url"]),
        created_at=str(item["created_at"]),
        state=str(item["state"]),
    )


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
        self, limit: int = 100, offset: int = 0, q: str | None = None
    ) -> MonitorPage:
        """GET /urls: a page of monitors by id; `q` (sent only when given) keeps those whose name
        or URL contains it."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if q is not None:
            params["q"] = q
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

    async def add_url(self, name: str, url: str) -> Monitor:
        """POST /urls/: the new monitor. A URL already monitored raises ApiError 409 whose
        `existing_id` is that monitor's id."""
        response = await self._request("POST", "/urls/", json={"name": name, "url": url})
        try:
            return _monitor(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise _unexpected(response, exc) from None

    async def delete_url(self, monitor_id: int) -> None:
        """DELETE /urls/{id}: stop monitoring it (ApiError 404 when there is no such monitor)."""
        await self._request("DELETE", f"/urls/{monitor_id}")


def _cache(cache: bool) -> dict[str, str | int]:
    return {} if cache else {"cache": "false"}
