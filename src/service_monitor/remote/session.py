"""Running a `stats` or `urls` command against the API: the connection settings, one-line errors and exit codes all commands share.

Exit codes: 0 done; 1 the API refused something; 2 a usage error, an unreadable file, an API that
cannot be reached or that refused the key; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .output import _printable

if TYPE_CHECKING:  # imported when a command runs, so the server's commands never load them
    from ..client import ApiClient, ApiError

API_URL_ENV = "SERVICE_MONITOR_API_URL"
API_KEY_ENV = "SERVICE_MONITOR_API_KEY"
DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_CONCURRENCY = 16


class UsageError(Exception):
    """A bad option or an unreadable file: one line, exit code 2."""


def _fail(message: str) -> None:
    print(f"service-monitor: {_printable(message)}", file=sys.stderr)


def _api_url(args: argparse.Namespace) -> str:
    import httpx

    url = args.api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--api-url must be an http:// or https:// URL, got {url!r}")
    return url


def _key_refused(exc: ApiError, key: str | None) -> str:
    if exc.status == 401 and not key:
        return (
            f"the API needs a key ({exc.status}): {exc.detail}; set {API_KEY_ENV}"
            " (or pass --api-key)"
        )
    return f"the API refused the key ({exc.status}): {exc.detail}"


def _run(args: argparse.Namespace, command: Callable[[ApiClient], Awaitable[int]]) -> int:
    """Open a client on --api-url, run the command, and turn every failure into one line."""
    from ..client import ApiClient, ApiError, ApiUnreachable, valid_key

    key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if key is not None and not valid_key(key):  # never shown: it may be a real key, mistyped
        where = "--api-key" if args.api_key else f"${API_KEY_ENV}"
        _fail(f"{where}: an API key must be printable ASCII without spaces")
        return 2

    async def run() -> int:
        limit = getattr(args, "concurrency", DEFAULT_CONCURRENCY)
        async with ApiClient(
            _api_url(args), key, timeout=args.timeout, max_connections=limit
        ) as api:
            return await command(api)

    try:
        return asyncio.run(run())
    except UsageError as exc:
        _fail(str(exc))
        return 2
    except ApiUnreachable as exc:
        _fail(str(exc))
        return 2
    except ApiError as exc:
        if exc.key_refused:
            _fail(_key_refused(exc, key))
            return 2
        _fail(f"the API answered {exc.status}: {exc.detail}")
        return 1
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
