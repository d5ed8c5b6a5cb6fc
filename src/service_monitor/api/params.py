"""The query and path parameters several routes share, each declared once; the `cache` flag is also
parsed here for the statistics' fast path (fast_stats.py), so both paths read it alike."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

# The words pydantic's lax bool takes from a string, lower-cased: what a `?cache=` may say.
_FLAGS = {"true": True, "1": True, "yes": True, "on": True, "t": True, "y": True}
_FLAGS |= {"false": False, "0": False, "no": False, "off": False, "f": False, "n": False}


def parse_flag(raw: str) -> bool | None:
    """A query string's boolean (`true`, `0`, `Yes`, ...), or None when it is none of the words."""
    return _FLAGS.get(raw.lower())


def _flag(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # a default, or a bool already
    parsed = parse_flag(value)
    if parsed is None:
        # pydantic's own words for a bad bool, so the 422 reads as for any other flag
        raise PydanticCustomError(
            "bool_parsing", "Input should be a valid boolean, unable to interpret input"
        )
    return parsed


CacheParam = Annotated[
    bool,
    BeforeValidator(_flag),
    Query(
        description="true: serve a cached result younger than 10 minutes if there is one;"
        " false: ignore the cache, query the database and reset the entry"
    ),
]
MonitorId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the monitor's id")]
# Bounded like ids (a 32-bit count): MySQL's LIMIT refuses a number past 2**64 with an error.
OffsetParam = Annotated[int, Query(ge=0, le=2**31 - 1, description="monitors to skip")]
SearchParam = Annotated[
    str | None,
    Query(max_length=200, description="only monitors whose name or URL holds this text"),
]
DryRunParam = Annotated[
    bool,
    BeforeValidator(_flag),
    Query(description="true: validate and answer what would change, writing nothing"),
]
OwnerParam = Annotated[
    str | None,
    Query(min_length=1, max_length=100, description="only the monitors with this owner label"),
]
ForceParam = Annotated[
    bool,
    BeforeValidator(_flag),
    Query(description="true: delete it even if monitors name it (they then use the defaults)"),
]
RegionParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=32,
        description="only the checks made from this region (one of REGIONS, GET /regions);"
        " unset: every region",
    ),
]
