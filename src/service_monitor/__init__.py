"""service-monitor: probes many URLs on a schedule and serves which of them succeed and fail most."""

__version__ = "0.1.0"
