"""Due times: a stable offset per monitor spreads checks evenly over their interval."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service_monitor.due import SLOT_MS, due_in_slot, next_due, offset_ms, slot_of

TEN_MINUTES_MS = 600_000


def test_offsets_spread_a_thousand_monitors_within_ten_percent_per_minute() -> None:
    end = 1_800_000_000_000 - 1_800_000_000_000 % SLOT_MS
    minutes = [(next_due(i, TEN_MINUTES_MS, end) - end) // SLOT_MS for i in range(1, 1001)]
    per_minute = [minutes.count(m) for m in range(10)]
    assert min(per_minute) >= 90, per_minute
    assert max(per_minute) <= 110, per_minute


@given(
    monitor_id=st.integers(1, 2**32),
    interval_s=st.integers(60, 86_400),
    at=st.integers(0, 2**42),
)
def test_a_due_time_is_the_first_on_the_monitors_phase_at_or_after(
    monitor_id: int, interval_s: int, at: int
) -> None:
    interval = interval_s * 1000
    due = next_due(monitor_id, interval, at)
    assert at <= due < at + interval
    assert due % interval == offset_ms(monitor_id, interval)
    assert due_in_slot(monitor_id, interval, at) == due - interval
    assert slot_of(at) <= at < slot_of(at) + SLOT_MS
