"""Where the compute's SSRF hooks used to live: they moved to `http_guard.py`, shared with the
alerting's senders, and are re-exported here so the compute's imports stay as they were."""

from __future__ import annotations

from ..http_guard import GuardedConnector, GuardedResolver, refuse_literal_hosts

__all__ = ["GuardedConnector", "GuardedResolver", "refuse_literal_hosts"]
