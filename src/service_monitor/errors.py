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


class TargetRefused(ServiceMonitorError):
    """The SSRF guard will not probe this target: not http(s), or an internal address."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"{target!r} is refused: {reason}")
        self.target = target
        self.reason = reason
