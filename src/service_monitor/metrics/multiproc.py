"""Prepares PROMETHEUS_MULTIPROC_DIR before `service-monitor api --workers N` starts its workers,
so each worker writes its request metrics there and any worker's /metrics shows them all merged.

prometheus_client picks its multiprocess mode when it is first imported, from this variable: it must
be set before the workers start, and left empty of a previous run's files, which would otherwise be
added to this run's counts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def worker_metrics_dir(workers: int) -> Iterator[Path | None]:
    """With PROMETHEUS_MULTIPROC_DIR set: empty that directory of metric files (making it if
    missing). Unset, with more than one worker: set it to a fresh directory, removed at the end.
    Yields the directory, or None for a single process without it (the default registry)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield path
        return
    if workers <= 1:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="service-monitor-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
