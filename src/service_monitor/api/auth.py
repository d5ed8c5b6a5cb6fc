"""API keys: who may write (and, with READ_AUTH, read), checked in constant time, never logged.

With API_KEYS unset every request is let through, and start-up logs one warning saying that writes
are open. With keys set, a write needs `Authorization: Bearer <key>`: 401 without a key (or with
another scheme), 403 with a key that is not one of them. READ_AUTH=true asks the same of the
statistics and the monitor listings. `/status`, `/docs` and `/openapi.json` always stay open.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..config import Settings
from .schemas import ErrorBody

log = logging.getLogger(__name__)

SCHEME = "Bearer"

# For the OpenAPI schema: the answers a route guarded by a key can give.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no API key was sent (header WWW-Authenticate)"},
    403: {"model": ErrorBody, "description": "the API key sent is not valid"},
}


class KeyMissing(Exception):
    """No `Authorization: Bearer <key>` header on a request that needs one."""

    def __init__(self, why: str) -> None:
        super().__init__(why)


class KeyRefused(Exception):
    """A key was sent and is none of API_KEYS. The message never contains the key."""

    def __init__(self) -> None:
        super().__init__("the API key sent is not valid")


class Keys:
    """The configured keys, compared in constant time: every key is compared with what was sent,
    and the time taken does not depend on which one (if any) matched, nor on where they differ."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [key.encode() for key in keys]

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        return cls([key.get_secret_value() for key in settings.API_KEYS])

    def __bool__(self) -> bool:
        return bool(self._keys)

    def accepts(self, sent: str) -> bool:
        candidate = sent.encode()
        matched = False
        for key in self._keys:  # no early exit: the loop takes as long whichever key matched
            matched |= hmac.compare_digest(candidate, key)
        return matched

    def allows(self, authorization: str | None) -> bool:
        """Whether the `Authorization` header value carries one of the keys (check_header's rule)."""
        try:
            self.check_header(authorization)
        except (KeyMissing, KeyRefused):
            return False
        return True

    def check_header(self, authorization: str | None) -> None:
        """Return when the `Authorization` header value carries one of the keys; raise KeyMissing
        or KeyRefused otherwise. For callers outside FastAPI's dependencies (the fast routes)."""
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() != SCHEME.lower() or not credentials.strip():
            raise KeyMissing(_missing_reason(authorization))
        if not self.accepts(credentials.strip()):
            raise KeyRefused()


def _missing_reason(authorization: str | None) -> str:
    if not authorization:
        return "this endpoint needs an API key: send the header 'Authorization: Bearer <key>'"
    # A well-known scheme is named; nothing else of the header is, since it may be a secret (a key
    # sent without "Bearer " would otherwise be echoed back).
    scheme = authorization.partition(" ")[0]
    got = f"the {scheme} scheme" if scheme.lower() in _KNOWN_SCHEMES else "something else"
    return f"the Authorization header must be 'Bearer <key>', got {got}"


_KNOWN_SCHEMES = {"basic", "bearer", "digest", "negotiate", "token", "aws4-hmac-sha256"}


# auto_error=False: a missing or malformed header reaches us, so the 401 says which it was.
_bearer = HTTPBearer(
    auto_error=False,
    description="one of the keys in API_KEYS; needed for writes when API_KEYS is set, and for"
    " reads too when READ_AUTH=true",
)


async def require_key(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The dependency of every guarded route: the header is checked by Keys.check_header, so this
    path and the fast statistics routes give the same answers. (The credentials dependency is
    there for the OpenAPI schema, which then names the scheme on every guarded operation.)"""
    keys: Keys = request.app.state.keys
    keys.check_header(request.headers.get("authorization"))


def warn_if_open(settings: Settings) -> None:
    """One warning at start-up when anyone who reaches the API can change what is monitored."""
    if not settings.API_KEYS:
        log.warning(
            "API_KEYS is not set: anyone who can reach this API can add and delete URLs;"
            " set API_KEYS (comma-separated) to require 'Authorization: Bearer <key>' for writes"
        )
