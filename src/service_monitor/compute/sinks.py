"""Where a cycle's checks go: every check the probe loop makes is handed to each sink in a short
list, so a new consumer of checks is a new sink, not an edit to the probe loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from ..metrics.compute import ProbeTally
from ..models import Check, Status


class CheckSink(Protocol):
    """A consumer of one cycle's checks; a fresh one each cycle, as it holds the cycle's state.

    The cycle calls `start` once before the first check, `add` once per check, then `close` once
    after the last; or `abort` instead of `close` when the cycle ends on an error or is cancelled.
    """

    def start(self) -> None:
        """Called in the running loop before the first check: where a sink starts its task."""

    def add(self, check: Check) -> None:
        """Take one check. Called once per probe on the probe loop's hot path: never blocks (no
        await, no I/O), never raises, and costs little more than a list append; a sink that does
        I/O queues the check for a task of its own, as the store writer does."""

    async def close(self, *, until: float | None) -> None:
        """Finish with what was added (flush, store), returning once done or by `until`
        (monotonic seconds; None while not stopping: no limit) at the latest, when what is left
        undone is the sink's to count and log. Cancelled, it aborts and lets the cancel through."""

    def abort(self, why: str) -> None:
        """Stop now without finishing; `why` says why, for the sink's own log of what it gave up."""


# Makes a cycle's sink: the compute calls each factory once per cycle.
SinkFactory = Callable[[], CheckSink]


class Sinks:
    """The fan-out the probe loop calls once per check, itself a CheckSink: it counts successes
    and failures for the cycle's report and passes each call on to every sink, in order."""

    def __init__(self, sinks: Sequence[CheckSink]) -> None:
        self._sinks = tuple(sinks)
        # The bound `add` of each sink, looked up once here rather than once per check.
        self._adds = tuple(sink.add for sink in self._sinks)
        self.success = 0
        self.fail = 0

    def start(self) -> None:
        for sink in self._sinks:
            sink.start()

    def add(self, check: Check) -> None:
        if check.status is Status.SUCCESS:
            self.success += 1
        else:
            self.fail += 1
        for add in self._adds:
            add(check)

    async def close(self, *, until: float | None) -> None:
        """Close every sink at once, so each has the whole time up to `until`, not what the ones
        before it left."""
        await asyncio.gather(*(sink.close(until=until) for sink in self._sinks))

    def abort(self, why: str) -> None:
        for sink in self._sinks:
            sink.abort(why)


class TallySink(ProbeTally):
    """The metrics' ProbeTally as a sink: counting is all it does, so it has nothing to start,
    flush or give up. The lifecycle is added here, in compute/, so that metrics/ (which the API
    imports) keeps knowing nothing of sinks."""

    def start(self) -> None:
        pass

    async def close(self, *, until: float | None) -> None:
        pass

    def abort(self, why: str) -> None:
        pass
