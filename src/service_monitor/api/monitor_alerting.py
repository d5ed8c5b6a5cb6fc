"""What alerting adds to a monitor in the API (its health, thresholds and channels), read for a
whole page at once, and the channels a POST or PATCH names resolved to ids, so `/urls` and the
overview show and take them alike."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError

from ..alerts import Channel, Health, MonitorHealth
from ..errors import MonitorNotFound
from ..services import Services
from .schemas import MonitorAlerting, ThresholdsOut


def _unknown(monitor_id: int) -> MonitorHealth:
    return MonitorHealth(monitor_id, Health.UNKNOWN, 0, 0, None, None)


async def alerting_of(services: Services, monitor_ids: Sequence[int]) -> dict[int, MonitorAlerting]:
    """Each monitor's health, own and effective thresholds, and the names of its channels."""
    if not monitor_ids:
        return {}
    health_store = services.health
    defaults = health_store.default_thresholds

    async def own_thresholds(monitor_id: int) -> tuple[int | None, int | None]:
        try:
            return await health_store.thresholds(monitor_id)
        except MonitorNotFound:  # deleted since the page was read: shown as it was, defaults
            return None, None

    channels = await services.channels.list_channels()
    # One query a monitor for its thresholds and channels (the store reads them one monitor at a
    # time); with no channel at all, no monitor names one and those queries are skipped.
    no_channels: list[list[int]] = [[] for _ in monitor_ids]
    healths, thresholds, named = await asyncio.gather(
        health_store.monitor_health(monitor_ids),
        asyncio.gather(*(own_thresholds(i) for i in monitor_ids)),
        asyncio.gather(*(services.channels.monitor_channels(i) for i in monitor_ids))
        if channels
        else _ready(no_channels),
    )
    names = {channel.id: channel.name for channel in channels}
    found: dict[int, MonitorAlerting] = {}
    for monitor_id, (failure, success), channel_ids in zip(
        monitor_ids, thresholds, named, strict=True
    ):
        found[monitor_id] = MonitorAlerting(
            health=healths.get(monitor_id) or _unknown(monitor_id),
            failure_threshold=failure,
            success_threshold=success,
            effective=ThresholdsOut(
                failure=defaults.failure if failure is None else failure,
                success=defaults.success if success is None else success,
            ),
            channels=[names[i] for i in channel_ids if i in names],
        )
    return found


async def _ready(value: list[list[int]]) -> list[list[int]]:
    return value


async def monitor_alerting(services: Services, monitor_id: int) -> MonitorAlerting:
    return (await alerting_of(services, [monitor_id]))[monitor_id]


def channel_ids(channels: Sequence[Channel], refs: Sequence[int | str]) -> list[int]:
    """The ids of the channels `refs` names (an int is an id, a text a name), in order, each
    once; a 422 on `channels` naming every one that does not exist."""
    by_id = {channel.id: channel for channel in channels}
    by_name = {channel.name: channel for channel in channels}
    ids: list[int] = []
    errors = []
    for index, ref in enumerate(refs):
        channel = by_id.get(ref) if isinstance(ref, int) else by_name.get(ref)
        if channel is None:
            errors.append(
                {
                    "loc": ("body", "channels", index),
                    "msg": f"unknown channel {ref!r}",
                    "type": "channel_not_found",
                }
            )
        elif channel.id not in ids:
            ids.append(channel.id)
    if errors:
        raise RequestValidationError(errors)
    return ids


def channel_names(channels: Sequence[Channel], ids: Sequence[int]) -> list[str]:
    names = {channel.id: channel.name for channel in channels}
    return [names[i] for i in ids if i in names]
