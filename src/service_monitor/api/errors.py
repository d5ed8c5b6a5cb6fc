"""Maps the service's errors to HTTP answers: the only place that knows which code each one gets."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..check_spec import SpecLimitError
from ..errors import (
    ChannelInUse,
    ChannelNotFound,
    DuplicateChannel,
    DuplicateURL,
    IncidentNotFound,
    MonitorNotFound,
    SealingUnavailable,
    TargetRefused,
    Unavailable,
    WindowNotFound,
)
from .auth import SCHEME, KeyMissing, KeyRefused
from .schemas import (
    ChannelConflictBody,
    ChannelInUseBody,
    ConflictBody,
    ErrorBody,
    ValidationErrorBody,
)

log = logging.getLogger(__name__)

# For the OpenAPI schema: the error answers each kind of route can give.
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ConflictBody}}
INVALID: dict[int | str, dict[str, Any]] = {422: {"model": ValidationErrorBody}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "the database did not answer"}
}
CHANNEL_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ChannelConflictBody, "description": "the name is another channel's"}
}
CHANNEL_IN_USE: dict[int | str, dict[str, Any]] = {
    409: {"model": ChannelInUseBody, "description": "monitors name it; ?force=true detaches them"}
}
SEALING: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "the database did not answer, or no CHANNEL_KEYS key can seal or open the"
        " channel's target",
    }
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the body is not valid JSON"},
    413: {"model": ErrorBody, "description": "the body is larger than MAX_REQUEST_BYTES"},
}


def _field(loc: tuple[Any, ...]) -> str:
    # ("body", "url") -> "url"; ("path", "status") -> "status"; a whole body -> "body"
    parts = [str(part) for part in loc[1:]] if len(loc) > 1 else [str(part) for part in loc]
    return ".".join(parts)


def _loc(error: Any) -> tuple[Any, ...]:
    """The error's place; a rule across fields (check_spec.SpecLimitError) adds the field it is
    about to the model's place, so `degraded_after_ms` is named rather than the whole body."""
    loc = tuple(error.get("loc", ()))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SpecLimitError):
        loc += cause.loc
    return loc


def body_invalid(exc: ValidationError, *prefix: str | int) -> RequestValidationError:
    """A model built from the body inside a route (the check spec a PATCH merges) as the 422
    FastAPI gives for the body itself: each error's place under ("body", *prefix)."""
    errors = [
        {**error, "loc": ("body", *prefix, *error.get("loc", ()))}
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return RequestValidationError(errors)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    bad_json = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if bad_json:
        # Not JSON at all is a malformed request (400); JSON of the wrong shape is a 422 below.
        why = (bad_json[0].get("ctx") or {}).get("error", "invalid JSON")
        where = bad_json[0].get("loc", ("body", 0))[-1]
        return JSONResponse(
            {"detail": f"the body is not valid JSON: {why} (at character {where})"},
            status_code=400,
        )
    errors = []
    messages = []
    for error in exc.errors():
        loc = _loc(error)
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append({"loc": list(loc), "msg": msg, "type": str(error.get("type", ""))})
        messages.append(f"{_field(loc)}: {msg}")
    body = {"detail": "; ".join(messages) or "invalid request", "errors": errors}
    return JSONResponse(jsonable_encoder(body), status_code=422)


async def _key_missing(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": SCHEME})


async def _key_refused(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=403)


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _duplicate(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DuplicateURL)
    return JSONResponse({"detail": str(exc), "id": exc.existing_id}, status_code=409)


async def _duplicate_channel(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DuplicateChannel)
    return JSONResponse({"detail": str(exc), "id": exc.existing_id}, status_code=409)


async def _channel_in_use(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChannelInUse)
    detail = f"{exc}; ?force=true detaches them (they then use the default channels)"
    return JSONResponse({"detail": detail, "monitors": exc.monitors}, status_code=409)


async def _sealing_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # A deployment without the key that seals channel targets: the operator's to fix, not the
    # caller's; the message names the setting and never a key.
    log.error("answered 503: %s", exc)
    return JSONResponse({"detail": f"channel keys unavailable: {exc}"}, status_code=503)


async def _target_refused(_: Request, exc: Exception) -> JSONResponse:
    # The SSRF guard's refusal is a bad url field: the same shape as any validation error.
    assert isinstance(exc, TargetRefused)
    error = {"loc": ["body", "url"], "msg": exc.reason, "type": "target_refused"}
    return JSONResponse({"detail": f"url: {exc.reason}", "errors": [error]}, status_code=422)


async def _spec_limit(_: Request, exc: Exception) -> JSONResponse:
    # A check this deployment cannot run (a timeout over TIMEOUT...): a bad field like any other.
    assert isinstance(exc, SpecLimitError)
    loc = ["body", *exc.loc]
    error = {"loc": loc, "msg": str(exc), "type": "value_error"}
    return JSONResponse({"detail": f"{_field(tuple(loc))}: {exc}", "errors": [error]}, 422)


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unavailable)
    log.error("answered 503: %s", exc)
    return JSONResponse({"detail": f"{exc.component} unavailable: {exc}"}, status_code=503)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not an input problem: logged with its traceback, answered in JSON like every error.
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error; the server log has the details"}, 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(KeyMissing, _key_missing)
    app.add_exception_handler(KeyRefused, _key_refused)
    app.add_exception_handler(MonitorNotFound, _not_found)
    for not_found in (IncidentNotFound, ChannelNotFound, WindowNotFound):
        app.add_exception_handler(not_found, _not_found)
    app.add_exception_handler(DuplicateChannel, _duplicate_channel)
    app.add_exception_handler(ChannelInUse, _channel_in_use)
    app.add_exception_handler(SealingUnavailable, _sealing_unavailable)
    app.add_exception_handler(DuplicateURL, _duplicate)
    app.add_exception_handler(TargetRefused, _target_refused)
    app.add_exception_handler(SpecLimitError, _spec_limit)
    app.add_exception_handler(Unavailable, _unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
