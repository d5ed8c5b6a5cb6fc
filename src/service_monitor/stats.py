"""Top lists and the summary: the cache first, the database on a miss, and the rules for both in one place."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .cache import Cache
from .errors import CacheUnavailable
from .models import Span, Status
from .storage import Storage

log = logging.getLogger(__name__)

TOP_LIMIT = 10
SUMMARY_SPAN = Span.MONTH


@dataclass(frozen=True, slots=True)
class Served:
    body: str  # JSON text of the response body
    cached: bool  # True when it came from the cache
    age: int  # whole seconds since it was computed


def top_key(status: Status, span: Span) -> str:
    return f"top:{status.value}:{span.value}"


SUMMARY_KEY = "summary"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Stats:
    """Serves statistics under the seed's rule: a cached result younger than `max_age` seconds is
    served as it is; otherwise the database is asked and the cache updated. `use_cache=False`
    skips and overwrites the entry. A cache that fails is logged and bypassed, never fatal.

    Concurrent misses for one key in this process share one database query (single flight), so a
    cold cache under load costs the database one query per statistic, not one per request.
    """

    def __init__(
        self, storage: Storage, cache: Cache, *, max_age: float, clock: Callable[[], float]
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._max_age = max_age
        self._clock = clock
        self._in_flight: dict[str, asyncio.Future[str]] = {}  # key -> the query being run for it

    async def refresh(self) -> None:
        """Recompute every statistic and overwrite its cache entry: the compute calls this after
        each cycle, so API requests find fresh entries instead of missing."""
        for status in Status:
            for span in Span:
                await self.top(status, span, use_cache=False)
        await self.summary(use_cache=False)

    async def top(self, status: Status, span: Span, *, use_cache: bool = True) -> Served:
        async def compute(now: float) -> str:
            entries = await self._storage.top(status, now - span.seconds, TOP_LIMIT)
            return _json([{"name": e.name, "url": e.url, "count": e.count} for e in entries])

        return await self._serve(top_key(status, span), compute, use_cache)

    async def summary(self, *, use_cache: bool = True) -> Served:
        async def compute(now: float) -> str:
            counts = await self._storage.summary(now - SUMMARY_SPAN.seconds)
            return _json(
                [
                    {"status": Status.SUCCESS.value, "count": counts.success},
                    {"status": Status.FAIL.value, "count": counts.fail},
                ]
            )

        return await self._serve(SUMMARY_KEY, compute, use_cache)

    async def _serve(
        self, key: str, compute: Callable[[float], Awaitable[str]], use_cache: bool
    ) -> Served:
        now = self._clock()
        if use_cache:
            try:
                entry = await self._cache.get(key)
            except CacheUnavailable as exc:
                log.warning("cache read of %s skipped: %s", key, exc)
                entry = None
            if entry is not None and 0 <= now - entry.stored_at < self._max_age:
                return Served(entry.value, cached=True, age=int(now - entry.stored_at))
            running = self._in_flight.get(key)
            if running is not None:  # the same miss is being answered: share its answer
                try:
                    return Served(await asyncio.shield(running), cached=False, age=0)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # this request was cancelled, not the one it waited for
                    # The request answering it went away (its client hung up): query here.
        # cache=false always runs its own query: it asks for the newest data, not a shared answer.
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if use_cache:
            self._in_flight[key] = future
        try:
            body = await compute(now)
            future.set_result(body)
        except asyncio.CancelledError:
            future.cancel()  # those waiting run the query themselves
            raise
        except Exception as exc:
            future.set_exception(exc)  # those waiting get the same error (a 503, say)
            future.exception()  # marked as seen: there may be nobody waiting
            raise
        finally:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]
        try:
            await self._cache.set(key, body, now)
        except CacheUnavailable as exc:
            log.warning("cache write of %s skipped: %s", key, exc)
        return Served(body, cached=False, age=0)
