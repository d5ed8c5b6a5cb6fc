"""The errors the service raises on purpose; each names the thing and the value, the API maps them to HTTP."""

from __future__ import annotations


class ServiceMonitorError(Exception):
    """Base of every error raised on purpose."""


class SettingsError(ServiceMonitorError):
    """A setting has a value the service cannot use; the message is one line for the operator."""


class MonitorNotFound(ServiceMonitorError):
    def __init__(self, monitor_id: int) -> None:
        super().__init__(f"monitor {monitor_id} not found")
        self.monitor_id = monitor_id


class DuplicateURL(ServiceMonitorError):
    def __init__(self, url: str, existing_id: int, *, same_check: bool = False) -> None:
        # same_check: said when the check is not the default, where one URL may have several.
        what = "with the same check " if same_check else ""
        super().__init__(f"url {url!r} is already monitored {what}as monitor {existing_id}")
        self.url = url
        self.existing_id = existing_id


class Unavailable(ServiceMonitorError):
    """A backend (the database or the cache) cannot be reached or did not answer in time."""

    component = "backend"


class StorageUnavailable(Unavailable):
    component = "database"


class CacheUnavailable(Unavailable):
    component = "cache"


class QueueUnavailable(Unavailable):
    """The queue of shards (Redis Streams) cannot be reached or did not answer in time."""

    component = "shard queue"


class TargetRefused(ServiceMonitorError):
    """The SSRF guard will not probe this target: not http(s), or an internal address."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"{target!r} is refused: {reason}")
        self.target = target
        self.reason = reason


class IncidentNotFound(ServiceMonitorError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"incident {incident_id} not found")
        self.incident_id = incident_id


class ChannelNotFound(ServiceMonitorError):
    def __init__(self, channel: int | str) -> None:
        super().__init__(f"channel {channel!r} not found")
        self.channel = channel


class DuplicateChannel(ServiceMonitorError):
    def __init__(self, name: str, existing_id: int) -> None:
        super().__init__(f"channel name {name!r} is already used by channel {existing_id}")
        self.name = name
        self.existing_id = existing_id


class ChannelInUse(ServiceMonitorError):
    """A channel that monitors name cannot be deleted until they stop naming it."""

    def __init__(self, channel_id: int, monitors: int) -> None:
        super().__init__(f"channel {channel_id} is named by {monitors} monitor(s)")
        self.channel_id = channel_id
        self.monitors = monitors


class WindowNotFound(ServiceMonitorError):
    def __init__(self, window_id: int) -> None:
        super().__init__(f"maintenance window {window_id} not found")
        self.window_id = window_id


class SealingUnavailable(ServiceMonitorError):
    """No CHANNEL_KEYS to seal a channel's target with, or none that opens a stored one."""
