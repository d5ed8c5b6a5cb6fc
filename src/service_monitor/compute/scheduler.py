"""The seed's entry point, kept so its command still works:
`python -m src.service_monitor.compute.scheduler --run-local --data-path data/urls.csv`.
The compute's command line itself is compute/cli.py."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
