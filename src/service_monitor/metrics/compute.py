"""What a compute cycle reports for metrics: its counts, added after each cycle to counters in the
cache (SharedCounters), because the process that ran the cycle is gone when the API is scraped.

A counter's name encodes its metric and labels (`probes|fail|connect`); only names built from the
fixed vocabulary here are ever written or read back, so the label values stay bounded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from ..cache import SharedCounters
from ..models import Cause, Check, CycleOutcome, Status

log = logging.getLogger(__name__)

# Upper bounds (seconds) of the probe-latency buckets: TIMEOUT is 10 s by default, 30 s at most in
# practice; a probe that timed out lands at its TIMEOUT.
PROBE_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Upper bounds (seconds) of the cycle-duration buckets, around the 600 s CYCLE_INTERVAL.
CYCLE_DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)

_SEP = "|"
_NO_CAUSE = "none"  # the cause label of a success


class ProbeTally:
    """One cycle's probes, counted by status and cause, with their latencies in the fixed buckets,
    and how many of the successes were degraded."""

    def __init__(self) -> None:
        self.by_result: Counter[tuple[Status, str]] = Counter()
        self.degraded = 0  # successes slower than their monitor's degraded_after_ms
        self.latency_buckets: dict[Status, list[int]] = {
            s: [0] * len(PROBE_LATENCY_BUCKETS) for s in Status
        }
        self.latency_sum_ms: Counter[Status] = Counter()

    def add(self, check: Check) -> None:
        cause = check.cause.value if check.cause is not None else _NO_CAUSE
        self.by_result[check.status, cause] += 1
        if check.degraded:
            self.degraded += 1
        self.latency_sum_ms[check.status] += check.latency_ms
        seconds = check.latency_ms / 1000
        buckets = self.latency_buckets[check.status]
        for index, bound in enumerate(PROBE_LATENCY_BUCKETS):
            if seconds <= bound:
                buckets[index] += 1  # cumulative, as Prometheus buckets are

    def counted(self, status: Status) -> int:
        return sum(n for (s, _), n in self.by_result.items() if s is status)


def cycle_increments(
    tally: ProbeTally, *, outcome: CycleOutcome, duration_s: float, stored: int, lost: int
) -> dict[str, float]:
    """The counters one finished cycle adds to."""
    increments: dict[str, float] = {}
    for (status, cause), count in tally.by_result.items():
        increments[_SEP.join(("probes", status.value, cause))] = count
    if tally.degraded:
        increments["probes_degraded"] = tally.degraded
    for status in Status:
        count = tally.counted(status)
        if not count:
            continue
        increments[_SEP.join(("probe_latency_count", status.value))] = count
        increments[_SEP.join(("probe_latency_sum", status.value))] = (
            tally.latency_sum_ms[status] / 1000
        )
        for bound, in_bucket in zip(
            PROBE_LATENCY_BUCKETS, tally.latency_buckets[status], strict=True
        ):
            if in_bucket:
                increments[_SEP.join(("probe_latency_bucket", status.value, _le(bound)))] = (
                    in_bucket
                )
    increments[_SEP.join(("cycle_duration_count", outcome.value))] = 1
    increments[_SEP.join(("cycle_duration_sum", outcome.value))] = duration_s
    for bound in CYCLE_DURATION_BUCKETS:
        if duration_s <= bound:
            increments[_SEP.join(("cycle_duration_bucket", outcome.value, _le(bound)))] = 1
    if stored:
        increments["checks_stored"] = stored
    if lost:
        increments["checks_lost"] = lost
    return increments


async def publish_cycle(counters: SharedCounters, increments: dict[str, float]) -> bool:
    """Add a cycle's counts to the shared counters; a failure is logged, never raised: metrics
    must not fail the cycle. True when they were added."""
    try:
        await counters.add_counters(increments)
    except Exception as exc:
        log.warning("cycle metrics not recorded: %s", exc)
        return False
    return True


def _le(bound: float) -> str:
    return repr(float(bound))


# Label values accepted when reading back: anything else in the shared place is ignored.
_STATUSES = {s.value for s in Status}
_CAUSES = {c.value for c in Cause} | {_NO_CAUSE}
_OUTCOMES = {o.value for o in CycleOutcome}


def compute_families(counters: dict[str, float]) -> Iterator[Metric]:
    """The compute's metric families, from the shared counters read at scrape time."""
    probes = CounterMetricFamily(
        "service_monitor_probes",
        "URLs probed by the compute, by result status and failure cause (none for a success).",
        labels=["status", "cause"],
    )
    for name, value in sorted(counters.items()):
        parts = name.split(_SEP)
        known = len(parts) == 3 and parts[1] in _STATUSES and parts[2] in _CAUSES
        if known and parts[0] == "probes":
            probes.add_metric(parts[1:], value)
    yield probes
    yield _histogram(
        counters,
        "probe_latency",
        "service_monitor_probe_latency_seconds",
        "Seconds a probe took (DNS, connect, headers and body), by result status.",
        "status",
        sorted(_STATUSES),
        PROBE_LATENCY_BUCKETS,
    )
    yield _histogram(
        counters,
        "cycle_duration",
        "service_monitor_cycle_duration_seconds",
        "Seconds a compute cycle took from taking in new URLs to its last check stored, by"
        " outcome (skipped cycles are not observed).",
        "outcome",
        sorted(_OUTCOMES),
        CYCLE_DURATION_BUCKETS,
    )
    for name, help_text in (
        (
            "probes_degraded",
            "Successful probes slower than their monitor's degraded_after_ms; each is also"
            ' counted in service_monitor_probes_total{status="success"}.',
        ),
        ("checks_stored", "Checks the compute wrote to the store."),
        ("checks_lost", "Checks the store did not take (database down past WRITE_RETRY_SECONDS)."),
    ):
        family = CounterMetricFamily(f"service_monitor_{name}", help_text)
        family.add_metric([], counters.get(name, 0.0))
        yield family


def _histogram(
    counters: dict[str, float],
    key: str,
    name: str,
    help_text: str,
    label: str,
    values: list[str],
    bounds: tuple[float, ...],
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, help_text, labels=[label])
    for value in values:
        count = counters.get(_SEP.join((f"{key}_count", value)))
        if count is None:
            continue  # never observed: no series, rather than a row of zeros
        buckets = [
            (_le(b), counters.get(_SEP.join((f"{key}_bucket", value, _le(b))), 0.0)) for b in bounds
        ]
        buckets.append(("+Inf", count))
        family.add_metric(
            [value], buckets, sum_value=counters.get(_SEP.join((f"{key}_sum", value)), 0.0)
        )
    return family
