"""The storm guard's decision on the minute's figures, and bursts split into digests per channel."""

from __future__ import annotations

from service_monitor.alerting.storm import BurstCounter, NetworkFigures, StormRule
from service_monitor.alerts import Delivery, Notification, NotificationKind


def down(id: int, channel_id: int) -> Notification:
    return Notification(
        id=id,
        key=f"incident:{id}:down:channel:{channel_id}",
        kind=NotificationKind.DOWN,
        channel_id=channel_id,
        incident_id=id,
        monitor_id=id,
        state=Delivery.PENDING,
        attempts=0,
        created_at=0.0,
        next_attempt_at=0.0,
    )


def test_more_than_the_share_of_enough_monitors_failing_on_the_network_is_a_storm() -> None:
    rule = StormRule(share=0.5, min_monitors=20)
    assert rule.is_storm(NetworkFigures(30, 20))
    assert not rule.is_storm(NetworkFigures(30, 15))  # half is not more than half
    assert not rule.is_storm(NetworkFigures(19, 19))  # too few monitors to judge


def test_canaries_that_all_fail_make_a_storm_and_canaries_all_up_rule_one_out() -> None:
    rule = StormRule(share=0.5, min_monitors=20, canaries=True)
    assert rule.is_storm(NetworkFigures(5, 1, canaries_checked=2, canaries_failed=2))
    assert not rule.is_storm(NetworkFigures(100, 90, canaries_checked=2, canaries_failed=0))
    # Some canaries down: the share decides.
    assert rule.is_storm(NetworkFigures(100, 90, canaries_checked=2, canaries_failed=1))
    assert not rule.is_storm(NetworkFigures(100, 10, canaries_checked=2, canaries_failed=1))
    # Canaries configured but not checked this minute: the share decides.
    assert rule.is_storm(NetworkFigures(30, 20))


def test_canary_figures_are_ignored_when_no_canary_is_configured() -> None:
    rule = StormRule(share=0.5, min_monitors=20, canaries=False)
    assert not rule.is_storm(NetworkFigures(5, 1, canaries_checked=2, canaries_failed=2))


def test_a_minute_without_enough_checks_is_no_evidence_that_a_storm_ended() -> None:
    rule = StormRule(share=0.5, min_monitors=20)
    assert not rule.has_evidence(NetworkFigures(0, 0))
    assert rule.has_evidence(NetworkFigures(25, 1))
    assert StormRule(canaries=True).has_evidence(NetworkFigures(0, 0, 1, 0))


def test_more_rows_than_the_burst_limit_for_a_channel_go_in_one_digest() -> None:
    bursts = BurstCounter(limit=10)
    rows = [down(i, 1) for i in range(15)] + [down(100 + i, 2) for i in range(3)]
    singles, digests = bursts.split(rows, now=1000.0)
    assert [r.channel_id for r in singles] == [2, 2, 2]
    assert list(digests) == [1]
    assert len(digests[1]) == 15


def test_messages_sent_in_the_last_minute_count_towards_the_burst() -> None:
    bursts = BurstCounter(limit=10)
    bursts.count(1, now=1000.0, n=9)
    singles, digests = bursts.split([down(1, 1), down(2, 1)], now=1030.0)
    assert (singles, list(digests)) == ([], [1])
    # A minute later they no longer count.
    singles, digests = bursts.split([down(1, 1), down(2, 1)], now=1060.0)
    assert (len(singles), digests) == (2, {})


def test_a_single_row_is_never_a_digest_of_one() -> None:
    bursts = BurstCounter(limit=1)
    bursts.count(1, now=0.0, n=5)
    singles, digests = bursts.split([down(1, 1)], now=1.0)
    assert (len(singles), digests) == (1, {})
