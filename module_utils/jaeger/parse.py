# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jaeger's answers -> names and [Trace], for the internal JSON API (`/api/...`, the UI's) and the
stable API v3 (`/api/v3/...`, OTLP JSON).

Every field is checked before use, so a surprising body ends in
JaegerError("unexpected_response"), never in a traceback.
"""

from __future__ import annotations

import json

from .model import (
    JaegerError,
    Span,
    Trace,
    as_dict,
    as_int,
    as_list,
    as_str,
    group_traces,
    is_int,
    norm_id,
    snippet,
    unexpected,
)

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
        processes = raw.get("processes")
        processes = {} if processes is None else as_dict(processes, what, "processes")
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
        return (code if is_int(code) else None), str(err.get("message", ""))
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
    # A JSON body may carry a "_stream" key too: its value is checked like any other list.
    docs = as_list(doc["_stream"], what, "body", none_ok=False) if isinstance(doc, dict) and "_stream" in doc else [doc]
    spans = []
    for part in docs:
        part = as_dict(part, what, "body")
        if "result" not in part:
            raise unexpected(what, f"no 'result' in {snippet(json.dumps(part)[:200])}")
        result = as_dict(part["result"], what, "result")
        for resource_spans in as_list(result.get("resourceSpans"), what, "resourceSpans"):
            resource_spans = as_dict(resource_spans, what, "resourceSpans[]")
            resource = resource_spans.get("resource")
            resource = {} if resource is None else as_dict(resource, what, "resource")
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
