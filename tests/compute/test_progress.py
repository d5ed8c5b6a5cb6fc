"""Progress of a long cycle: a line every tenth, with rate and ETA, and one warning before an overrun."""

from __future__ import annotations

import logging

import pytest

from service_monitor.compute.progress import PROGRESS_AFTER_S, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(total: int, interval: float, seconds_per_probe: float) -> None:
    """Finish `total` probes, one every `seconds_per_probe` on a clock moved by hand."""
    clock = Clock()
    progress = Progress(total, interval, clock=clock, started=clock.now)
    for _ in range(total):
        clock.now += seconds_per_probe
        progress.done_one()


def test_a_long_cycle_reports_every_tenth_with_rate_and_eta(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    run(1000, 600, 0.125)  # 8 probes/s: 125 s in all
    lines = [r.getMessage() for r in caplog.records if "cycle progress" in r.getMessage()]
    # 10% comes after 12.5 s, before PROGRESS_AFTER_S: not worth a line; 100% is "cycle done".
    assert PROGRESS_AFTER_S == 20
    assert [line.split("%")[0].split()[-1] for line in lines] == [str(10 * t) for t in range(2, 10)]
    assert lines[0] == "cycle progress: 20% (200 of 1000 URLs), 8 URLs/s, ETA 100 s"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_short_cycle_says_nothing_until_done(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    run(7, 600, 0.5)
    assert caplog.records == []


def test_a_cycle_that_will_overrun_is_warned_about_once_early(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    run(1000, 60, 0.1)  # 100 s for a 60 s interval
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "cycle will overrun its 60 s interval: 100 of 1000 URLs done after 10 s, ETA 90 s more;"
        " raise CONCURRENCY or CYCLE_INTERVAL"
    ]
