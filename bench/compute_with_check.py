"""The compute's real entry point with one check spec on every target, for the assertion mix of
bench/bench_compute.py on a store that does not keep checks yet.

The spec (JSON, CheckSpec's form) is read from SPEC_FILE and parsed once; every Target the store
hands the cycle then carries that one object, which is how a store that keeps checks hands them too
(each distinct stored spec parsed once per cycle, the object shared). The rest is the unchanged
`python -m service_monitor.compute.scheduler`: same cycle, same sinks, same store writes.

    python bench/compute_with_check.py SPEC_FILE [compute arguments...]
"""

from __future__ import annotations

import sys
from pathlib import Path

from service_monitor.check_spec import CheckSpec
from service_monitor.compute import cli
from service_monitor.models import Target
from service_monitor.storage.sql import SQLStorage


def main() -> int:
    spec = CheckSpec.model_validate_json(Path(sys.argv[1]).read_text())
    stored_targets = SQLStorage.targets

    async def targets(self: SQLStorage) -> list[Target]:
        return [Target(t.monitor_id, t.url, spec) for t in await stored_targets(self)]

    SQLStorage.targets = targets  # type: ignore[method-assign]
    return cli.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
