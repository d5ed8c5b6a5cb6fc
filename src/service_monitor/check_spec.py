"""What a monitor asks of each check: the request to send and the assertions its answer must pass.

Pure data and the rules for valid input, no I/O: the API validates bodies with these models, the
store keeps them as canonical JSON, and the compute compiles them (compute/assertions.py). A
monitor without any of it has the default check: one GET, success when the final status is below
400.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

import jsonpath
import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Header values of these are secrets whatever the user says: returned redacted, never logged.
ALWAYS_SECRET = frozenset({"authorization", "cookie", "proxy-authorization"})
# What GET shows instead of a secret header's value; sent back in a PATCH, it keeps the stored one.
REDACTED = "<redacted>"
# Headers the HTTP client sets itself from the request: setting them by hand breaks the framing.
FORBIDDEN_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "upgrade", "te"}
)

MAX_HEADERS = 50
MAX_HEADER_VALUE_CHARS = 4096
MAX_REQUEST_BODY_CHARS = 64 * 1024
MAX_ASSERTIONS = 20
MAX_PATTERN_CHARS = 1000  # a regex's or a JSON path's source
MAX_TEXT_CHARS = 1000  # a text to find in a body or a header
MAX_LATENCY_MS = 300_000  # TIMEOUT's own ceiling (300 s)
MAX_TLS_DAYS = 3650
MAX_OWNER_LENGTH = 100  # characters

# RFC 9110's token: the characters a header name may hold.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS_CLASS = re.compile(r"^([1-5])xx$")
_STATUS_RANGE = re.compile(r"^(\d{3})-(\d{3})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_line_breaks(text: str, what: str) -> str:
    if any(c in text for c in "\r\n\0"):
        raise ValueError(f"{what} must not contain a line break or a NUL character")
    return text


class RequestSpec(_Strict):
    """The request a check sends; every field has the default check's value by default."""

    method: Method = Field("GET", description="one of " + ", ".join(HTTP_METHODS))
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="sent with every check; values of Authorization, Cookie, Proxy-Authorization"
        " and of `secret_headers` are returned as " + REDACTED,
    )
    secret_headers: list[str] = Field(
        default_factory=list, description="more header names whose values are secret"
    )
    body: str | None = Field(
        None, max_length=MAX_REQUEST_BODY_CHARS, description="sent as UTF-8; not with HEAD"
    )
    content_type: str | None = Field(
        None, max_length=200, description="the body's Content-Type; needs a body"
    )
    timeout_s: float | None = Field(
        None, gt=0, le=300, description="seconds the check may take; at most TIMEOUT, its default"
    )
    follow_redirects: bool = Field(
        True, description="false: a redirect is the answer, judged like any other"
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, headers: dict[str, str]) -> dict[str, str]:
        if len(headers) > MAX_HEADERS:
            raise ValueError(f"at most {MAX_HEADERS} headers, got {len(headers)}")
        seen: set[str] = set()
        for name, value in headers.items():
            # The value is never quoted in an error: it may be a secret.
            if not _TOKEN.match(name):
                raise ValueError(f"header name {name[:100]!r} is not a valid HTTP header name")
            lower = name.lower()
            if lower in FORBIDDEN_HEADERS:
                raise ValueError(f"header {name!r} is set by the HTTP client, not by hand")
            if lower in seen:
                raise ValueError(f"header {name!r} is given twice (names are case-insensitive)")
            seen.add(lower)
            if len(value) > MAX_HEADER_VALUE_CHARS:
                raise ValueError(f"header {name!r}: value over {MAX_HEADER_VALUE_CHARS} characters")
            _no_line_breaks(value, f"header {name!r}'s value")
        return headers

    @field_validator("secret_headers")
    @classmethod
    def _secret_names(cls, names: list[str]) -> list[str]:
        if len(names) > MAX_HEADERS:
            raise ValueError(f"at most {MAX_HEADERS} names, got {len(names)}")
        for name in names:
            if not _TOKEN.match(name):
                raise ValueError(f"{name[:100]!r} is not a valid HTTP header name")
        return names

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, value: str | None) -> str | None:
        return None if value is None else _no_line_breaks(value, "content_type")

    @model_validator(mode="after")
    def _consistent(self) -> RequestSpec:
        names = {name.lower() for name in self.headers}
        unknown = [n for n in self.secret_headers if n.lower() not in names]
        # SpecLimitError's loc names the field each rule is about, for the API's 422.
        if unknown:
            raise SpecLimitError(
                ("secret_headers",), f"names headers that are not set: {unknown[0]!r}"
            )
        if self.body is not None and self.method == "HEAD":
            raise SpecLimitError(("body",), "a HEAD request sends no body")
        if self.content_type is not None and self.body is None:
            raise SpecLimitError(("content_type",), "content_type needs a body")
        if self.content_type is not None and "content-type" in names:
            raise SpecLimitError(
                ("content_type",), "give the Content-Type either as content_type or as a header"
            )
        return self

    def is_secret(self, header: str) -> bool:
        lower = header.lower()
        return lower in ALWAYS_SECRET or lower in {n.lower() for n in self.secret_headers}


StatusCode = Annotated[int, Field(ge=100, le=599)]


class StatusAssertion(_Strict):
    """The final status is one of `codes`: a code (200), a class ("2xx") or a range ("200-299")."""

    type: Literal["status"]
    codes: list[StatusCode | str] = Field(min_length=1, max_length=50)

    @field_validator("codes")
    @classmethod
    def _codes(cls, codes: list[int | str]) -> list[int | str]:
        for code in codes:
            if isinstance(code, str):
                status_bounds(code)  # raises ValueError naming the entry
        return codes

    def ranges(self) -> list[tuple[int, int]]:
        """Each entry as the inclusive range of statuses it accepts."""
        return [(c, c) if isinstance(c, int) else status_bounds(c) for c in self.codes]

    def describe(self) -> str:
        return ", ".join(str(c) for c in self.codes)


def status_bounds(entry: str) -> tuple[int, int]:
    """The inclusive range of a status class ('2xx') or range ('200-299'); ValueError otherwise."""
    if match := _STATUS_CLASS.match(entry):
        first = int(match[1]) * 100
        return first, first + 99
    if match := _STATUS_RANGE.match(entry):
        low, high = int(match[1]), int(match[2])
        if 100 <= low <= high <= 599:
            return low, high
    raise ValueError(
        f"{entry[:20]!r} is not a status code (100-599), a class like '2xx' (1xx-5xx)"
        " or a range like '200-299'"
    )


class BodyAssertion(_Strict):
    """The body (its first MAX_BODY_BYTES) contains, or matches, `value`; or does not."""

    type: Literal["body"]
    op: Literal["contains", "not_contains", "matches", "not_matches"]
    value: str = Field(min_length=1, max_length=MAX_PATTERN_CHARS)

    @model_validator(mode="after")
    def _pattern(self) -> BodyAssertion:
        if self.op in ("matches", "not_matches"):
            compile_pattern(self.value)
        return self


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """The compiled regex; ValueError saying why it cannot be compiled."""
    try:
        return regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"regex {pattern[:100]!r} does not compile: {exc}") from None


# Finite floats only: NaN and Infinity (which Python's json reads) have no JSON form to answer with.
JSONValue = str | int | Annotated[float, Field(allow_inf_nan=False)] | bool | None


class JSONAssertion(_Strict):
    """The value at `path` (JSONPath, RFC 9535) of the JSON body compared to `value`.

    `exists` / `not_exists` need no value; `less_than` / `greater_than` need a number.
    """

    type: Literal["json"]
    path: str = Field(min_length=1, max_length=MAX_PATTERN_CHARS, examples=["$.status"])
    op: Literal["equals", "not_equals", "less_than", "greater_than", "exists", "not_exists"]
    value: JSONValue = None

    @model_validator(mode="after")
    def _valid(self) -> JSONAssertion:
        compile_json_path(self.path)
        if self.op in ("less_than", "greater_than") and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            raise ValueError(f"op {self.op!r} needs a number as value")
        if self.op in ("exists", "not_exists") and self.value is not None:
            raise ValueError(f"op {self.op!r} takes no value")
        return self


def compile_json_path(path: str) -> jsonpath.JSONPath | jsonpath.CompoundJSONPath:
    """The compiled JSONPath; ValueError saying why it does not parse."""
    try:
        return jsonpath.compile(path)
    except (jsonpath.JSONPathError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"JSON path {path[:100]!r} does not parse: {first}") from None


class HeaderAssertion(_Strict):
    """The response header `name` (case-insensitive) equals or contains `value`."""

    type: Literal["header"]
    name: str = Field(min_length=1, max_length=200)
    op: Literal["equals", "contains"]
    value: str = Field(max_length=MAX_TEXT_CHARS)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _TOKEN.match(name):
            raise ValueError(f"{name[:100]!r} is not a valid HTTP header name")
        return name


class LatencyAssertion(_Strict):
    """The answer came within `below_ms` milliseconds (headers and the body read)."""

    type: Literal["latency"]
    below_ms: int = Field(ge=1, le=MAX_LATENCY_MS)


class TLSAssertion(_Strict):
    """The server's certificate is valid for at least `min_days` more days; https only."""

    type: Literal["tls"]
    min_days: int = Field(ge=0, le=MAX_TLS_DAYS)


Assertion = Annotated[
    StatusAssertion
    | BodyAssertion
    | JSONAssertion
    | HeaderAssertion
    | LatencyAssertion
    | TLSAssertion,
    Field(discriminator="type"),
]
BODY_TYPES = ("body", "json")


class CheckSpec(_Strict):
    """A monitor's check: its request, the assertions that must all hold, and when it is degraded."""

    request: RequestSpec = Field(default_factory=RequestSpec)
    assertions: list[Assertion] = Field(default_factory=list, max_length=MAX_ASSERTIONS)
    degraded_after_ms: int | None = Field(
        None,
        ge=1,
        le=MAX_LATENCY_MS,
        description="a passing answer slower than this is a success flagged degraded; below the"
        " latency assertion's limit and the timeout",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CheckSpec:
        if self.request.method == "HEAD" and any(a.type in BODY_TYPES for a in self.assertions):
            raise SpecLimitError(
                ("assertions",),
                "a HEAD answer has no body: body and json assertions need another method",
            )
        if self.degraded_after_ms is not None:
            limit = self.latency_limit_ms()
            if limit is not None and self.degraded_after_ms >= limit:
                raise SpecLimitError(
                    ("degraded_after_ms",),
                    f"{self.degraded_after_ms} ms must be below the failure limit ({limit} ms)",
                )
        return self

    def latency_limit_ms(self) -> int | None:
        """Milliseconds past which the check fails, as far as the spec alone says (not TIMEOUT)."""
        limits = [a.below_ms for a in self.assertions if isinstance(a, LatencyAssertion)]
        if self.request.timeout_s is not None:
            limits.append(round(self.request.timeout_s * 1000))
        return min(limits) if limits else None

    @property
    def is_default(self) -> bool:
        return self == DEFAULT_CHECK

    @property
    def reads_body(self) -> bool:
        return any(a.type in BODY_TYPES for a in self.assertions)

    def public(self) -> dict[str, Any]:
        """The spec as JSON, secret header values replaced by REDACTED: what the API returns."""
        data = self.model_dump(mode="json")
        request = data["request"]
        request["headers"] = {
            name: REDACTED if self.request.is_secret(name) else value
            for name, value in self.request.headers.items()
        }
        return data

    def to_json(self) -> str:
        """The canonical JSON the store keeps (secrets included): the same spec, the same text."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> CheckSpec:
        """The spec stored as `text`; DEFAULT_CHECK for None."""
        return DEFAULT_CHECK if text is None else cls.model_validate_json(text)

    def with_secrets_of(self, stored: CheckSpec) -> CheckSpec:
        """This spec with every header sent as REDACTED given the value `stored` has for it.

        ValueError when `stored` has no value for such a header (nothing to keep).
        """
        redacted = [n for n, v in self.request.headers.items() if v == REDACTED]
        if not redacted:
            return self
        old = {name.lower(): value for name, value in stored.request.headers.items()}
        headers = dict(self.request.headers)
        for name in redacted:
            if name.lower() not in old or old[name.lower()] == REDACTED:
                raise ValueError(
                    f"header {name!r} is {REDACTED!r} but the monitor has no value to keep for it"
                )
            headers[name] = old[name.lower()]
        request = self.request.model_copy(update={"headers": headers})
        return self.model_copy(update={"request": request})

    def check_limits(self, *, timeout_s: float, url: str) -> None:
        """ValueError naming the field when the spec asks what this deployment cannot do:
        a timeout over TIMEOUT (`timeout_s`), a degraded limit not below it, TLS on http."""
        if self.request.timeout_s is not None and self.request.timeout_s > timeout_s:
            raise SpecLimitError(
                ("request", "timeout_s"),
                f"{self.request.timeout_s:g} s is over TIMEOUT, the most a check may take"
                f" here ({timeout_s:g} s)",
            )
        if self.degraded_after_ms is not None and self.degraded_after_ms >= timeout_s * 1000:
            raise SpecLimitError(
                ("degraded_after_ms",),
                f"{self.degraded_after_ms} ms is not below TIMEOUT ({timeout_s:g} s)",
            )
        if any(isinstance(a, TLSAssertion) for a in self.assertions) and not url.lower().startswith(
            "https://"
        ):
            raise SpecLimitError(("assertions",), "a tls assertion needs an https:// URL")


class SpecLimitError(ValueError):
    """A spec this deployment (its settings) or this URL cannot run, or a rule across fields it
    breaks; `loc` is the field, relative to the model that raised it (the API's 422 names it)."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


DEFAULT_CHECK = CheckSpec()


def monitor_key(url_key: bytes, spec: CheckSpec) -> bytes:
    """The identity of a monitor for duplicate detection: its URL's key (models.url_key) alone for
    the default check, so monitors stored before checks had settings keep theirs; with the check's
    canonical JSON folded in otherwise, so one URL may be probed by several different checks."""
    if spec.is_default:
        return url_key
    return hashlib.sha256(url_key + b"\n" + spec.to_json().encode()).digest()


def validate_owner(owner: str | None) -> str | None:
    """An owner label (what `apply` syncs): 1..100 printable characters, or None."""
    if owner is None:
        return None
    if not owner.strip() or len(owner) > MAX_OWNER_LENGTH or not owner.isprintable():
        raise ValueError(f"must be 1 to {MAX_OWNER_LENGTH} printable characters")
    return owner


__all__ = [
    "ALWAYS_SECRET",
    "DEFAULT_CHECK",
    "HTTP_METHODS",
    "REDACTED",
    "Assertion",
    "BodyAssertion",
    "CheckSpec",
    "HeaderAssertion",
    "JSONAssertion",
    "LatencyAssertion",
    "RequestSpec",
    "SpecLimitError",
    "StatusAssertion",
    "TLSAssertion",
    "ValidationError",
    "monitor_key",
    "status_bounds",
    "validate_owner",
]
