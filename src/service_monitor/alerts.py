"""The vocabulary of alerting: a monitor's health, the incidents it opens, the channels that are told
and the notifications queued for them, plus the one rule (`advance`) that moves a health along a
check; the store, the dispatcher, the API and the dashboard all speak these types."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .models import Cause, Status

# Times are seconds since the epoch (UTC), as everywhere in models.py.

DEFAULT_FAILURE_THRESHOLD = 3  # consecutive failed checks that make a monitor down
DEFAULT_SUCCESS_THRESHOLD = 2  # consecutive successful checks that make it up again
MAX_THRESHOLD = 100  # a threshold above it would take days at a 10-minute interval

# The causes that say "the prober could not reach the target", as opposed to "the target answered
# wrongly": when most monitors fail with these at once, the prober's own network is the suspect.
NETWORK_CAUSES = frozenset({Cause.DNS, Cause.CONNECT, Cause.TIMEOUT, Cause.TLS})


class Health(enum.StrEnum):
    """Whether a monitor is up or down; `unknown` until its checks reach a threshold."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class Transition(enum.StrEnum):
    """A move of a monitor's health that people are told about."""

    DOWN = "down"  # opens an incident
    UP = "up"  # resolves it


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How many consecutive failures make a monitor down, and successes make it up again."""

    failure: int = DEFAULT_FAILURE_THRESHOLD
    success: int = DEFAULT_SUCCESS_THRESHOLD

    def __post_init__(self) -> None:
        for name, value in (("failure", self.failure), ("success", self.success)):
            if not 1 <= value <= MAX_THRESHOLD:
                raise ValueError(f"{name} threshold {value} is not between 1 and {MAX_THRESHOLD}")


@dataclass(frozen=True, slots=True)
class Streak:
    """A monitor's health and its current run of failures or successes (one of them is 0)."""

    health: Health = Health.UNKNOWN
    failures: int = 0
    successes: int = 0


def advance(
    streak: Streak, status: Status, thresholds: Thresholds
) -> tuple[Streak, Transition | None]:
    """The streak after one more check of `status`, and the transition it makes, if any.

    O(1): a failure extends the failure run and ends the success run, and the other way round;
    a run that reaches its threshold moves the health, and a move to `down` (from up or unknown)
    or to `up` from `down` is a transition. `unknown` becomes `up` quietly: nobody is told that a
    new monitor works. Runs are capped at the threshold, so the counters stay small.
    """
    if status is Status.SUCCESS:
        successes = min(streak.successes + 1, thresholds.success)
        if successes >= thresholds.success and streak.health is not Health.UP:
            moved = Transition.UP if streak.health is Health.DOWN else None
            return Streak(Health.UP, 0, successes), moved
        return Streak(streak.health, 0, successes), None
    failures = min(streak.failures + 1, thresholds.failure)
    if failures >= thresholds.failure and streak.health is not Health.DOWN:
        return Streak(Health.DOWN, failures, 0), Transition.DOWN
    return Streak(streak.health, failures, 0), None


def quorum_down(down: int, regions: int) -> bool:
    """A monitor probed from `regions` regions is down when more than half of them are: one
    region's own network trouble is then not an incident."""
    return 2 * down > regions


# A multi-region monitor's own streak follows the regions' vote, each region having applied the
# monitor's thresholds already: one vote moves it.
VOTE_THRESHOLDS = Thresholds(failure=1, success=1)


@dataclass(frozen=True, slots=True)
class MonitorHealth:
    """What the API shows of a monitor's health: its streak, since when, and its open incident."""

    monitor_id: int
    health: Health
    failures: int
    successes: int
    since: float | None  # when the health last changed; None while unknown and never checked
    incident_id: int | None  # the open incident while down


@dataclass(frozen=True, slots=True)
class Incident:
    """A monitor's time down: opened by a move to down, resolved by the move back up."""

    id: int
    monitor_id: int
    started_at: float  # when the first of the failures that made it down was made
    opened_at: float  # when the threshold was reached (the transition)
    cause: Cause | None  # the first failure's cause and detail
    detail: str | None
    resolved_at: float | None = None
    resolution: str | None = None  # why it was resolved: "recovered", "monitor deleted", ...

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def duration(self, now: float) -> float:
        """Seconds down: to its resolution, or to `now` while open."""
        end = self.resolved_at if self.resolved_at is not None else now
        return max(0.0, end - self.started_at)


class ChannelType(enum.StrEnum):
    APPRISE = "apprise"  # any Apprise URL: slack://, mailto://, json://, ntfys://, ...
    WEBHOOK = "webhook"  # our signed webhook: JSON body, X-Signature HMAC-SHA256


@dataclass(frozen=True, slots=True)
class Channel:
    """Where notifications go. Its target (which holds tokens) is stored sealed; `target_hint` is
    what may be shown of it: the scheme and host, never the tokens."""

    id: int
    name: str
    type: ChannelType
    target_hint: str
    is_default: bool  # applies to monitors that name no channel
    send_resolved: bool  # also tell when an incident is resolved (on by default)
    resend_every: int | None  # seconds between reminders while an incident stays open; None: off
    created_at: float


@dataclass(frozen=True, slots=True)
class SealedChannel:
    """A channel as the store keeps it: the sealed (Fernet) target and webhook secret. Only the
    dispatcher and `POST /channels/{id}/test` unseal them."""

    channel: Channel
    sealed_target: bytes
    sealed_secret: bytes | None  # the webhook's HMAC key; None for Apprise channels


class NotificationKind(enum.StrEnum):
    DOWN = "down"
    RESOLVED = "resolved"
    REMINDER = "reminder"
    STORM = "storm"  # "probing is failing from here", instead of the held notifications
    DIGEST = "digest"  # many notifications in one message: a burst, or those held by a storm


class Delivery(enum.StrEnum):
    """Where a notification is in the outbox."""

    PENDING = "pending"  # to be sent when due (next_attempt_at)
    HELD = "held"  # held back by the storm guard or a maintenance window
    SENT = "sent"
    FAILED = "failed"  # retried until NOTIFY_RETRY_HOURS, then given up, with the reason
    MERGED = "merged"  # sent as part of a digest (digest_id)
    DROPPED = "dropped"  # not to be sent any more (its incident resolved while held), with why


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for one channel. `key` is its idempotency key: incident + kind + channel for
    incident messages, so a transition is queued once per channel whatever restarts or replays."""

    id: int
    key: str
    kind: NotificationKind
    channel_id: int
    incident_id: int | None  # None for a storm message or a digest
    monitor_id: int | None
    state: Delivery
    attempts: int
    created_at: float
    next_attempt_at: float
    sent_at: float | None = None
    last_error: str | None = None
    digest_id: int | None = None  # the digest that carried it, when MERGED
    body: str | None = None  # JSON of what a storm message or a digest says (their incidents)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A time when incidents are recorded but nobody is told: once (starts_at + duration) or
    recurring (a cron expression in `timezone`, each occurrence lasting `duration`)."""

    id: int
    monitor_id: int | None  # None: every monitor
    starts_at: float | None  # the one-off window's start; None for a recurring one
    cron: str | None  # e.g. "0 2 * * SUN"; None for a one-off window
    timezone: str  # IANA name, e.g. "Europe/Paris"; a cron is read in it
    duration: int  # seconds
    note: str
    created_at: float
