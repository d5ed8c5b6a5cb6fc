"""A monitor's schedule in the API (issue 17): how often it is checked and from which regions. The
defaults a monitor without its own follows, and region names checked against this deployment's
REGIONS, so a POST, a PATCH and a `?region=` refuse an unknown one alike (422 naming it)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError

from ..config import Settings
from .schemas import ScheduleDefaults


def schedule_defaults(settings: Settings) -> ScheduleDefaults:
    return ScheduleDefaults(settings.CYCLE_INTERVAL, tuple(sorted(set(settings.REGIONS))))


def _unknown(region: str, settings: Settings) -> str:
    known = ", ".join(sorted(set(settings.REGIONS)))
    return f"unknown region {region!r}; this deployment's regions (REGIONS) are: {known}"


def known_regions(settings: Settings, names: Sequence[str] | None) -> tuple[str, ...] | None:
    """The regions a body's `regions` names, sorted and each once (None: every region); a 422 on
    `regions` naming every one that is not among REGIONS."""
    if names is None:
        return None
    known = set(settings.REGIONS)
    errors = [
        {
            "loc": ("body", "regions", index),
            "msg": _unknown(name, settings),
            "type": "region_not_found",
        }
        for index, name in enumerate(names)
        if name not in known
    ]
    if errors:
        raise RequestValidationError(errors)
    return tuple(sorted(set(names)))


def region_filter(settings: Settings, region: str | None) -> str | None:
    """A `?region=` parameter: None (every region), or one of REGIONS; a 422 otherwise."""
    if region is not None and region not in settings.REGIONS:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "region"),
                    "msg": _unknown(region, settings),
                    "type": "region_not_found",
                }
            ]
        )
    return region
