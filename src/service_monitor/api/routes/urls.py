"""`/urls`: the seed's statistics (top lists, summary), adding URLs, and managing monitors."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from yarl import URL

from ...alerts import Health, MonitorHealth
from ...check_spec import DEFAULT_CHECK, REDACTED, Assertion, CheckSpec, RequestSpec, SpecLimitError
from ...due import MAX_INTERVAL_S, MIN_INTERVAL_S
from ...errors import CacheUnavailable, DuplicateURL
from ...guard import policy_for
from ...models import Monitor, Span, Status
from ...services import Services
from ...stats import Served
from ..deps import ServicesDep
from ..errors import BODY_ERRORS, CONFLICT, INVALID, NOT_FOUND, UNAVAILABLE, body_invalid
from ..monitor_alerting import alerting_of, channel_ids, channel_names, monitor_alerting
from ..monitor_schedule import known_regions, region_filter, schedule_defaults
from ..params import (
    CacheParam,
    DryRunParam,
    MonitorId,
    OffsetParam,
    OwnerParam,
    RegionParam,
    SearchParam,
)
from ..schemas import (
    PATCH_FIELDS,
    CheckOut,
    CheckPage,
    MonitorAlerting,
    MonitorChange,
    MonitorDetail,
    MonitorIn,
    MonitorOut,
    MonitorPage,
    MonitorPatch,
    RegionsOut,
    RegionStatus,
    StatusCounts,
    SummaryItem,
    ThresholdsOut,
    TopItem,
    WindowCounts,
    as_response,
    monitor_fields,
    tls_days_left,
)

log = logging.getLogger(__name__)
# Two routers, so create_app puts the key check on writes (when API_KEYS is set) and on reads only
# with READ_AUTH; the OpenAPI schema then shows exactly what this deployment asks for.
reads = APIRouter(tags=["urls"])
writes = APIRouter(tags=["urls"])

RECENT_CHECKS = 20
MAX_CHECKS = 100  # a page of GET /urls/{id}/checks
DAY_S = 86_400
# How far back GET /urls/{id} looks for each region's newest check: a monitor checked once a day
# (the longest interval) has one from every region it is probed from within two days.
REGION_LOOKBACK_S = 2 * DAY_S
_CACHE_HEADERS = {
    "cached": {"description": "true when served from the cache", "schema": {"type": "string"}},
    "Age": {"description": "seconds since the result was computed", "schema": {"type": "integer"}},
}


def served_response(served: Served) -> Response:
    return Response(
        content=served.body,
        media_type="application/json",
        headers={"cached": "true" if served.cached else "false", "Age": str(served.age)},
    )


@reads.get(
    "/urls/top/{status}/{timespan}",
    response_model=list[TopItem],
    responses={200: {"headers": _CACHE_HEADERS}, **INVALID, **UNAVAILABLE},
    summary="Top 10 URLs by successful or failed checks",
)
async def top(
    services: ServicesDep,
    status: Annotated[Status, Path(description="success or fail")],
    timespan: Annotated[Span, Path(description="hour, week or month: the past 1 h, 7 d or 30 d")],
    cache: CacheParam = True,
) -> Response:
    """The 10 URLs with the most checks of `status` in the sliding window, most first; among
    equal counts, the URL monitored longest (lowest id) first. URLs with no such check are left
    out; deleted monitors are not listed."""
    return served_response(await services.stats.top(status, timespan, use_cache=cache))


@reads.get(
    "/urls/summary",
    response_model=list[SummaryItem],
    responses={200: {"headers": _CACHE_HEADERS}, **INVALID, **UNAVAILABLE},
    summary="Successful and failed checks in the past 30 days",
)
@reads.get("/urls/summary/", include_in_schema=False)
async def summary(services: ServicesDep, cache: CacheParam = True) -> Response:
    """Both entries are always present, success first."""
    return served_response(await services.stats.summary(use_cache=cache))


def _check(
    services: Services,
    url: str,
    request: RequestSpec,
    assertions: Sequence[Assertion],
    degraded_after_ms: int | None,
    stored: CheckSpec,
) -> CheckSpec:
    """The check these fields make, its secret headers sent as REDACTED given `stored`'s values,
    within what this deployment can run; a 422 naming the field otherwise."""
    try:
        spec = CheckSpec(
            request=request, assertions=list(assertions), degraded_after_ms=degraded_after_ms
        )
    except ValidationError as exc:  # a rule across fields (HEAD with a body assertion...)
        raise body_invalid(exc) from None
    try:
        spec = spec.with_secrets_of(stored)
    except ValueError as exc:
        raise SpecLimitError(("request", "headers"), str(exc)) from None
    spec.check_limits(timeout_s=services.settings.TIMEOUT, url=url)
    return spec


@writes.post(
    "/urls/",
    status_code=status.HTTP_201_CREATED,
    response_model=MonitorOut,
    responses={**BODY_ERRORS, **CONFLICT, **INVALID, **UNAVAILABLE},
    summary="Add a URL to monitor",
)
@writes.post("/urls", status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def add_url(services: ServicesDep, monitor_in: MonitorIn) -> JSONResponse:
    """Stores the monitor (state `pending`) and queues it; the next cycle starts probing it.

    Without `request`, `assertions` and `degraded_after_ms` the check is the default: one GET,
    success when the final status is below 400.

    **Duplicates:** the same URL with the same check again answers 409 with the existing
    monitor's id. URLs are compared after lower-casing scheme and host and dropping a default port
    and the fragment; checks after filling in their defaults. One URL may be monitored by several
    different checks (a HEAD and a GET with a JSON assertion, say): each is its own monitor.

    A literal internal address (loopback, private, link-local...) answers 422 unless the SSRF
    guard is opened (ALLOW_PRIVATE_TARGETS, ALLOWED_TARGET_NETWORKS); a name is checked when
    probed, on every address it resolves to.

    **Alerting:** `failure_threshold` and `success_threshold` (null: the defaults) say how many
    consecutive failed checks make it down and successful ones up again; `channels` (names or
    ids; empty: the default channels) are told of its incidents. An unknown channel is a 422
    naming it, and nothing is stored.

    **Schedule:** `interval` (seconds, 60 to 86400; null: CYCLE_INTERVAL) is how often it is
    checked, `regions` (null: every one of REGIONS, GET /regions) where from. An unknown region is
    a 422 naming it and listing the known ones, and nothing is stored.
    """
    # The policy is built once per guard setting; its TargetRefused answers 422 (api/errors.py).
    policy_for(services.settings).check_url(monitor_in.url)
    # A REDACTED value in a new monitor has nothing to keep: refused, naming the header.
    check = _check(
        services,
        monitor_in.url,
        monitor_in.request,
        monitor_in.assertions,
        monitor_in.degraded_after_ms,
        DEFAULT_CHECK,
    )
    # Resolved before anything is written: an unknown channel stores nothing.
    channels = await services.channels.list_channels() if monitor_in.channels else []
    named = channel_ids(channels, monitor_in.channels)
    regions = known_regions(services.settings, monitor_in.regions)
    try:
        monitor = await services.monitors.add_monitor(
            monitor_in.name, monitor_in.url, services.clock(), check=check, owner=monitor_in.owner
        )
    except DuplicateURL as exc:
        raise _duplicate(exc, check) from None
    if monitor_in.interval is not None or regions is not None:
        # Before it is queued: the compute never sees it with the default schedule.
        await services.schedule.set_schedule(
            monitor.id, interval=monitor_in.interval, regions=regions
        )
        monitor = dataclasses.replace(monitor, interval=monitor_in.interval, regions=regions)
    failure, success = monitor_in.failure_threshold, monitor_in.success_threshold
    if failure is not None or success is not None:
        await services.health.set_thresholds(monitor.id, failure, success)
    if named:
        await services.channels.set_monitor_channels(monitor.id, named)
    try:
        await services.cache.push(monitor.id)
    except CacheUnavailable as exc:
        # Not lost: the monitor is stored as pending, and every cycle activates pending monitors.
        log.warning(
            "monitor %d stored but not queued, the next cycle takes it in: %s", monitor.id, exc
        )
    # Built from what was just written, not read back: a read here would interleave with other
    # requests' write transactions on the embedded store's one connection.
    defaults = services.health.default_thresholds
    alerting = MonitorAlerting(
        health=MonitorHealth(monitor.id, Health.UNKNOWN, 0, 0, None, None),
        failure_threshold=failure,
        success_threshold=success,
        effective=ThresholdsOut(
            failure=defaults.failure if failure is None else failure,
            success=defaults.success if success is None else success,
        ),
        channels=channel_names(channels, named),
    )
    body = MonitorOut.of(monitor, alerting, schedule_defaults(services.settings))
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/urls/{monitor.id}"},
    )


def _duplicate(exc: DuplicateURL, check: CheckSpec) -> DuplicateURL:
    """The store's DuplicateURL, saying "with the same check" when the check is not the default
    (another check of the same URL would not have been one)."""
    if check.is_default:
        return exc
    return DuplicateURL(exc.url, exc.existing_id, same_check=True)


def _origin(url: str) -> str:
    parsed = URL(url)
    return str(parsed.origin())


def _kept_secrets(patch: MonitorPatch, stored: Monitor) -> list[str]:
    """The secret headers whose stored values the patched monitor goes on sending: those sent
    back as REDACTED, or all of them when the request is left out."""
    if "request" not in patch.model_fields_set:
        request = stored.check.request
        return [name for name in request.headers if request.is_secret(name)]
    return [name for name, value in patch.request.headers.items() if value == REDACTED]


@writes.patch(
    "/urls/{monitor_id}",
    response_model=MonitorChange,
    responses={**BODY_ERRORS, **CONFLICT, **NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="Change a monitor's name, URL, check, owner, thresholds, channels or schedule",
)
async def edit_url(
    services: ServicesDep,
    monitor_id: MonitorId,
    patch: MonitorPatch,
    dry_run: DryRunParam = False,
) -> Response:
    """Changes the fields sent; the others keep their value. `request` and `assertions` are
    replaced whole. A secret header's value sent back as `"<redacted>"` (as GET shows it) keeps
    the stored value, unless the URL moves to another origin (scheme, host, port): then the
    secrets must be sent again, so a changed URL never receives them unasked.

    The answer is the monitor as it now is, with `changed`, the fields whose value differs from
    the stored one (secret values compared too); nothing is written when it is empty. With
    `dry_run=true` everything is validated and the answer is what would change, but nothing is
    written (a duplicate, 409, is only found when writing). 409 when the new URL and check are
    another monitor's.

    `failure_threshold` and `success_threshold` (null: back to the defaults) apply from the next
    check on; `channels` replaces the channels named (names or ids; `[]`: the defaults).

    `interval` and `regions` (null: back to CYCLE_INTERVAL, every region) apply at once: a
    monitor whose schedule changed is due for its next check now.
    """
    stored = await services.monitors.get_monitor(monitor_id)
    stored_alerting = await monitor_alerting(services, monitor_id)
    sent = patch.model_fields_set  # a field left out keeps its value
    name = patch.name if "name" in sent else stored.name
    url = patch.url if "url" in sent else stored.url
    if url != stored.url:
        policy_for(services.settings).check_url(url)
        kept = _kept_secrets(patch, stored)
        if kept and _origin(url) != _origin(stored.url):
            raise SpecLimitError(
                ("request", "headers"),
                f"the URL moves to another origin ({_origin(stored.url)} to {_origin(url)}):"
                f" send the values of the secret headers again ({', '.join(kept)}), they are"
                " never sent to a new origin unasked",
            )
    check = _check(
        services,
        url,
        patch.request if "request" in sent else stored.check.request,
        patch.assertions if "assertions" in sent else stored.check.assertions,
        patch.degraded_after_ms if "degraded_after_ms" in sent else stored.check.degraded_after_ms,
        stored.check,
    )
    owner = patch.owner if "owner" in sent else stored.owner
    failure = (
        patch.failure_threshold
        if "failure_threshold" in sent
        else stored_alerting.failure_threshold
    )
    success = (
        patch.success_threshold
        if "success_threshold" in sent
        else stored_alerting.success_threshold
    )
    interval = patch.interval if "interval" in sent else stored.interval
    if "regions" in sent:
        regions = known_regions(services.settings, patch.regions)
    else:
        regions = stored.regions
    all_channels = await services.channels.list_channels()
    if "channels" in sent:
        wanted_channels = channel_names(all_channels, channel_ids(all_channels, patch.channels))
    else:
        wanted_channels = stored_alerting.channels
    wanted = {
        "name": name,
        "url": url,
        "request": check.request,
        "assertions": check.assertions,
        "degraded_after_ms": check.degraded_after_ms,
        "owner": owner,
        "failure_threshold": failure,
        "success_threshold": success,
        "channels": wanted_channels,
        "interval": interval,
        "regions": regions,
    }
    before = {
        "name": stored.name,
        "url": stored.url,
        "request": stored.check.request,
        "assertions": stored.check.assertions,
        "degraded_after_ms": stored.check.degraded_after_ms,
        "owner": stored.owner,
        "failure_threshold": stored_alerting.failure_threshold,
        "success_threshold": stored_alerting.success_threshold,
        "channels": stored_alerting.channels,
        "interval": stored.interval,
        "regions": stored.regions,
    }
    changed = [field for field in PATCH_FIELDS if wanted[field] != before[field]]
    monitor_changed = {"name", "url", "request", "assertions", "degraded_after_ms", "owner"}
    if not changed or dry_run:
        monitor = dataclasses.replace(
            stored,
            name=name,
            url=url,
            check=check,
            owner=owner,
            interval=interval,
            regions=regions,
        )
        defaults = services.health.default_thresholds
        alerting = MonitorAlerting(
            health=stored_alerting.health,
            failure_threshold=failure,
            success_threshold=success,
            effective=ThresholdsOut(
                failure=defaults.failure if failure is None else failure,
                success=defaults.success if success is None else success,
            ),
            channels=wanted_channels,
        )
    else:
        monitor = stored
        if monitor_changed & set(changed):
            check_changed = {"request", "assertions", "degraded_after_ms"} & set(changed)
            try:
                monitor = await services.monitors.update_monitor(
                    monitor_id,
                    name=name if "name" in changed else None,
                    url=url if "url" in changed else None,
                    check=check if check_changed else None,
                    owner=owner,
                    clear_owner="owner" in changed and owner is None,
                )
            except DuplicateURL as exc:
                raise _duplicate(exc, check) from None
        if {"failure_threshold", "success_threshold"} & set(changed):
            await services.health.set_thresholds(monitor_id, failure, success)
        if "channels" in changed:
            await services.channels.set_monitor_channels(
                monitor_id, channel_ids(all_channels, wanted_channels)
            )
        if {"interval", "regions"} & set(changed):
            await services.schedule.set_schedule(monitor_id, interval=interval, regions=regions)
            monitor = dataclasses.replace(monitor, interval=interval, regions=regions)
        log.info("monitor %d changed: %s", monitor_id, ", ".join(changed))
        alerting = await monitor_alerting(services, monitor_id)
    schedule = schedule_defaults(services.settings)
    return as_response(
        MonitorChange(**monitor_fields(monitor, alerting, schedule), changed=changed)
    )


@reads.get(
    "/urls",
    response_model=MonitorPage,
    responses={**INVALID, **UNAVAILABLE},
    summary="List the monitored URLs",
)
@reads.get("/urls/", include_in_schema=False)
async def list_urls(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="monitors per page")] = 100,
    offset: OffsetParam = 0,
    q: SearchParam = None,
    owner: OwnerParam = None,
) -> Response:
    """Monitored (not deleted) URLs by id; `total` counts them all (those matching `q` and
    `owner`, with them). The text is matched case-insensitively, `%` and `_` as themselves; the
    owner exactly. Secret header values are shown as "<redacted>"."""
    monitors, total = await services.monitors.list_monitors(limit, offset, q or None, owner=owner)
    alerting = await alerting_of(services, [m.id for m in monitors])
    defaults = schedule_defaults(services.settings)
    items = [MonitorOut.of(m, alerting[m.id], defaults) for m in monitors]
    return as_response(MonitorPage(items=items, total=total, limit=limit, offset=offset))


@reads.get(
    "/urls/{monitor_id}",
    response_model=MonitorDetail,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One monitor, its recent checks and its counts",
)
async def get_url(services: ServicesDep, monitor_id: MonitorId) -> Response:
    """The monitor (secret header values shown as "<redacted>"), its 20 newest checks, its
    counts (of the successes, `degraded`), the days left on its TLS certificate, its health,
    thresholds and channels, and `regions_status`: each region's newest check and past day."""
    monitor = await services.monitors.get_monitor(monitor_id)
    now = services.clock()
    spans = (Span.HOUR, Span.WEEK, Span.MONTH)
    checks, counts, alerting, by_region, region_health = await asyncio.gather(
        services.checks.recent_checks(monitor_id, RECENT_CHECKS),
        services.checks.monitor_counts(monitor_id, [now - span.seconds for span in spans]),
        monitor_alerting(services, monitor_id),
        services.checks.region_checks(monitor_id, now - REGION_LOOKBACK_S, now - DAY_S),
        services.health.region_health(monitor_id),
    )
    hour, week, month = (StatusCounts.of(c) for c in counts)
    defaults = schedule_defaults(services.settings)
    scheduled = defaults.regions if monitor.regions is None else monitor.regions
    found = {r.region: r for r in by_region}
    regions_status = []
    for region in [*scheduled, *sorted(set(found) - set(scheduled))]:
        seen = found.get(region)
        regions_status.append(
            RegionStatus(
                region=region,
                scheduled=region in scheduled,
                last_check=None if seen is None else CheckOut.of(seen.last),
                day=StatusCounts.of(seen.counts)
                if seen
                else StatusCounts(success=0, fail=0, degraded=0),
                health=(
                    alerting.health.health
                    if len(scheduled) == 1 and region in scheduled
                    else region_health.get(region, Health.UNKNOWN)
                ).value,
            )
        )
    detail = MonitorDetail(
        **monitor_fields(monitor, alerting, defaults),
        checks=[CheckOut.of(c) for c in checks],
        counts=WindowCounts(hour=hour, week=week, month=month),
        tls_days_left=tls_days_left(checks, now),
        regions_status=regions_status,
    )
    return as_response(detail)


@reads.get(
    "/urls/{monitor_id}/checks",
    response_model=CheckPage,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One monitor's newest checks, of every region or of one",
)
async def list_checks(
    services: ServicesDep,
    monitor_id: MonitorId,
    region: RegionParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CHECKS, description="checks at most")] = RECENT_CHECKS,
) -> Response:
    """The monitor's newest checks first, each with the region it was made from; with `region`
    (one of REGIONS, else 422), only that region's."""
    wanted = region_filter(services.settings, region)
    await services.monitors.get_monitor(monitor_id)  # 404 for an unknown or deleted monitor
    checks = await services.checks.recent_checks(monitor_id, limit, region=wanted)
    page = CheckPage(id=monitor_id, region=wanted, items=[CheckOut.of(c) for c in checks])
    return as_response(page)


@reads.get(
    "/regions",
    response_model=RegionsOut,
    responses={**UNAVAILABLE},
    summary="The regions a monitor may be probed from, and the intervals it may have",
)
async def regions(services: ServicesDep) -> RegionsOut:
    """This deployment's REGIONS (a monitor's `regions` names some of them; none: all) and the
    default interval (CYCLE_INTERVAL) of a monitor with no `interval` of its own."""
    defaults = schedule_defaults(services.settings)
    return RegionsOut(
        regions=list(defaults.regions),
        default_interval=defaults.interval,
        min_interval=MIN_INTERVAL_S,
        max_interval=MAX_INTERVAL_S,
    )


@writes.delete(
    "/urls/{monitor_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="Stop monitoring a URL",
)
async def delete_url(services: ServicesDep, monitor_id: MonitorId) -> Response:
    """It is no longer probed nor listed; its checks stay until retention removes them."""
    await services.monitors.delete_monitor(monitor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
