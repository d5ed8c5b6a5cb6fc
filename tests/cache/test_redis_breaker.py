"""The Redis breaker's rules on a clock the test moves: skip a failed Redis for CACHE_RETRY_AFTER
seconds, then let one call (and only one) find out whether it is back."""

from __future__ import annotations

import pytest

from service_monitor.cache.redis import Breaker
from service_monitor.errors import CacheUnavailable
from tests.conftest import FakeClock

WALL = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.fixture
def breaker(clock: FakeClock) -> Breaker:
    return Breaker("redis.example:6379", 5.0, clock=clock, wall=lambda: WALL + clock.now)


def test_a_healthy_cache_lets_every_call_through(breaker: Breaker) -> None:
    assert breaker.admit() is False  # not a trial: nothing is wrong
    breaker.answered(trial=False)
    assert breaker.admit() is False


def test_after_a_failure_calls_fail_at_once_saying_since_when_and_when_it_is_retried(
    breaker: Breaker, clock: FakeClock
) -> None:
    clock.now = 0.0
    breaker.failed(TimeoutError(), trial=False)
    clock.advance(2.0)
    with pytest.raises(CacheUnavailable) as raised:
        breaker.admit()
    assert str(raised.value) == (
        "cache redis.example:6379 down since 08:00:00Z (TimeoutError);"
        " skipped for CACHE_RETRY_AFTER=5 s, retried at 08:00:05Z (in 3.0 s)"
    )


def test_once_the_period_is_over_one_call_tries_while_the_others_still_skip(
    breaker: Breaker, clock: FakeClock
) -> None:
    breaker.failed(ConnectionError("refused"), trial=False)
    clock.advance(5.0)
    assert breaker.admit() is True  # the trial
    with pytest.raises(CacheUnavailable, match="being retried now"):
        breaker.admit()  # a concurrent call does not pile onto a server that may hang

    breaker.failed(TimeoutError(), trial=True)  # still down: another period
    clock.advance(4.9)
    with pytest.raises(CacheUnavailable):
        breaker.admit()
    clock.advance(0.1)
    assert breaker.admit() is True
    breaker.answered(trial=True)  # back
    assert not breaker.is_open
    assert breaker.admit() is False


def test_a_trial_cancelled_before_it_knew_lets_the_next_call_try(
    breaker: Breaker, clock: FakeClock
) -> None:
    breaker.failed(TimeoutError(), trial=False)
    clock.advance(5.0)
    assert breaker.admit() is True
    breaker.abandoned(trial=True)
    assert breaker.admit() is True
