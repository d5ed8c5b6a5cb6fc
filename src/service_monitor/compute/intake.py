"""A cycle's first step, taking the URLs the API queued into the store's active monitors, kept
apart because its durability rule (store first, acknowledge after) is its own."""

from __future__ import annotations

import logging

from ..cache import URLQueue
from ..errors import CacheUnavailable
from ..storage import MonitorStore

# The cycle's logger: its lines read as the cycle's, under the name operators already filter on.
log = logging.getLogger("service_monitor.compute.cycle")

# Ids taken from the queue per claim; a burst of POSTs larger than this drains over several claims.
CLAIM_BATCH = 1000


async def take_in_new_urls(storage: MonitorStore, queue: URLQueue) -> int:
    """Make queued monitors active, durably, before acknowledging them on the queue.

    The database already holds every accepted URL as PENDING, so a queue that lost its contents
    (a Redis restart) loses nothing: the final sweep activates whatever is still pending. For the
    same reason a queue that is down only delays its acknowledgements: the sweep takes the URLs in,
    and the ids left on the queue are taken in again (a no-op) once it is back.
    """
    activated = 0
    acked: set[int] = set()
    try:
        while True:
            claimed = await queue.claim(CLAIM_BATCH)
            fresh = [i for i in claimed if i not in acked]  # an id queued twice is taken in once
            if fresh:
                activated += await storage.activate(fresh)
            await queue.ack(claimed)
            acked.update(claimed)
            if not fresh:
                break
    except CacheUnavailable as exc:
        log.warning("new URLs taken in from the database alone, the queue is down: %s", exc)
    swept = await storage.activate(None)
    if swept:
        log.info("activated %d pending monitors that had no queue entry", swept)
    return activated + swept
