"""The planner's queue of new URLs, empty: for tests that add their monitors to the store
directly, with nothing queued by the API."""

from __future__ import annotations

from collections.abc import Sequence


class NoIntake:
    async def push(self, monitor_id: int) -> None:
        return None

    async def claim(self, limit: int) -> list[int]:
        return []

    async def ack(self, monitor_ids: Sequence[int]) -> None:
        return None

    async def depth(self) -> int:
        return 0
