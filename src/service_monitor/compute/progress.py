"""How far a long cycle has come: a line every 10% with its rate and ETA, and one early warning when
the cycle will not finish within its interval."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("service_monitor.compute.cycle")

# Seconds a cycle must have run before its progress is worth a line: a 1,000-URL cycle takes a few
# seconds and says only "cycle done"; a 100,000-URL one takes about a minute and reports as it goes.
PROGRESS_AFTER_S = 20.0


class Progress:
    """Counts finished probes; cheap enough to call once per probe (one comparison, most calls)."""

    def __init__(
        self, total: int, interval_s: float, *, clock: Callable[[], float], started: float
    ) -> None:
        self.total = total
        self.done = 0
        self.interval_s = interval_s
        self.clock = clock
        self.started = started
        self.warned_overrun = False
        self._tenth = 1  # the next tenth of `total` to report
        self._next_mark = self._mark(1)

    def _mark(self, tenth: int) -> int:
        return -(-self.total * tenth // 10)  # ceiling: the probe count at which `tenth` is reached

    def done_one(self) -> None:
        self.done += 1
        if self.done < self._next_mark or self._tenth >= 10:
            return
        while self._tenth < 10 and self.done >= self._mark(self._tenth):
            self._tenth += 1
        self._next_mark = self._mark(self._tenth)
        self._report()

    def _report(self) -> None:
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0  # probes per second so far
        eta = (self.total - self.done) / rate if rate > 0 else 0.0  # seconds still needed
        if elapsed >= PROGRESS_AFTER_S and self.done < self.total:
            log.info(
                "cycle progress: %d%% (%d of %d URLs), %.0f URLs/s, ETA %.0f s",
                100 * self.done // self.total,
                self.done,
                self.total,
                rate,
                eta,
            )
        if not self.warned_overrun and elapsed + eta > self.interval_s:
            self.warned_overrun = True
            log.warning(
                "cycle will overrun its %g s interval: %d of %d URLs done after %.0f s, ETA %.0f s"
                " more; raise CONCURRENCY or CYCLE_INTERVAL",
                self.interval_s,
                self.done,
                self.total,
                elapsed,
                eta,
            )
