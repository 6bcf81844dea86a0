"""Property-based: odd and malformed JSON never escapes the parsers as anything but JaegerError."""

from __future__ import annotations

import copy
import json

from ansible.module_utils.jaeger.check import Checker, Plan
from ansible.module_utils.jaeger.match import Criteria, canon, evaluate, ordered, shown, span_rows, waterfall
from ansible.module_utils.jaeger.model import JaegerError, Span, Trace, loads, parse_duration_ms
from ansible.module_utils.jaeger.parse import (
    any_value,
    v1_names,
    v1_traces,
    v3_error,
    v3_operations,
    v3_services,
    v3_traces,
)
from ansible.module_utils.jaeger.query import V1Api, V3Api
from ansible.module_utils.jaeger.verdict import REASONS, explain
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                                             inner, max_size=4),
                           max_leaves=30)  # fmt: skip

# Well-formed answers (a few traces, spans that refer to each other) ...
trace_ids = st.sampled_from(["0" * 31 + "1", "ab" * 16, "c0ef5a2e85bd6887d4eccbf095eb4dee"])
span_ids = st.sampled_from([c * 16 for c in "abcde"])  # few ids: parents found, loops and duplicates too
names = st.sampled_from(["op", "p", "GET /api/v1/inventory", "validate_inventory_cache", ""])
times = st.integers(0, 2**63)
attr_value = st.fixed_dictionaries({}, optional={
    "stringValue": st.text(max_size=5), "boolValue": st.booleans(), "intValue": times.map(str),
    "doubleValue": st.floats(allow_nan=False), "arrayValue": st.just({"values": [{"stringValue": "x"}]}),
    "kvlistValue": st.just({"values": [{"key": "k", "value": {"intValue": "1"}}]}), "bytesValue": st.just("AAE="),
})  # fmt: skip
otlp_attrs = st.lists(st.fixed_dictionaries({"key": st.sampled_from(["k", "cache.hit", "service.name"]),
                                             "value": attr_value}), max_size=3)  # fmt: skip
v3_span = st.fixed_dictionaries({
    "traceId": trace_ids, "spanId": span_ids, "name": names,
    "startTimeUnixNano": times.map(str), "endTimeUnixNano": times.map(str),
}, optional={"parentSpanId": span_ids | st.just(""), "attributes": otlp_attrs, "kind": st.integers(0, 5)})  # fmt: skip
v3_doc = st.fixed_dictionaries({"result": st.fixed_dictionaries({"resourceSpans": st.lists(st.fixed_dictionaries({
    "resource": st.fixed_dictionaries({"attributes": st.just([{"key": "service.name",
                                                               "value": {"stringValue": "svc"}}]) | otlp_attrs}),
    "scopeSpans": st.lists(st.fixed_dictionaries({"spans": st.lists(v3_span, max_size=5)}), max_size=2),
}), max_size=3)})})  # fmt: skip
v1_span = st.fixed_dictionaries({
    "traceID": trace_ids, "spanID": span_ids, "operationName": names,
    "startTime": times, "duration": times, "processID": st.sampled_from(["p1", "p2"]),
    "references": st.lists(st.fixed_dictionaries({"refType": st.sampled_from(["CHILD_OF", "FOLLOWS_FROM"]),
                                                  "spanID": span_ids}), max_size=2),
    "tags": st.lists(st.fixed_dictionaries({"key": st.sampled_from(["k", "cache.hit"]),
                                            "type": st.just("string"), "value": scalars}), max_size=3),
})  # fmt: skip
v1_doc = st.fixed_dictionaries({"data": st.lists(st.fixed_dictionaries({
    "traceID": trace_ids, "spans": st.lists(v1_span, max_size=5),
    "processes": st.just({"p1": {"serviceName": "svc", "tags": []}, "p2": {"serviceName": "other"}}),
}), max_size=3), "errors": st.none()})  # fmt: skip


def nodes(doc):
    """(container, key) of every value inside doc."""
    stack = [doc]
    while stack:
        item = stack.pop()
        keys = list(item) if isinstance(item, dict) else range(len(item)) if isinstance(item, list) else []
        for key in keys:
            yield item, key
            stack.append(item[key])


def damaged(data, strategy):
    """... then a few of their values replaced by anything at all: wrong types, odd numbers, junk."""
    # A copy: st.just() hands out the same object every time, and it is changed in place here.
    doc = copy.deepcopy(data.draw(strategy))
    for _ in range(data.draw(st.integers(0, 3))):
        spots = list(nodes(doc))
        if not spots:
            break
        container, key = data.draw(st.sampled_from(spots))
        container[key] = data.draw(json_values)
    return doc


PARSERS = [v1_names, v1_traces, v3_services, v3_operations, v3_traces]


def only_jaeger_errors(fn, *args):
    try:
        return fn(*args)
    except JaegerError as exc:
        assert exc.reason in {"unexpected_response", "http_error"}
        assert isinstance(exc.msg, str) and "\n" not in exc.msg
        return None


@SETTINGS
@given(json_values)
@example({"_stream": None})  # a body that looks like the parser's own stream of documents
def test_any_json_into_any_parser(doc):
    for parse in PARSERS:
        only_jaeger_errors(parse, doc, "/api/x")
    v3_error(doc)
    any_value(doc)


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_into_loads(raw):
    only_jaeger_errors(loads, raw, "/api/x")


def check_everything(traces):
    """Whatever parsed must also survive matching, explaining and presenting."""
    for c in (Criteria("svc", operation="op", parent_operation="p", min_ms=1, max_ms=2, attributes={"k": 1}),
              Criteria("svc")):  # fmt: skip
        ev = evaluate(traces, c)
        if len(ev.matched) < c.min_traces:
            reason, msg, _ = explain(ev, c, "in the last 15m")
            assert "\n" not in msg
    for trace in traces:
        span_rows(trace)
        waterfall(trace, mark=trace.spans[0] if trace.spans else None)


@SETTINGS
@given(st.data())
def test_v3_shaped_documents(data):
    doc = damaged(data, v3_doc)
    traces = only_jaeger_errors(v3_traces, doc, "/api/v3/traces")
    if traces is not None:
        check_everything(traces)


@SETTINGS
@given(st.data())
def test_v1_shaped_documents(data):
    doc = damaged(data, v1_doc)
    traces = only_jaeger_errors(v1_traces, doc, "/api/traces")
    if traces is not None:
        check_everything(traces)


class RawClient:
    """A Client stand-in whose every answer is the given body."""

    base_url = "http://j"

    def __init__(self, raw, status=200):
        self.raw, self.status = raw, status

    def get(self, path, params=None, accept=()):
        if self.status >= 400 and self.status not in accept:
            raise JaegerError("http_error", "HTTP error")
        return self.status, self.raw


@SETTINGS
@given(st.data(), st.sampled_from([200, 404]), st.sampled_from([V3Api, V1Api]), st.booleans())
def test_a_whole_check_on_odd_answers_ends_in_a_result(data, status, api_class, fail_fast):
    doc = damaged(data, st.one_of(v3_doc, v1_doc, json_values))
    raw = json.dumps(doc).encode()
    api = api_class(RawClient(raw, status))
    c = Criteria("svc", operation="op", parent_operation="root", min_ms=1)
    [res] = Checker(api, "http://j").run(Plan([c], 0, "in the last 1m", 0, 0.01, 1, fail_fast=fail_fast))
    assert isinstance(res["ok"], bool) and res["reason"] in REASONS and "\n" not in res["msg"]
    assert [check["name"] for check in res["checks"]] == ["service", "parent_trace", "operation", "duration"]
    assert all(check["ok"] in (True, False, None) for check in res["checks"])


@SETTINGS
@given(json_values)
def test_duration_parser_accepts_or_explains(value):
    try:
        ms = parse_duration_ms(value, "min_duration")
    except JaegerError as exc:
        assert exc.reason == "bad_parameter" and exc.msg.startswith("min_duration")
    else:
        assert ms >= 0


@SETTINGS
@given(json_values)
def test_attribute_comparison_and_display_take_anything(value):
    assert isinstance(canon(value), str)
    assert isinstance(shown(value), str)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from("abcdefg") | st.none(), times), max_size=12))
def test_tree_order_lists_every_span_once_whatever_the_parent_graph(links):
    spans = [Span("t", sid, parent, "op", "svc", start, 1, {}) for sid, parent, start in links]
    rows = ordered(Trace("t", spans))
    assert sorted(map(id, (s for _, s in rows))) == sorted(map(id, spans))
    for depth, span in rows:
        assert depth >= 0
        if depth:
            # Directly under its parent's subtree: some earlier row one level up is the parent.
            assert any(d == depth - 1 and p.span_id == span.parent_id for d, p in rows[: rows.index((depth, span))])
