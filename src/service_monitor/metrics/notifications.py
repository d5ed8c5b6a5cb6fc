"""The counter of notification sends, service_monitor_notifications_total{channel_type,result}:
kept by whichever process runs the dispatcher (alerting/dispatcher.py), in prometheus_client's
default registry. An API process (and `serve`) shows it on /metrics, merged across workers under
PROMETHEUS_MULTIPROC_DIR like the request metrics; `service-monitor dispatch --metrics-port`
serves its own.

Made on first use, not at import, and with every label pair at zero, so a scrape shows the series
before the first send.
"""

from __future__ import annotations

from prometheus_client import Counter

from ..alerts import ChannelType

RESULTS = ("sent", "retry", "failed")  # sent; not sent, tried again later; given up

_counter: Counter | None = None


def notifications_counter() -> Counter:
    global _counter
    if _counter is None:
        _counter = Counter(
            "service_monitor_notifications",
            "Notification sends by channel type and result: sent, retry (not sent, tried again"
            " later with backoff) or failed (given up after NOTIFY_RETRY_HOURS, or refused).",
            ["channel_type", "result"],
        )
        for channel_type in ChannelType:
            for result in RESULTS:
                _counter.labels(channel_type.value, result)
    return _counter


def count_send(channel_type: ChannelType, result: str) -> None:
    notifications_counter().labels(channel_type.value, result).inc()
