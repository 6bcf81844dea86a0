# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The span model both Jaeger APIs are parsed into, the error type, durations, and the checked
accessors the parsers use on anything that came over the wire.

Kept compatible with Python 3.8: the module may run on a lab VM's system Python.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import math
import re
import time
from urllib.parse import quote, urlencode


class JaegerError(Exception):
    """A failure with a stable machine-readable `reason` and extra context for the result."""

    def __init__(self, reason, msg, retry=False, **context):
        super().__init__(msg)
        self.reason = reason
        self.msg = msg
        # retry: the condition may clear by itself (Jaeger restarting), so polling goes on.
        self.retry = retry
        self.context = context


def unexpected(what, detail):
    return JaegerError("unexpected_response", f"unexpected response from Jaeger {what}: {detail}")


def trace_link(ui_base, trace_id):
    """The Jaeger UI's page of one trace."""
    return f"{ui_base}/trace/{trace_id}"


def search_link(ui_base, service):
    """The Jaeger UI's search of one service's traces (the UI's own form fills in the rest)."""
    return f"{ui_base}/search?" + urlencode({"service": service}, quote_via=quote)


# --- durations ---------------------------------------------------------------------------------

_UNIT_NAMES = {"ms": "milliseconds", "s": "seconds"}
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "\u00b5s": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6, "d": 8.64e7}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|ms|s|m|h|d))+")


def parse_duration_ms(value, name, bare_unit="ms"):
    """'300ms', '1.5s', '2m', '1m30s' or a plain number (in bare_unit) -> milliseconds (float)."""
    hint = f"{name}: cannot parse {value!r}; use e.g. 300ms, 1.5s, 2m or a number of {_UNIT_NAMES[bare_unit]}"
    # bool is an int subclass: `min_duration: yes` must not mean 1 ms.
    if isinstance(value, bool) or value is None:
        raise JaegerError("bad_parameter", hint)
    if isinstance(value, (int, float)):
        ms = float(value) * _UNIT_MS[bare_unit]
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d*)?|\.\d+", text):
            ms = float(text) * _UNIT_MS[bare_unit]
        elif _WHOLE.fullmatch(text):
            ms = sum(float(num) * _UNIT_MS[unit] for num, unit in _PART.findall(text))
        else:
            raise JaegerError("bad_parameter", hint)
    else:
        raise JaegerError("bad_parameter", hint)
    if math.isnan(ms) or math.isinf(ms) or ms < 0:
        raise JaegerError("bad_parameter", hint)
    return ms


_ABSOLUTE = re.compile(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(\.\d+)?([Zz]|[+-]\d\d:?\d\d)")
# A `since` further ahead than this is a mistake, not clock skew.
_FUTURE_SLACK_S = 3600


def parse_since(value, now_s):
    """`since` -> (window start in epoch µs, words for messages), resolved once.

    A duration back from now_s ('15m', or a number of seconds), '@<epoch seconds>', or RFC 3339
    with a zone ('2026-11-25T12:00:00Z', '...+02:00').
    """
    hint = "since: cannot parse {!r}; use a duration (15m, 7d), @<epoch seconds> or RFC 3339 with a zone"
    text = value.strip() if isinstance(value, str) else None
    if text and text.startswith("@"):
        try:
            epoch = float(text[1:])
        except ValueError:
            raise JaegerError("bad_parameter", hint.format(value)) from None
        return _absolute(epoch, value, now_s, hint)
    if text and _ABSOLUTE.fullmatch(text):
        return _absolute(rfc3339_epoch(text, hint.format(value)), value, now_s, hint)
    ms = parse_duration_ms(value, "since", bare_unit="s")
    if ms <= 0:
        raise JaegerError("bad_parameter", "since must be longer than 0")
    shown = f"{value}s" if isinstance(value, (int, float)) else str(value).strip()
    return int(now_s * 1_000_000 - ms * 1000), f"in the last {shown}"


def rfc3339_epoch(text, hint):
    """RFC 3339 with a zone ('2026-12-10T23:59:00Z', '...+02:00', a fraction allowed) -> epoch seconds;
    JaegerError(bad_parameter, hint) for anything else, a day or time that does not exist included."""
    match = _ABSOLUTE.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise JaegerError("bad_parameter", hint)
    day, clock, fraction, zone = match.groups()
    try:
        epoch = calendar.timegm(time.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise JaegerError("bad_parameter", hint) from None
    epoch += float(fraction or 0)
    if zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch


def parse_until(value, start_us):
    """`until` (RFC 3339 with a zone) -> (window end in epoch µs, words for messages): traces that started
    later do not count. It may lie ahead (the deadline has not come yet), not before the window's start."""
    hint = f"until: cannot parse {value!r}; use RFC 3339 with a zone, such as 2026-12-10T23:59:00Z"
    end_us = int(rfc3339_epoch(value, hint) * 1_000_000)
    if end_us <= start_us:
        raise JaegerError("bad_parameter", f"until: {value!r} is not after the window's start {rfc3339(start_us)}")
    return end_us, f"started by {rfc3339(end_us)}"


def _absolute(epoch, value, now_s, hint):
    if math.isnan(epoch) or math.isinf(epoch) or epoch <= 0:
        raise JaegerError("bad_parameter", hint.format(value))
    if epoch > now_s + _FUTURE_SLACK_S:
        raise JaegerError("bad_parameter", f"since: {value!r} is in the future")
    start_us = int(epoch * 1_000_000)
    return start_us, f"since {rfc3339(start_us)}"


def go_duration(ms):
    """Milliseconds -> a Go duration string, which both Jaeger APIs parse (whole microseconds)."""
    return f"{int(round(ms * 1000))}us"


def rfc3339(epoch_us):
    """Epoch microseconds -> RFC 3339 UTC with microseconds (what API v3 wants, and `start`)."""
    seconds, micros = divmod(int(epoch_us), 1_000_000)
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"
    except (OverflowError, OSError, ValueError):
        # A span time out of the platform's range: show the number rather than fail.
        return str(epoch_us)


def format_ms(ms):
    return f"{ms:.1f} ms"


# --- the span model ----------------------------------------------------------------------------


class Span:
    __slots__ = ("trace_id", "span_id", "parent_id", "operation", "service", "start_us", "duration_us", "attributes")

    def __init__(self, trace_id, span_id, parent_id, operation, service, start_us, duration_us, attributes):
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.operation = operation
        self.service = service
        self.start_us = start_us
        self.duration_us = duration_us
        self.attributes = attributes

    @property
    def duration_ms(self):
        return self.duration_us / 1000.0

    def __repr__(self):
        return f"Span({self.span_id} {self.operation!r} {self.service} {self.duration_ms:.1f}ms)"


class Trace:
    __slots__ = ("trace_id", "spans")

    def __init__(self, trace_id, spans):
        self.trace_id = trace_id
        self.spans = spans

    def by_id(self):
        return {span.span_id: span for span in self.spans}

    @property
    def start_us(self):
        return min(span.start_us for span in self.spans) if self.spans else 0


def group_traces(spans):
    """Spans in any order -> traces in first-seen order (v3 splits a trace over resources)."""
    traces = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    return [Trace(trace_id, members) for trace_id, members in traces.items()]


# --- wire helpers ------------------------------------------------------------------------------


def loads(body, what):
    """Bytes -> JSON value, or unexpected_response naming what was asked."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise unexpected(what, "body is not UTF-8 text") from None
    text = body.strip()
    if not text:
        raise unexpected(what, "empty body")
    try:
        return json.loads(text)
    except RecursionError:
        raise unexpected(what, "JSON nested too deeply") from None
    except ValueError:
        pass
    # Older Jaeger (grpc-gateway) streamed one JSON document per chunk: accept a sequence.
    docs, pos, decoder = [], 0, json.JSONDecoder()
    try:
        while pos < len(text):
            doc, pos = decoder.raw_decode(text, pos)
            docs.append(doc)
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
    except (ValueError, RecursionError):
        raise unexpected(what, f"not JSON: {snippet(text)}") from None
    return {"_stream": docs}


def snippet(text, size=80):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text).split())
    return text if len(text) <= size else text[: size - 3] + "..."


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def as_int(value, what, field):
    """JSON numbers, and OTLP JSON's int64-as-string, -> int."""
    if is_int(value):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,25}", value.strip()):
        return int(value)
    raise unexpected(what, f"{field} is {snippet(repr(value), 40)}, not an integer")


def as_str(value, what, field, allow_empty=False):
    if isinstance(value, str) and (value or allow_empty):
        return value
    raise unexpected(what, f"{field} is {snippet(repr(value), 40)}, not a string")


def as_list(value, what, field, none_ok=True):
    if value is None and none_ok:
        return []
    if isinstance(value, list):
        return value
    raise unexpected(what, f"{field} is {type(value).__name__}, not a list")


def as_dict(value, what, field):
    if isinstance(value, dict):
        return value
    raise unexpected(what, f"{field} is {type(value).__name__}, not an object")


def norm_id(value, what, field, allow_empty=False):
    """Hex ids stay as they are (lower-cased); protojson's base64 ids are turned into hex."""
    value = as_str(value, what, field, allow_empty=allow_empty)
    if not value or re.fullmatch(r"[0-9a-fA-F]+", value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise unexpected(what, f"{field} {snippet(value, 40)} is neither hex nor base64") from None
    return binascii.hexlify(raw).decode("ascii")
