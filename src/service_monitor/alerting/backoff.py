"""When a notification that could not be sent is tried again: exponential backoff (10 s, doubling,
capped at an hour) with full jitter, so a channel back after an outage is not hit by every row at
once, until NOTIFY_RETRY_HOURS after it was queued; then it is given up (FAILED, with the reason)."""

from __future__ import annotations

import random

BASE_S = 10.0
CAP_S = 3600.0
MIN_WAIT_S = 1.0


def backoff_ceiling(attempts: int) -> float:
    """The longest wait after the `attempts`-th failed attempt (1: 10 s, 2: 20 s, ... 1 h)."""
    return min(CAP_S, BASE_S * 2.0 ** max(0, min(attempts - 1, 30)))


def next_attempt(
    attempts: int,
    created_at: float,
    now: float,
    retry_hours: float,
    rng: random.Random | None = None,
) -> float | None:
    """When to try again after the `attempts`-th failed attempt at `now`, or None to give up:
    a wait drawn uniformly from [0, ceiling] (full jitter), and at the latest the deadline,
    created_at + retry_hours, so the last attempt is made then; at or past it, None."""
    deadline = created_at + retry_hours * 3600.0
    if now >= deadline:
        return None
    # At least a second: a row retried at `now` itself would be claimed again in the same tick.
    wait = max(MIN_WAIT_S, (rng or random).uniform(0.0, backoff_ceiling(attempts)))
    return min(now + wait, deadline)
