"""Bounds on what a request may send: the body's size (413), and only the query parameters a route
declares (422: a misspelt `?cahce=false` must not be served as if it were absent).

Also sets the headers that keep a browser from reading our JSON as anything else, since names and
URLs are returned byte for byte as they were sent, HTML meta-characters included.
"""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Sent with every answer: JSON is never sniffed as HTML, and no answer is framed by another site.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]


class BodyTooLarge(HTTPException):
    """Raised while the body is read, when it turns out longer than its Content-Length said (or
    had none): the error handlers answer it as any HTTPException, 413 in JSON."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large(max_bytes))


def _too_large(max_bytes: int) -> str:
    return f"the request body is larger than {max_bytes} bytes (MAX_REQUEST_BYTES)"


class RequestLimits:
    """ASGI middleware: a declared Content-Length over `max_bytes` is answered 413 at once, without
    reading the body; a body that is longer than declared, or chunked, is counted as it is read,
    and reading stops with 413 as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _answer_413(send_with_headers, self.max_bytes)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted_receive, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server (h11/httptools) refuses such a request before us
    return None


async def _answer_413(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": _too_large(max_bytes)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The unread body would otherwise be taken for the next request on the connection.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def reject_unknown_query(request: Request) -> None:
    """App-wide dependency: a query parameter the route does not declare is a 422 naming it and
    the parameters the route takes."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": f"unknown query parameter; this endpoint takes: {takes}",
                    "input": request.query_params.get(name),
                }
                for name in unknown
            ]
        )


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters `route` declares, its dependencies' included; kept on the route."""
    cached: frozenset[str] | None = getattr(route, _CACHED_NAMES, None)
    if cached is None:
        cached = _declared_query_names(route)
        setattr(route, _CACHED_NAMES, cached)
    return cached


_CACHED_NAMES = "_service_monitor_query_names"


def _declared_query_names(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    todo: list[Dependant] = [route.dependant]
    while todo:
        dependant = todo.pop()
        names.update(field.alias for field in dependant.query_params)
        todo.extend(dependant.dependencies)
    return frozenset(names)
