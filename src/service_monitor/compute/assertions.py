"""Turns a monitor's CheckSpec into the plan `probe` follows, once per spec object: the request to
send, whether the body must be kept, and the judges of the answer, each failing with a sentence.

Compiling is done once per spec object, not once per probe: the store hands every target with the
same stored spec the same object (and most share DEFAULT_CHECK, which `probe` never compiles), so a
cycle over 100,000 monitors compiles each distinct spec once. A compiled plan holds nothing of the
spec it came from, so it lives exactly as long as the spec does (see `compile_check`).
"""

from __future__ import annotations

import json
import math
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDictProxy

from ..check_spec import (
    DEFAULT_CHECK,
    BodyAssertion,
    CheckSpec,
    HeaderAssertion,
    JSONAssertion,
    LatencyAssertion,
    StatusAssertion,
    TLSAssertion,
    compile_json_path,
    compile_pattern,
)
from ..models import MAX_DETAIL_LENGTH

# Seconds one regex may run on one body before it counts as not matched (with a detail saying so):
# matching runs on the event loop, so a catastrophic pattern must not hold every other probe up.
REGEX_TIMEOUT_S = 0.1

# Characters of a seen or expected value quoted in a detail: enough to recognise it, and a detail
# stays well within MAX_DETAIL_LENGTH even with several failures.
_SHOWN_CHARS = 60

_SECONDS_PER_DAY = 86400


@dataclass(slots=True)
class Answer:
    """What a probe received, as the judges see it. The body's text and JSON are decoded at most
    once, on first use, and shared by every judge that needs them."""

    status: int
    latency_ms: int
    checked_at: float  # seconds since the epoch: "now" for the certificate's days left
    headers: CIMultiDictProxy[str] | None = None  # kept only when a header assertion needs them
    body: bytes | None = None  # at most max_body_bytes; kept only when a body assertion needs it
    body_complete: bool = True  # False: the body went on past max_body_bytes
    charset: str | None = None  # the Content-Type's charset, if any
    tls_expires_at: float | None = None  # seconds since the epoch; None when not over https
    _text: str | None = field(default=None, repr=False)
    _json: tuple[Any, str | None] | None = field(default=None, repr=False)

    def text(self) -> str:
        if self._text is None:
            body = self.body or b""
            try:
                self._text = body.decode(self.charset or "utf-8", errors="replace")
            except LookupError:  # a charset Python does not know: read it as UTF-8
                self._text = body.decode("utf-8", errors="replace")
        return self._text

    def json(self) -> tuple[Any, str | None]:
        """The parsed body and None, or None and why it is not JSON."""
        if self._json is None:
            try:
                self._json = (json.loads(self.body or b""), None)
            except (ValueError, RecursionError) as exc:
                self._json = (None, f"body is not JSON: {_first_line(exc)}")
        return self._json


# A judge looks at an answer and says why it fails, or None when it holds.
Judge = Callable[[Answer], str | None]


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """What `probe` does for one spec: the request, what of the answer it keeps, and the judges."""

    method: str
    headers: Mapping[str, str] | None  # None: only the session's own (User-Agent)
    closing_headers: Mapping[str, str]  # the same with `Connection: close`
    body: bytes | None
    timeout_s: float | None  # the spec's timeout_s (seconds); the probe caps it by TIMEOUT
    follow_redirects: bool
    keeps_body: bool  # a body or json assertion reads the body: keep (at most) max_body_bytes
    keeps_headers: bool  # a header assertion reads the response's headers
    # Statuses an explicit status assertion accepts; None: the default rule, below 400.
    accepted: frozenset[int] | None
    accepted_text: str  # the same as said in a detail: "200-299, 301"
    judges: tuple[Judge, ...]  # the assertions other than status, in the spec's order
    degraded_after_ms: int | None
    is_default: bool = False  # the default check: status below 400, nothing else

    def status_holds(self, status: int) -> bool:
        if self.accepted is None:
            return status < 400
        return status in self.accepted

    def status_detail(self, status: int) -> str:
        if self.accepted is None:
            return f"status {status} is not below 400"
        return f"status {status} is not one of {self.accepted_text}"

    def failures(self, answer: Answer) -> list[str]:
        """Why the answer fails each assertion other than status (whose verdict came first)."""
        failed = []
        for judge in self.judges:
            why = judge(answer)
            if why is not None:
                failed.append(why)
        return failed


_CLOSE = {"Connection": "close"}

DEFAULT_PLAN = CheckPlan(
    method="GET",
    headers=None,
    closing_headers=_CLOSE,
    body=None,
    timeout_s=None,
    follow_redirects=True,
    keeps_body=False,
    keeps_headers=False,
    accepted=None,
    accepted_text="",
    judges=(),
    degraded_after_ms=None,
    is_default=True,
)

# Plans by id() of the spec object they were compiled from. A spec's entry is removed when the
# spec is collected (weakref.finalize), before its id can be reused, so the cache holds exactly the
# specs alive in the process: as many as a cycle's distinct specs, no more.
_plans: dict[int, CheckPlan] = {}


def compile_check(spec: CheckSpec, *, max_body_bytes: int) -> CheckPlan:
    """The plan for `spec`, compiled on its first use and shared afterwards.

    `max_body_bytes` only shapes the details' wording ("first 65536 bytes read") and is the same
    for every probe of a process (MAX_BODY_BYTES), so it is not part of the key.
    """
    if spec is DEFAULT_CHECK:
        return DEFAULT_PLAN
    plan = _plans.get(id(spec))
    if plan is None:
        plan = _compile(spec, max_body_bytes)
        key = id(spec)
        _plans[key] = plan
        weakref.finalize(spec, _plans.pop, key, None)
    return plan


def compiled_count() -> int:
    """How many plans the cache holds (for tests: it follows the specs alive)."""
    return len(_plans)


def _compile(spec: CheckSpec, max_body_bytes: int) -> CheckPlan:
    request = spec.request
    headers = dict(request.headers)
    body: bytes | None = None
    if request.body is not None:
        body = request.body.encode()
        if request.content_type is not None:
            headers["Content-Type"] = request.content_type
    accepted: set[int] | None = None
    accepted_text: list[str] = []
    judges: list[Judge] = []
    keeps_body = keeps_headers = False
    for assertion in spec.assertions:
        if isinstance(assertion, StatusAssertion):
            # Several status assertions must all hold: the accepted set is their intersection.
            codes: set[int] = set()
            for low, high in assertion.ranges():
                codes.update(range(low, high + 1))
            accepted = codes if accepted is None else accepted & codes
            accepted_text.append(", ".join(_range_text(r) for r in assertion.ranges()))
        elif isinstance(assertion, BodyAssertion):
            keeps_body = True
            judges.append(_body_judge(assertion, max_body_bytes))
        elif isinstance(assertion, JSONAssertion):
            keeps_body = True
            judges.append(_json_judge(assertion, max_body_bytes))
        elif isinstance(assertion, HeaderAssertion):
            keeps_headers = True
            judges.append(_header_judge(assertion))
        elif isinstance(assertion, LatencyAssertion):
            judges.append(_latency_judge(assertion))
        elif isinstance(assertion, TLSAssertion):
            judges.append(_tls_judge(assertion))
    return CheckPlan(
        method=request.method,
        headers=headers or None,
        closing_headers={**headers, **_CLOSE},
        body=body,
        timeout_s=request.timeout_s,
        follow_redirects=request.follow_redirects,
        keeps_body=keeps_body,
        keeps_headers=keeps_headers,
        accepted=None if accepted is None else frozenset(accepted),
        accepted_text=" and ".join(accepted_text),
        judges=tuple(judges),
        degraded_after_ms=spec.degraded_after_ms,
    )


def _range_text(bounds: tuple[int, int]) -> str:
    low, high = bounds
    return str(low) if low == high else f"{low}-{high}"


# -- the judges ---------------------------------------------------------------------------------


def _read_note(answer: Answer, max_body_bytes: int) -> str:
    """How much of the body was looked at, for a detail."""
    if answer.body_complete:
        return f"(body of {len(answer.body or b'')} bytes)"
    return f"(first {max_body_bytes} bytes read)"


def _too_long(max_body_bytes: int, what: str) -> str:
    return (
        f"body is longer than {max_body_bytes} bytes (MAX_BODY_BYTES): cannot tell {what} past them"
    )


def _body_judge(assertion: BodyAssertion, max_body_bytes: int) -> Judge:
    op, value = assertion.op, assertion.value
    shown = _show(value)
    if op in ("contains", "not_contains"):
        expected = op == "contains"

        def judge_text(answer: Answer) -> str | None:
            found = value in answer.text()
            if expected:
                if found:
                    return None
                return f"body does not contain {shown} {_read_note(answer, max_body_bytes)}"
            if found:
                return f"body contains {shown}"
            if answer.body_complete:
                return None
            # Not in what was read, but the rest was never seen: no proof of absence.
            return _too_long(max_body_bytes, f"it does not contain {shown}")

        return judge_text

    pattern = compile_pattern(value)
    must_match = op == "matches"

    def judge_pattern(answer: Answer) -> str | None:
        try:
            match = pattern.search(answer.text(), timeout=REGEX_TIMEOUT_S)
        except TimeoutError:
            return (
                f"regex {shown} did not finish within {REGEX_TIMEOUT_S * 1000:g} ms on the body"
                f" {_read_note(answer, max_body_bytes)}"
            )
        if must_match:
            if match is not None:
                return None
            return f"body does not match {shown} {_read_note(answer, max_body_bytes)}"
        if match is not None:
            return f"body matches {shown} at {_show(match.group(0))}"
        if answer.body_complete:
            return None
        return _too_long(max_body_bytes, f"it does not match {shown}")

    return judge_pattern


def _json_judge(assertion: JSONAssertion, max_body_bytes: int) -> Judge:
    path_text, op, value = assertion.path, assertion.op, assertion.value
    path = compile_json_path(path_text)
    shown_path = path_text if len(path_text) <= _SHOWN_CHARS else path_text[:_SHOWN_CHARS] + "..."

    def judge(answer: Answer) -> str | None:
        if not answer.body_complete:
            return (
                f"body is longer than {max_body_bytes} bytes (MAX_BODY_BYTES): not parsed as JSON"
                f" for {shown_path}"
            )
        data, why = answer.json()
        if why is not None:
            return why
        try:
            found = path.findall(data)
        except Exception as exc:  # python-jsonpath's filter functions may raise on odd data
            return f"{shown_path} could not be evaluated: {_first_line(exc)}"
        if op == "not_exists":
            return None if not found else f"{shown_path} exists: {_show(found[0])}"
        if not found:
            if op == "exists":
                return f"{shown_path} not found"
            return f"{shown_path} not found, expected {_expectation(op, value)}"
        seen = found[0]  # several matches: the first is the value compared
        if op == "exists":
            return None
        if op == "equals":
            return (
                None
                if _same(seen, value)
                else f"{shown_path} is {_show(seen)}, expected {_show(value)}"
            )
        if op == "not_equals":
            return (
                None
                if not _same(seen, value)
                else f"{shown_path} is {_show(seen)}, expected another value"
            )
        # less_than / greater_than: the spec guarantees a number as value
        if isinstance(seen, bool) or not isinstance(seen, int | float):
            return f"{shown_path} is {_show(seen)}, not a number"
        assert isinstance(value, int | float)
        holds = seen < value if op == "less_than" else seen > value
        return (
            None if holds else f"{shown_path} is {_show(seen)}, expected {_expectation(op, value)}"
        )

    return judge


def _expectation(op: str, value: Any) -> str:
    if op == "less_than":
        return f"less than {_show(value)}"
    if op == "greater_than":
        return f"greater than {_show(value)}"
    if op == "not_equals":
        return f"a value other than {_show(value)}"
    return _show(value)


def _same(seen: Any, value: Any) -> bool:
    """JSON equality: true is not 1, "1" is not 1, but 1 is 1.0."""
    if isinstance(seen, bool) or isinstance(value, bool):
        return isinstance(seen, bool) and isinstance(value, bool) and seen == value
    if isinstance(value, int | float):
        return isinstance(seen, int | float) and seen == value
    return type(seen) is type(value) and bool(seen == value)


def _header_judge(assertion: HeaderAssertion) -> Judge:
    name, op, value = assertion.name, assertion.op, assertion.value
    shown_name, shown_value = _show(name), _show(value)

    def judge(answer: Answer) -> str | None:
        headers = answer.headers
        values = headers.getall(name, []) if headers is not None else []
        if not values:
            return f"header {shown_name} is missing, expected {shown_value}"
        seen = ", ".join(values)  # several fields of one name read as one list (RFC 9110 5.3)
        if op == "equals":
            if seen.strip() == value:
                return None
            return f"header {shown_name} is {_show(seen)}, expected {shown_value}"
        if value in seen:
            return None
        return f"header {shown_name} is {_show(seen)}, does not contain {shown_value}"

    return judge


def _latency_judge(assertion: LatencyAssertion) -> Judge:
    limit = assertion.below_ms

    def judge(answer: Answer) -> str | None:
        if answer.latency_ms < limit:
            return None
        return f"answered in {answer.latency_ms} ms, limit {limit} ms"

    return judge


def _tls_judge(assertion: TLSAssertion) -> Judge:
    min_days = assertion.min_days

    def judge(answer: Answer) -> str | None:
        expires = answer.tls_expires_at
        if expires is None:
            return "no TLS certificate: the answer did not come over https"
        days = math.floor((expires - answer.checked_at) / _SECONDS_PER_DAY)
        if days >= min_days:
            return None
        date = time.strftime("%Y-%m-%d", time.gmtime(expires))
        if days < 0:
            return f"certificate expired {-days} days ago ({date}), limit {min_days}"
        return f"certificate expires in {days} days ({date}), limit {min_days}"

    return judge


# -- wording ------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as a detail quotes it: strings in quotes, JSON literals as JSON, cut when long."""
    if isinstance(value, str):
        text = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."
        return repr(text)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    try:
        text = json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def join_details(details: list[str]) -> str:
    """Several failed assertions in one detail, cut to what the store keeps."""
    text = "; ".join(details)
    if len(text) > MAX_DETAIL_LENGTH:
        text = text[: MAX_DETAIL_LENGTH - 3] + "..."
    return text


__all__ = [
    "DEFAULT_PLAN",
    "REGEX_TIMEOUT_S",
    "Answer",
    "CheckPlan",
    "compile_check",
    "join_details",
]
