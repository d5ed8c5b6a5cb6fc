"""The API's side of `/metrics`: its requests counted by plain ASGI middleware, so the statistics'
fast path (cache hits answered without FastAPI, api/fast_stats.py) is counted like every other
route, and the route that serves them with what the shared places hold (metrics/shared.py).

Labels stay bounded: the route is its template (`/urls/{monitor_id}`) as the router matched it, a
path no route matched is `unmatched`, and a method outside the usual ones is `other`.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..metrics.fleet import ShardDepths
from ..metrics.shared import read_shared, render
from ..services import Services
from .auth import AUTH_ERRORS, require_key

UNMATCHED = "unmatched"
# What a route matches a request on: the scope's keys kept as the request arrived.
_MATCHED_ON = ("type", "method", "path", "root_path")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Upper bounds (seconds) of the request-duration buckets: a cache hit takes about a millisecond.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HTTPMetrics:
    """The API's request metrics, in a registry of their own (one per app). Under
    PROMETHEUS_MULTIPROC_DIR their values also go to this process's files there, which
    /metrics then merges across the workers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "service_monitor_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "service_monitor_http_request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer, by method and route.",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "service_monitor_cache_requests",
            "Statistics answered from the cache (result=hit) or computed from the store"
            " (result=miss, including ?cache=false), by route.",
            ["route", "result"],
            registry=self.registry,
        )


def route_template(scope: Scope, request: Scope) -> str:
    """The path template of the route that answered `scope`, or `unmatched`.

    FastAPI's own routes leave themselves in `scope["route"]`; the others (the fast statistics
    routes, mounts) are found again by matching `request`, the request as it arrived (the scope
    itself was changed on the way: path parameters, root path), against the app's routes.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", ())
    partial = UNMATCHED
    for route in routes:
        match, _ = route.matches(request)
        path = getattr(route, "path", None)
        if not isinstance(path, str) or not path:
            continue
        if match is Match.FULL:
            return path
        if match is Match.PARTIAL and partial == UNMATCHED:
            partial = path  # the path exists, not for this method: a 405
    return partial


class RequestMetrics:
    """ASGI middleware: each HTTP request counted once its answer ended (or its handler raised,
    as a 500), with its duration; a `cached: true|false` answer header counts a cache hit or miss."""

    def __init__(self, app: ASGIApp, metrics: HTTPMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        arrived = {k: scope[k] for k in _MATCHED_ON if k in scope}
        status = 500  # what the client gets if the app raises before answering
        cached: bytes | None = None

        async def send_and_note(message: Message) -> None:
            nonlocal status, cached
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == b"cached":
                        cached = value
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope.get("method", "")
            method = method if method in _METHODS else "other"
            route = route_template(scope, arrived)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)
            if cached is not None:
                result = "hit" if cached == b"true" else "miss"
                self.metrics.cache.labels(route, result).inc()


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    summary="Prometheus metrics of the API and the compute",
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies of the API (every worker's), the compute's probes and cycles,
    the queue's depth, when the last successful cycle ended, alerting's incidents open, monitors
    by health and notifications by channel type and state, and the fleet's shard streams and
    slots; see README, Metrics."""
    services: Services = request.app.state.services
    http: HTTPMetrics = request.app.state.http_metrics
    queue = services.shard_queue
    shared = await read_shared(
        services.cache,
        services.cycles,
        services.storage,
        schedule=services.storage,
        shards=queue if isinstance(queue, ShardDepths) else None,
        regions=services.settings.REGIONS,
    )
    return Response(render(http.registry, shared), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, *, needs_key: bool) -> None:
    """Count every request (the outermost middleware when called after the others) and serve
    `/metrics`, behind the read key when reads need one."""
    app.state.http_metrics = http = HTTPMetrics()
    app.add_middleware(RequestMetrics, metrics=http)
    if needs_key:
        app.include_router(router, dependencies=[Depends(require_key)], responses=AUTH_ERRORS)
    else:
        app.include_router(router)
