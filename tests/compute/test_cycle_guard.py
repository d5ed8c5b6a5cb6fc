"""A compute cycle with the SSRF guard on: a refused target is stored as a `blocked` failure."""

from __future__ import annotations

import ipaddress

from service_monitor.compute.worker import Compute
from service_monitor.models import Cause, Status
from service_monitor.services import Services
from tests.targets import counting_server


async def test_a_cycle_stores_a_blocked_check_for_an_internal_target_it_never_reaches(
    services: Services,
) -> None:
    async with counting_server(delay=0.0) as (base, traffic):
        port = base.rsplit(":", 1)[1]
        rows = [("literal", f"{base}/ok"), ("name", f"http://localhost:{port}/ok")]
        await services.storage.import_monitors(rows, services.clock())
        # The deployment's settings open the guard for the other tests; this cycle closes it.
        settings = services.settings.model_copy(
            update={"ALLOW_PRIVATE_TARGETS": False, "ALLOWED_TARGET_NETWORKS": [], "TIMEOUT": 2.0}
        )
        report = await Compute(
            services.storage, services.cache, settings, clock=services.clock
        ).cycle()
    assert report is not None
    assert (report.probed, report.stored, report.success, report.fail) == (2, 2, 0, 2)
    assert traffic.requests == 0
    for target in await services.storage.targets():
        [check] = await services.storage.recent_checks(target.monitor_id, 10)
        assert (check.status, check.cause, check.http_status) == (Status.FAIL, Cause.BLOCKED, None)


async def test_a_cycle_probes_an_internal_target_the_allow_list_opens(services: Services) -> None:
    async with counting_server(delay=0.0) as (base, traffic):
        await services.storage.import_monitors([("allowed", f"{base}/ok")], services.clock())
        settings = services.settings.model_copy(
            update={
                "ALLOW_PRIVATE_TARGETS": False,
                "ALLOWED_TARGET_NETWORKS": [ipaddress.ip_network("127.0.0.1/32")],
                "TIMEOUT": 2.0,
            }
        )
        report = await Compute(
            services.storage, services.cache, settings, clock=services.clock
        ).cycle()
    assert report is not None
    assert (report.probed, report.success) == (1, 1)
    assert traffic.requests == 1
