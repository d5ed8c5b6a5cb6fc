"""alerts.advance, the one rule that moves a monitor's health: a property test against a brute-force
reading of the whole sequence, and the edges pinned by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service_monitor.alerts import (
    MAX_THRESHOLD,
    Health,
    Streak,
    Thresholds,
    Transition,
    advance,
)
from service_monitor.models import Status


def brute_force(
    outcomes: list[bool], thresholds: Thresholds
) -> list[tuple[Health, Transition | None]]:
    """The health after each check and its transition, from the windows of the sequence alone:
    down once the last `failure` checks failed, up once the last `success` worked; a move from
    down to up, or to down from anything else, is a transition."""
    health, answer = Health.UNKNOWN, []
    for i in range(len(outcomes)):
        last_f = outcomes[max(0, i - thresholds.failure + 1) : i + 1]
        last_s = outcomes[max(0, i - thresholds.success + 1) : i + 1]
        moved = None
        if len(last_f) == thresholds.failure and not any(last_f) and health is not Health.DOWN:
            health, moved = Health.DOWN, Transition.DOWN
        elif len(last_s) == thresholds.success and all(last_s) and health is not Health.UP:
            moved = Transition.UP if health is Health.DOWN else None
            health = Health.UP
        answer.append((health, moved))
    return answer


@given(
    outcomes=st.lists(st.booleans(), max_size=60),
    failure=st.integers(1, 6),
    success=st.integers(1, 6),
)
def test_advance_gives_the_healths_and_transitions_a_brute_force_reading_gives(
    outcomes: list[bool], failure: int, success: int
) -> None:
    thresholds = Thresholds(failure, success)
    streak, got = Streak(), []
    for worked in outcomes:
        streak, moved = advance(streak, Status.SUCCESS if worked else Status.FAIL, thresholds)
        assert streak.failures == 0 or streak.successes == 0
        assert streak.failures <= failure
        assert streak.successes <= success
        got.append((streak.health, moved))
    assert got == brute_force(outcomes, thresholds)


def test_a_new_monitor_that_works_becomes_up_without_a_transition() -> None:
    streak, moved = advance(Streak(), Status.SUCCESS, Thresholds(3, 1))
    assert (streak.health, moved) == (Health.UP, None)


def test_thresholds_outside_one_to_the_maximum_are_refused() -> None:
    with pytest.raises(ValueError, match="failure threshold 0"):
        Thresholds(0, 1)
    with pytest.raises(ValueError, match=f"success threshold {MAX_THRESHOLD + 1}"):
        Thresholds(1, MAX_THRESHOLD + 1)
