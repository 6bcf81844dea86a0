"""Matching, the explanation of a miss, and the waterfall: on recorded traces and hand-made edge cases."""

from __future__ import annotations

import re

import pytest
from ansible.module_utils.jaeger.match import Criteria, evaluate, ordered, span_rows, waterfall
from ansible.module_utils.jaeger.model import Span, Trace, loads
from ansible.module_utils.jaeger.parse import v1_traces, v3_traces
from ansible.module_utils.jaeger.verdict import explain
from jaeger_replay import body, load_exchanges, load_scenario

SCENARIO = load_scenario()["services"]
PARSERS = {"v3": (v3_traces, "/api/v3/traces", "query.service_name"), "v1": (v1_traces, "/api/traces", "service")}


def recorded(api, service):
    """All recorded traces of a service (the unfiltered search), parsed with that API's parser."""
    parse, path, name = PARSERS[api]
    for ex in load_exchanges():
        if ex["stage"] == "scenario" and ex["api"] == api and ex["path"] == path and ex["status"] == 200:
            if ex["params"].get(name) == service and not {"query.duration_min", "minDuration", "query.duration_max",
                                                           "maxDuration"} & set(ex["params"]):  # fmt: skip
                return parse(loads(body(ex), path), path)
    raise LookupError(service)


def service_where(**want):
    return next(name for name, spec in SCENARIO.items() if all(spec[k] == v for k, v in want.items()))


GOOD = {"operation": "validate_inventory_cache", "parent_operation": "GET /api/v1/inventory"}
VM1 = service_where(traces=2)
SHORT = service_where(child="validate_inventory_cache", child_ms=120)
WRONG_PARENT = service_where(parent="GET /health")
APIS = pytest.mark.parametrize("api", ["v3", "v1"])


@APIS
def test_good_service_matches_every_trace_newest_first(api):
    ev = evaluate(recorded(api, VM1), Criteria(VM1, min_ms=300, max_ms=2000, **GOOD))
    assert len(ev.matched) == SCENARIO[VM1]["traces"]
    starts = [span.start_us for _, span in ev.matched]
    assert starts == sorted(starts, reverse=True)
    assert all(span.operation == GOOD["operation"] for _, span in ev.matched)
    assert ev.closest is None


@APIS
def test_too_short_names_the_measured_duration(api):
    c = Criteria(SHORT, min_ms=300, **GOOD)
    ev = evaluate(recorded(api, SHORT), c)
    reason, msg, ctx = explain(ev, c, "in the last 15m")
    assert reason == "too_short"
    child_ms = SCENARIO[SHORT]["child_ms"]
    assert child_ms <= ctx["measured_ms"] < child_ms + 100
    assert f"lasted {ctx['measured_ms']:.1f} ms" in msg
    assert "below min_duration 300.0 ms" in msg
    assert "\n" not in msg


@APIS
def test_too_long_names_the_measured_duration(api):
    c = Criteria(VM1, max_ms=100, **GOOD)
    reason, msg, ctx = explain(evaluate(recorded(api, VM1), c), c, "in the last 15m")
    assert reason == "too_long"
    assert ctx["measured_ms"] >= SCENARIO[VM1]["child_ms"]
    assert "above max_duration 100.0 ms" in msg
    # Both traces were too long: the message says the best of them was, too.
    assert f"shortest of {SCENARIO[VM1]['traces']} seen" in msg


@APIS
def test_wrong_parent_says_which_parent_it_has(api):
    c = Criteria(WRONG_PARENT, **GOOD)
    reason, msg, ctx = explain(evaluate(recorded(api, WRONG_PARENT), c), c, "in the last 15m")
    assert reason == "parent_mismatch"
    assert ctx["parent_seen"] == SCENARIO[WRONG_PARENT]["parent"]
    assert f"sits under {SCENARIO[WRONG_PARENT]['parent']!r}" in msg
    assert "parent_operation 'GET /api/v1/inventory'" in msg


@APIS
def test_root_span_has_no_parent(api):
    c = Criteria(VM1, operation="GET /api/v1/inventory", parent_operation="edge-proxy")
    reason, msg, ctx = explain(evaluate(recorded(api, VM1), c), c, "in the last 15m")
    assert reason == "parent_mismatch"
    assert ctx["parent_seen"] is None
    assert "is a root span" in msg


@APIS
def test_attribute_mismatch_shows_both_values(api):
    c = Criteria(VM1, attributes={"cache.hit": True}, **GOOD)
    reason, msg, ctx = explain(evaluate(recorded(api, VM1), c), c, "in the last 15m")
    assert reason == "attributes_mismatch"
    assert "cache.hit=false" in msg and "wants cache.hit=true" in msg
    assert ctx["attributes_seen"] == {"cache.hit": False}


@APIS
def test_attributes_match_across_types(api):
    # inventory.items was sent as an int; YAML may give it as a string.
    c = Criteria(VM1, attributes={"inventory.items": "3", "cache.hit": "false"}, **GOOD)
    assert len(evaluate(recorded(api, VM1), c).matched) == SCENARIO[VM1]["traces"]


@APIS
def test_missing_attribute(api):
    c = Criteria(VM1, attributes={"http.route": "/api/v1/inventory"}, **GOOD)
    reason, msg, _ = explain(evaluate(recorded(api, VM1), c), c, "in the last 15m")
    assert reason == "attributes_mismatch"
    assert "no attribute 'http.route'" in msg


@APIS
def test_too_few_traces(api):
    c = Criteria(VM1, min_traces=SCENARIO[VM1]["traces"] + 1, **GOOD)
    ev = evaluate(recorded(api, VM1), c)
    reason, msg, _ = explain(ev, c, "in the last 15m")
    assert reason == "too_few_traces"
    assert f"found {SCENARIO[VM1]['traces']} matching trace(s)" in msg
    assert f"min_traces is {c.min_traces}" in msg


def test_no_traces():
    c = Criteria("svc", **GOOD)
    reason, msg, _ = explain(evaluate([], c), c, "in the last 5m")
    assert reason == "no_traces"
    assert "in the last 5m" in msg and "'validate_inventory_cache'" in msg


def span(span_id, op, parent=None, start=0, dur=1000, service="svc", attrs=None, trace_id="t1"):
    return Span(trace_id, span_id, parent, op, service, start, dur, attrs or {})


def test_closest_miss_is_the_one_that_got_furthest():
    c = Criteria("svc", operation="op", parent_operation="root", min_ms=300)
    trace = Trace("t1", [
        span("r", "root", start=0, dur=900_000),
        span("a", "op", parent="r", start=10, dur=100_000),  # too short only
        span("b", "op", parent=None, start=20, dur=50_000),  # too short and no parent
    ])  # fmt: skip
    ev = evaluate([trace], c)
    assert ev.closest[1].span_id == "a"
    assert ev.closest[2] == ["min"]


def test_other_services_spans_do_not_count():
    c = Criteria("svc", operation="op")
    trace = Trace("t1", [span("a", "op", service="other"), span("b", "root")])
    ev = evaluate([trace], c)
    assert ev.matched == [] and ev.durations == []


def test_parent_not_in_trace():
    c = Criteria("svc", operation="op", parent_operation="root")
    trace = Trace("t1", [span("a", "op", parent="feedbeef")])
    reason, msg, ctx = explain(evaluate([trace], c), c, "in the last 15m")
    assert reason == "parent_mismatch"
    assert "feedbeef" in msg and "not in the trace" in msg


@APIS
def test_span_rows_in_tree_order_with_parent_names(api):
    trace = recorded(api, VM1)[0]
    rows = span_rows(trace)
    spec = SCENARIO[VM1]
    assert [r["operation"] for r in rows] == [spec["parent"], spec["child"]]
    assert [r["parent"] for r in rows] == [None, spec["parent"]]
    assert rows[0]["offset_ms"] == 0
    assert rows[1]["parent_span_id"] == rows[0]["span_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rows[0]["start"])


@APIS
def test_waterfall_of_a_recorded_trace(api):
    trace = recorded(api, VM1)[0]
    child = next(s for s in trace.spans if s.operation == SCENARIO[VM1]["child"])
    lines = waterfall(trace, mark=child, width=30).splitlines()
    assert len(lines) == 1 + len(trace.spans)
    header, root_line, child_line = lines
    assert header.split() == ["operation", "offset", "duration"]
    assert root_line.startswith(SCENARIO[VM1]["parent"])
    assert child_line.startswith("  " + child.operation)  # indented one level
    assert child_line.endswith("| <") and not root_line.endswith("<")
    for line in (root_line, child_line):
        bar = line[line.index("|") + 1 : line.rindex("|")]
        assert len(bar) == 30 and set(bar) <= {" ", "#"} and "#" in bar
    # The root covers the whole trace; the child starts later.
    assert root_line[root_line.index("|") + 1] == "#"
    assert f"{child.duration_ms:.1f}ms" in child_line


def test_waterfall_truncates_and_survives_a_parent_loop():
    spans = [span("a", "x", parent="b"), span("b", "y", parent="a")] + [
        span(f"s{i}", f"op{i}", start=i * 10, dur=5) for i in range(50)
    ]
    trace = Trace("t1", spans)
    assert len(ordered(trace)) == len(spans)
    text = waterfall(trace, max_rows=10)
    assert text.splitlines()[-1] == f"... {len(spans) - 10} more spans"


def test_waterfall_of_a_deep_trace_does_not_recurse():
    spans = [span("0", "op")] + [span(str(i), "op", parent=str(i - 1), start=i) for i in range(1, 5000)]
    depths = [depth for depth, _ in ordered(Trace("t1", spans))]
    assert depths == list(range(5000))
