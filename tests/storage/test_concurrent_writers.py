"""Several workers storing checks at once, on every backend: batches of monitors new to the health
table, written concurrently, are all stored and judged (MySQL's deadlock on the gap their health
rows go in is run again, not lost)."""

from __future__ import annotations

import asyncio

from service_monitor.alerts import Health
from service_monitor.models import Check, Status
from service_monitor.storage import Storage

NOW = 1_800_000_000.0


async def test_concurrent_batches_of_new_monitors_are_all_stored_and_judged(
    storage: Storage,
) -> None:
    ids = []
    for n in range(160):
        ids.append((await storage.add_monitor(f"m{n}", f"http://m{n}.example", NOW)).id)
    await storage.activate()

    async def writer(part: list[int]) -> None:
        for start in range(0, len(part), 5):
            await storage.add_checks(
                [
                    Check(m, NOW + i, Status.SUCCESS, 200, 5, due_at_ms=int(NOW * 1000) + i)
                    for m in part[start : start + 5]
                    for i in range(2)
                ]
            )

    # Interleaved ids, so every writer's new health rows fall in the same gaps.
    await asyncio.gather(*(writer(ids[w::8]) for w in range(8)))
    health = await storage.monitor_health(ids)
    assert {h.health for h in health.values()} == {Health.UP}
    assert len(health) == len(ids)
    for monitor_id in ids[:20]:
        assert len(await storage.recent_checks(monitor_id, 10)) == 2
