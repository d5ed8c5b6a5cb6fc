"""How a running cycle is asked to stop (SIGTERM, as ECS sends it), shared by the compute that
receives the signal and the cycle, its sinks and its writes that obey it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Stopping:
    """Asks a running cycle to stop: no new probe starts, those in flight get the grace period
    (SHUTDOWN_GRACE_SECONDS) to finish, then they are abandoned; `abandon` ends them now."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.requested = asyncio.Event()
        self.now = asyncio.Event()  # abandon the probes in flight without waiting out the grace
        self.requested_at: float | None = None  # monotonic seconds
        self._clock = clock

    def request(self) -> None:
        if self.requested_at is None:
            self.requested_at = self._clock()
        self.requested.set()

    def abandon(self) -> None:
        self.request()
        self.now.set()

    @property
    def is_set(self) -> bool:
        return self.requested.is_set()

    def deadline(self, grace_s: float) -> float | None:
        """Monotonic seconds by which the stopping cycle must be done, None while not stopping."""
        if self.requested_at is None:
            return None
        return self.requested_at if self.now.is_set() else self.requested_at + grace_s
