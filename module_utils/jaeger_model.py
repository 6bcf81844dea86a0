# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jaeger query responses -> one span model, plus the error type and duration parsing.

Both of Jaeger's HTTP APIs are parsed here: the internal JSON API (`/api/...`, the UI's) and the
stable API v3 (`/api/v3/...`, OTLP JSON). Everything that comes over the wire is checked before
use, so a surprising body ends in JaegerError("unexpected_response"), never in a traceback.
Kept compatible with Python 3.8: the module may run on a lab VM's system Python.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time


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


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def as_int(value, what, field):
    """JSON numbers, and OTLP JSON's int64-as-string, -> int."""
    if _is_int(value):
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


# --- internal JSON API (/api/...) --------------------------------------------------------------


def v1_data(doc, what):
    """Unwrap {"data":..., "errors":...}; Jaeger's own error list becomes the message."""
    doc = as_dict(doc, what, "body")
    errors = doc.get("errors")
    if errors:
        msgs = []
        for err in errors if isinstance(errors, list) else [errors]:
            msgs.append(str(err.get("msg", err)) if isinstance(err, dict) else str(err))
        raise JaegerError("http_error", f"Jaeger {what} answered: {snippet('; '.join(msgs), 200)}")
    if "data" not in doc:
        raise unexpected(what, f"no 'data' in {snippet(json.dumps(doc)[:200])}")
    return doc["data"]


def v1_names(doc, what):
    """/api/services and /api/services/{svc}/operations: a list of names (null when none)."""
    names = as_list(v1_data(doc, what), what, "data")
    return [as_str(name, what, "name") for name in names]


def _v1_tags(tags, what):
    out = {}
    for tag in as_list(tags, what, "tags"):
        tag = as_dict(tag, what, "tag")
        if isinstance(tag.get("key"), str):
            out[tag["key"]] = tag.get("value")
    return out


def v1_traces(doc, what):
    """/api/traces -> [Trace]; a span's service comes from the trace's `processes` map."""
    traces = []
    for raw in as_list(v1_data(doc, what), what, "data"):
        raw = as_dict(raw, what, "trace")
        processes = raw.get("processes") or {}
        processes = as_dict(processes, what, "processes")
        spans = []
        for item in as_list(raw.get("spans"), what, "spans"):
            item = as_dict(item, what, "span")
            trace_id = norm_id(item.get("traceID", raw.get("traceID")), what, "traceID")
            parent_id = None
            refs = as_list(item.get("references"), what, "references")
            # CHILD_OF is the real parent; FOLLOWS_FROM only if there is nothing better.
            for ref_type in ("CHILD_OF", "FOLLOWS_FROM"):
                for ref in refs:
                    if isinstance(ref, dict) and ref.get("refType") == ref_type and parent_id is None:
                        parent_id = norm_id(ref.get("spanID"), what, "references.spanID")
            process = processes.get(item.get("processID")) if isinstance(item.get("processID"), str) else None
            service = process.get("serviceName") if isinstance(process, dict) else None
            spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=norm_id(item.get("spanID"), what, "spanID"),
                    parent_id=parent_id,
                    operation=as_str(item.get("operationName"), what, "operationName", allow_empty=True),
                    service=service if isinstance(service, str) else None,
                    start_us=as_int(item.get("startTime"), what, "startTime"),
                    duration_us=as_int(item.get("duration"), what, "duration"),
                    attributes=_v1_tags(item.get("tags"), what),
                )
            )
        if spans:
            traces.append(Trace(spans[0].trace_id, spans))
    return traces


# --- API v3 (/api/v3/..., OTLP JSON) -----------------------------------------------------------


def any_value(value):
    """OTLP JSON AnyValue -> a plain Python value (None for anything unknown)."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"] if isinstance(value["stringValue"], str) else None
    if "boolValue" in value:
        return value["boolValue"] if isinstance(value["boolValue"], bool) else None
    if "intValue" in value:
        try:
            return as_int(value["intValue"], "", "")
        except JaegerError:
            return None
    if "doubleValue" in value:
        raw = value["doubleValue"]
        return float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
    if "bytesValue" in value:
        return value["bytesValue"] if isinstance(value["bytesValue"], str) else None
    if "arrayValue" in value and isinstance(value["arrayValue"], dict):
        values = value["arrayValue"].get("values")
        return [any_value(item) for item in values] if isinstance(values, list) else None
    if "kvlistValue" in value and isinstance(value["kvlistValue"], dict):
        return otlp_attributes(value["kvlistValue"].get("values"))
    return None


def otlp_attributes(items):
    out = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = any_value(item.get("value"))
    return out


def v3_error(doc):
    """{"error": {"httpCode": 404, "message": "..."}} -> (code, message), or None for other shapes."""
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        err = doc["error"]
        code = err.get("httpCode", err.get("code"))
        return (code if _is_int(code) else None), str(err.get("message", ""))
    return None


def v3_services(doc, what):
    doc = as_dict(doc, what, "body")
    # An empty Jaeger answers {} (proto3 JSON leaves out empty lists).
    if not doc:
        return []
    if "services" not in doc:
        raise unexpected(what, f"no 'services' in {snippet(json.dumps(doc)[:200])}")
    return [as_str(name, what, "services[]") for name in as_list(doc["services"], what, "services")]


def v3_operations(doc, what):
    doc = as_dict(doc, what, "body")
    if not doc:
        return []
    if "operations" not in doc:
        raise unexpected(what, f"no 'operations' in {snippet(json.dumps(doc)[:200])}")
    names = []
    for op in as_list(doc["operations"], what, "operations"):
        op = as_dict(op, what, "operation")
        names.append(as_str(op.get("name"), what, "operations[].name", allow_empty=True))
    return names


def v3_traces(doc, what):
    """{"result": {"resourceSpans": [...]}} (or a stream of them) -> [Trace]."""
    docs = doc["_stream"] if isinstance(doc, dict) and "_stream" in doc else [doc]
    spans = []
    for part in docs:
        part = as_dict(part, what, "body")
        if "result" not in part:
            raise unexpected(what, f"no 'result' in {snippet(json.dumps(part)[:200])}")
        result = as_dict(part["result"], what, "result")
        for resource_spans in as_list(result.get("resourceSpans"), what, "resourceSpans"):
            resource_spans = as_dict(resource_spans, what, "resourceSpans[]")
            resource = as_dict(resource_spans.get("resource") or {}, what, "resource")
            service = otlp_attributes(resource.get("attributes")).get("service.name")
            for scope_spans in as_list(resource_spans.get("scopeSpans"), what, "scopeSpans"):
                scope_spans = as_dict(scope_spans, what, "scopeSpans[]")
                for item in as_list(scope_spans.get("spans"), what, "spans"):
                    spans.append(_v3_span(as_dict(item, what, "span"), service, what))
    return group_traces(spans)


def _v3_span(item, service, what):
    start_ns = as_int(item.get("startTimeUnixNano"), what, "startTimeUnixNano")
    end_ns = as_int(item.get("endTimeUnixNano"), what, "endTimeUnixNano")
    parent = item.get("parentSpanId")
    # A root span has no parentSpanId, or an empty one.
    parent_id = norm_id(parent, what, "parentSpanId", allow_empty=True) if parent is not None else ""
    return Span(
        trace_id=norm_id(item.get("traceId"), what, "traceId"),
        span_id=norm_id(item.get("spanId"), what, "spanId"),
        parent_id=parent_id or None,
        operation=as_str(item.get("name", ""), what, "name", allow_empty=True),
        service=service if isinstance(service, str) else None,
        start_us=start_ns // 1000,
        duration_us=max(0, end_ns - start_ns) // 1000,
        attributes=otlp_attributes(item.get("attributes")),
    )
