"""Retries: 10 s doubling to an hour with full jitter, the last attempt at the deadline, then none."""

from __future__ import annotations

import random

from service_monitor.alerting.backoff import backoff_ceiling, next_attempt


def test_the_ceiling_doubles_from_ten_seconds_and_stops_at_an_hour() -> None:
    assert [backoff_ceiling(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_ceiling(9) == 2560
    assert backoff_ceiling(10) == 3600
    assert backoff_ceiling(1000) == 3600


def test_each_wait_is_drawn_between_zero_and_the_ceiling() -> None:
    rng = random.Random(1)
    waits = [next_attempt(3, 0.0, 100.0, 24, rng) for _ in range(500)]
    assert all(w is not None and 100.0 <= w <= 140.0 for w in waits)
    assert max(w for w in waits if w) - min(w for w in waits if w) > 30  # jittered, not fixed


def test_the_last_attempt_is_at_the_deadline_and_after_it_the_row_is_given_up() -> None:
    hours = 24
    deadline = hours * 3600.0
    assert next_attempt(20, 0.0, deadline - 5, hours, random.Random(2)) is not None
    assert next_attempt(20, 0.0, deadline - 5, hours, random.Random(2)) <= deadline  # type: ignore[operator]
    assert next_attempt(21, 0.0, deadline, hours, random.Random(2)) is None
