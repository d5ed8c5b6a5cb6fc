"""The `service-monitor fleet` command: each region's shard stream, the dead letters and the
planner's newest slots, from the API, as tables or JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING

from .output import _console
from .session import _run

if TYPE_CHECKING:
    from ..client import ApiClient, Fleet


def _fleet(args: argparse.Namespace) -> int:
    return _run(args, lambda api: _show_fleet(api, args))


async def _show_fleet(api: ApiClient, args: argparse.Namespace) -> int:
    fleet = await api.fleet(limit=args.limit)
    if args.json:
        print(json.dumps(dataclasses.asdict(fleet), ensure_ascii=False, indent=2))
    else:
        _print_fleet(fleet)
    return 0


def _print_fleet(fleet: Fleet) -> None:
    from rich.table import Table

    console = _console()
    if fleet.streams is None:
        console.print(
            "No shard streams: the API has no Redis (the embedded default probes in one process)."
        )
    else:
        streams = Table(title="Shard streams", title_justify="left")
        for column in ("region", "length", "lag", "pending"):
            streams.add_column(column, justify="left" if column == "region" else "right")
        for stream in fleet.streams:
            streams.add_row(stream.region, str(stream.length), str(stream.lag), str(stream.pending))
        console.print(streams)
        console.print(f"dead letters: {fleet.dead_letters}")
    counts = ", ".join(f"{state} {count}" for state, count in fleet.slots.items())
    console.print(f"slots: {counts}")
    slots = Table(title="Newest slots", title_justify="left")
    for column in ("slot", "state", "monitors", "shards", "finished"):
        slots.add_column(column)
    for slot in fleet.recent_slots:
        slots.add_row(
            slot.slot,
            slot.state,
            str(slot.monitors),
            str(slot.shards),
            slot.finished_at or "",
        )
    console.print(slots)
