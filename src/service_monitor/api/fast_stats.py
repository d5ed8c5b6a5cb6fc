"""The cached statistics' hot path as plain ASGI, so a cache hit costs what a bare route costs.

FastAPI resolves a route's dependencies and validates its parameters on every request, which cost
about three times the rest of a cache hit (measured with wrk: 2,073 against 6,180 requests/s for a
bare route). The statistics routes are also declared with FastAPI, for their OpenAPI description
and their error answers; this app answers the requests whose path and `cache` parameter are valid,
and hands every other request to the FastAPI route, so errors keep one shape. With READ_AUTH, a
request without a valid key is handed back too, and the FastAPI route answers 401 or 403.
"""

from __future__ import annotations

from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from ..models import Span, Status
from ..services import Services
from .auth import Keys
from .params import parse_flag
from .routes.urls import served_response


def _use_cache(scope: Scope) -> bool | None:
    """The `cache` parameter (default true), or None when it is missing a valid value."""
    query = scope.get("query_string", b"").decode("latin-1")
    value: bool | None = True
    for part in query.split("&") if query else ():
        if not part:
            continue  # "a=1&&b=2": an empty part is no parameter at all
        name, _, raw = part.partition("=")
        if name == "cache":
            value = parse_flag(raw)
        else:
            return None  # an unknown parameter: FastAPI's route refuses it with a 422
    return value


# Set in a request's scope once it was handed back: the router then skips these routes for it.
_HANDED_BACK = "service_monitor.handed_back"


class _CachedStatistic:
    """Serves one statistics route; anything it does not recognise goes back to the router, which
    then finds the FastAPI route behind it."""

    def __init__(self, summary: bool) -> None:
        self._summary = summary

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        use_cache = _use_cache(scope)
        params = scope.get("path_params", {})
        services: Services = scope["app"].state.services
        if use_cache is not None and _key_accepted(scope):
            if self._summary:
                served = await services.stats.summary(use_cache=use_cache)
                await served_response(served)(scope, receive, send)
                return
            status, span = params.get("status"), params.get("timespan")
            if status in Status._value2member_map_ and span in Span._value2member_map_:
                served = await services.stats.top(Status(status), Span(span), use_cache=use_cache)
                await served_response(served)(scope, receive, send)
                return
        scope[_HANDED_BACK] = True
        await scope["app"].router(scope, receive, send)


def _key_accepted(scope: Scope) -> bool:
    """True when reads need no key, or the request carries a valid one; a request without it is
    handed back, and the FastAPI route's dependency (auth.require_key) gives the 401 or 403."""
    keys: Keys = scope["app"].state.read_keys
    if not keys:
        return True
    header = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), None)
    return keys.allows(header.decode("latin-1") if header is not None else None)


class _FastRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get(_HANDED_BACK):
            return Match.NONE, {}
        return super().matches(scope)


def fast_routes() -> list[Route]:
    """Plain routes for the statistics paths, in front of the FastAPI routes they shadow."""
    return [
        _FastRoute(
            path, _CachedStatistic(summary=summary), methods=["GET"], include_in_schema=False
        )
        for path, summary in [
            ("/urls/top/{status}/{timespan}", False),
            ("/urls/summary", True),
            ("/urls/summary/", True),
        ]
    ]
