"""Through the real store, on both backends: random outcomes of several monitors' checks, with random
thresholds, fed to add_checks in random batch sizes, open and resolve exactly the incidents a
brute-force reading of each monitor's sequence finds, and queue one DOWN and one RESOLVED per
incident on the default channel."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_monitor.alerts import NotificationKind, Thresholds
from service_monitor.models import Check
from service_monitor.storage import Storage
from tests.storage.alerting import NOW, bad, channel, ok
from tests.storage.test_windows_exact import backend, empty_store, run

__all__ = ["backend"]  # the fixture naming each backend, shared with test_windows_exact


def brute_force_incidents(
    outcomes: list[bool], thresholds: Thresholds
) -> list[tuple[int, int, int | None]]:
    """(first failure, threshold reached, recovered or None) per incident, by reading windows of
    the sequence: down when the last `failure` checks all failed and it was not down; back up when
    the last `success` checks all worked and it was down. No counters."""
    found: list[tuple[int, int, int | None]] = []
    down = False
    for i in range(len(outcomes)):
        last_f = outcomes[max(0, i - thresholds.failure + 1) : i + 1]
        last_s = outcomes[max(0, i - thresholds.success + 1) : i + 1]
        if not down and len(last_f) == thresholds.failure and not any(last_f):
            start = i
            while start > 0 and not outcomes[start - 1]:
                start -= 1
            found.append((start, i, None))
            down = True
        elif down and len(last_s) == thresholds.success and all(last_s):
            start, opened, _ = found[-1]
            found[-1] = (start, opened, i)
            down = False
    return found


@dataclass(frozen=True)
class Scenario:
    sequences: list[list[bool]]  # per monitor: True a success
    thresholds: list[Thresholds | None]  # per monitor: its own, or the defaults
    defaults: Thresholds
    batch_sizes: list[int]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    monitors = draw(st.integers(1, 3))
    thresholds_st = st.builds(Thresholds, st.integers(1, 4), st.integers(1, 4))
    return Scenario(
        sequences=[draw(st.lists(st.booleans(), max_size=25)) for _ in range(monitors)],
        thresholds=[draw(st.none() | thresholds_st) for _ in range(monitors)],
        defaults=draw(thresholds_st),
        batch_sizes=draw(st.lists(st.integers(1, 12), min_size=1, max_size=8)),
    )


async def play(storage: Storage, scenario: Scenario) -> None:
    storage.default_thresholds = scenario.defaults
    ops = await channel(storage, "ops", is_default=True)
    ids = []
    for index, own in enumerate(scenario.thresholds):
        monitor = await storage.add_monitor(f"m{index}", f"http://m{index}.example.com", NOW)
        if own is not None:
            await storage.set_thresholds(monitor.id, own.failure, own.success)
        ids.append(monitor.id)
    # The monitors' checks interleaved in time, as a cycle makes them: check i at NOW + i minutes.
    checks: list[Check] = [
        (ok if worked else bad)(monitor_id, NOW + 60 * i + position)
        for position, (monitor_id, sequence) in enumerate(zip(ids, scenario.sequences, strict=True))
        for i, worked in enumerate(sequence)
    ]
    checks.sort(key=lambda c: c.checked_at)
    sizes = scenario.batch_sizes
    start = 0
    while start < len(checks):
        size = sizes[start % len(sizes)]
        await storage.add_checks(checks[start : start + size])
        start += size
    # A replay of the whole lot moves nothing more.
    await storage.add_checks(checks)
    incidents, _ = await storage.incidents(open_only=False, limit=1000, offset=0)
    notifications, _ = await storage.notifications(limit=1000, offset=0)
    for position, (monitor_id, sequence, own) in enumerate(
        zip(ids, scenario.sequences, scenario.thresholds, strict=True)
    ):
        at = [NOW + 60 * i + position for i in range(len(sequence))]
        expected = [
            (at[start], at[opened], None if closed is None else at[closed])
            for start, opened, closed in brute_force_incidents(sequence, own or scenario.defaults)
        ]
        mine = sorted((i for i in incidents if i.monitor_id == monitor_id), key=lambda i: i.id)
        assert [(i.started_at, i.opened_at, i.resolved_at) for i in mine] == expected
        told = sorted(
            (n.incident_id, n.kind.value)
            for n in notifications
            if n.monitor_id == monitor_id and n.channel_id == ops.id
        )
        assert told == sorted(
            [(i.id, NotificationKind.DOWN.value) for i in mine]
            + [(i.id, NotificationKind.RESOLVED.value) for i in mine if not i.is_open]
        )


async def play_on(backend: str, scenario: Scenario) -> None:
    async with empty_store(backend) as storage:
        await play(storage, scenario)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_random_check_outcomes_in_random_batches_open_and_resolve_the_incidents_a_brute_force_reading_finds(
    backend: str, scenario: Scenario
) -> None:
    run(play_on(backend, scenario))
