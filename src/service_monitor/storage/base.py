"""What the mixins of SQLStorage (health, channels, maintenance windows, outbox) build on, so each
lives in a module of its own without importing sql.py: the backend's primitives and the dialect
statements they need."""

from __future__ import annotations

import abc
import contextlib

from ..alerts import Thresholds
from ..models import DEFAULT_REGION
from .statements import Statements, Transaction


class SQLBase(Statements, abc.ABC):
    """A backend's primitives (fetch, execute, transactions) and dialect statements."""

    # Appended to a SELECT that must lock the rows it reads until the transaction ends (MySQL's
    # FOR UPDATE); empty where a transaction already holds the whole database (SQLite).
    FOR_UPDATE: str
    # What the driver raises when a statement would break a unique key.
    DUPLICATE_KEY_ERRORS: tuple[type[Exception], ...]
    # Insert a notification unless one with its dedup_key exists (rowcount 0 then); only that
    # conflict is ignored, never another error. Params (dedup_key, kind, channel_id, incident_id,
    # monitor_id, state, created_at, next_attempt_at, body).
    INSERT_NOTIFICATION_IF_ABSENT: str
    # Insert or overwrite a monitor's health row. Params (monitor_id, health, failures, successes,
    # since, incident_id, first_failure_at, first_cause, first_detail, checked_at).
    UPSERT_HEALTH: str
    # Appended to the outbox's claiming SELECT: skip rows another claimer has locked (MySQL's FOR
    # UPDATE SKIP LOCKED); empty for SQLite, whose write transaction holds the whole database.
    FOR_UPDATE_SKIP_LOCKED: str

    # Insert or overwrite one region's streak of a monitor. Params (monitor_id, region, health,
    # failures, successes, checked_at).
    UPSERT_REGION_HEALTH: str

    # The Settings' thresholds (open_storage sets them), for monitors that set none.
    default_thresholds: Thresholds = Thresholds()
    # The Settings' REGIONS (open_storage sets them), for monitors that name none.
    default_regions: tuple[str, ...] = (DEFAULT_REGION,)
    # The Settings' CYCLE_INTERVAL in seconds (open_storage sets it), for monitors that set none.
    default_interval_s: int = 600

    def _is_deadlock(self, error: BaseException) -> bool:
        """Whether `error` (or what it was raised from) is the server giving up a transaction
        that deadlocked with another: rolled back whole, it may simply be run again."""
        return False

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """Statements run through the yielded Transaction commit together when the block ends, or
        roll back together when it raises."""


def marks(count: int) -> str:
    """`?, ?, ...` for an IN list of `count` values."""
    return ", ".join("?" * count)


def chunks(values: list[int], size: int = 500) -> list[list[int]]:
    """`values` in bounded IN lists."""
    return [values[start : start + size] for start in range(0, len(values), size)]


__all__ = ["SQLBase", "chunks", "marks"]
