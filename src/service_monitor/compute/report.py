"""What a finished cycle reports, and its one log line, apart from the cycle so the compute and
the metrics read the counts without the probing's machinery."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..metrics.compute import ProbeTally


@dataclass(frozen=True, slots=True)
class CycleReport:
    activated: int  # monitors that became active this cycle
    probed: int  # probes that finished, each a check (success + fail)
    success: int
    fail: int
    stored: int  # checks written to the store
    duration_s: float
    last_start_s: float  # seconds from the cycle's start to the start of its last probe
    planned: int | None = None  # URLs the cycle set out to probe (None: as many as probed)
    lost: int = 0  # checks the store did not take (database down past WRITE_RETRY_SECONDS)
    lost_why: str | None = None  # the last error of the write that gave up
    stopped: bool = False  # asked to stop (SIGTERM) before every URL was probed
    abandoned: int = 0  # probes in flight when the grace period ended, so with no check
    # the probes by status and cause, with their latencies: what the cycle adds to the metrics
    tally: ProbeTally = field(default_factory=ProbeTally, compare=False, repr=False)

    def line(self) -> str:
        planned = self.probed if self.planned is None else self.planned
        if self.stopped:
            head = f"cycle stopped: {self.probed} of {planned} URLs probed"
        else:
            head = f"cycle done: {self.probed} URLs probed"
        text = (
            f"{head}, {self.success} success, {self.fail} fail,"
            f" {self.stored} checks stored, {self.activated} new monitors, {self.duration_s:.1f} s,"
            f" last probe started after {self.last_start_s:.1f} s"
        )
        if self.abandoned:
            text += f"; {self.abandoned} probes abandoned after the grace period"
        if self.lost:
            text += f"; {self.lost} checks LOST: {self.lost_why}"
        return text
