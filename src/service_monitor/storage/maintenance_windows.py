"""Maintenance windows as stored (alerting/maintenance.py decides which are active, a recurring one
needing its cron): WindowStore, written once for both backends."""

from __future__ import annotations

from ..alerts import MaintenanceWindow
from ..errors import MonitorNotFound, WindowNotFound
from ..models import MonitorState
from .base import SQLBase
from .rollups import MS_PER_S, to_ms
from .statements import Row

_COLUMNS = "id, monitor_id, starts_at, cron, timezone, duration, note, created_at"


def _window(row: Row) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=int(row[0]),
        monitor_id=None if row[1] is None else int(row[1]),
        starts_at=None if row[2] is None else int(row[2]) / MS_PER_S,
        cron=row[3],
        timezone=row[4],
        duration=int(row[5]),
        note=row[6],
        created_at=int(row[7]) / MS_PER_S,
    )


class WindowSQL(SQLBase):
    """WindowStore over the backend's statements."""

    async def add_window(
        self,
        *,
        monitor_id: int | None,
        starts_at: float | None,
        cron: str | None,
        timezone: str,
        duration: int,
        note: str,
        now: float,
    ) -> MaintenanceWindow:
        if monitor_id is not None and not await self.fetch(
            "SELECT id FROM monitors WHERE id = ? AND state <> ?",
            (monitor_id, int(MonitorState.DELETED)),
        ):
            raise MonitorNotFound(monitor_id)
        starts_ms = None if starts_at is None else to_ms(starts_at)
        created = to_ms(now)
        done = await self.execute(
            "INSERT INTO maintenance_windows"
            " (monitor_id, starts_at, cron, timezone, duration, note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (monitor_id, starts_ms, cron, timezone, duration, note, created),
        )
        assert done.lastrowid is not None
        return MaintenanceWindow(
            id=int(done.lastrowid),
            monitor_id=monitor_id,
            starts_at=None if starts_ms is None else starts_ms / MS_PER_S,
            cron=cron,
            timezone=timezone,
            duration=duration,
            note=note,
            created_at=created / MS_PER_S,
        )

    async def list_windows(self, monitor_id: int | None = None) -> list[MaintenanceWindow]:
        if monitor_id is None:
            rows = await self.fetch(f"SELECT {_COLUMNS} FROM maintenance_windows ORDER BY id")
        else:
            rows = await self.fetch(
                f"SELECT {_COLUMNS} FROM maintenance_windows"
                " WHERE monitor_id = ? OR monitor_id IS NULL ORDER BY id",
                (monitor_id,),
            )
        return [_window(row) for row in rows]

    async def get_window(self, window_id: int) -> MaintenanceWindow:
        rows = await self.fetch(
            f"SELECT {_COLUMNS} FROM maintenance_windows WHERE id = ?", (window_id,)
        )
        if not rows:
            raise WindowNotFound(window_id)
        return _window(rows[0])

    async def delete_window(self, window_id: int) -> None:
        done = await self.execute("DELETE FROM maintenance_windows WHERE id = ?", (window_id,))
        if done.rowcount == 0:
            raise WindowNotFound(window_id)


__all__ = ["WindowSQL"]
