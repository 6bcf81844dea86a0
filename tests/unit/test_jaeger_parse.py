"""Parsers against bodies recorded from a real Jaeger v2 (scripts/record_jaeger_fixtures.py)."""

from __future__ import annotations

import copy
import json

import pytest
from ansible.module_utils.jaeger.match import canon
from ansible.module_utils.jaeger.model import JaegerError, loads
from ansible.module_utils.jaeger.parse import (
    v1_names,
    v1_traces,
    v3_error,
    v3_operations,
    v3_services,
    v3_traces,
)
from jaeger_replay import body, find, load_exchanges, load_scenario

SCENARIO = load_scenario()
SERVICES = SCENARIO["services"]
VM1 = next(name for name, spec in SERVICES.items() if spec["traces"] > 1)
NO_CHILD = next(name for name, spec in SERVICES.items() if spec["child"] is None)


def doc(exchange):
    return loads(body(exchange), exchange["path"])


def search(api, service):
    """The recorded search of a service without operation/duration filters, parsed by that API's parser."""
    parse = v3_traces if api == "v3" else v1_traces
    return parse(doc(_unfiltered(api, service)), "t")


def _unfiltered(api, service):
    name = "query.service_name" if api == "v3" else "service"
    path = "/api/v3/traces" if api == "v3" else "/api/traces"
    for ex in load_exchanges():
        extra = set(ex["params"]) - {name, "query.num_traces", "query.search_depth", "limit"}
        if ex["stage"] == "scenario" and ex["api"] == api and ex["path"] == path and not extra:
            if ex["params"][name] == service:
                return ex
    return None


def test_empty_jaeger_has_no_services_in_either_api():
    v3 = doc(find("empty", "v3", "/api/v3/services"))
    assert v3 == {}  # proto3 JSON leaves the empty list out
    assert v3_services(v3, "t") == []
    v1 = doc(find("empty", "v1", "/api/services"))
    assert v1["data"] is None
    assert v1_names(v1, "t") == []


@pytest.mark.parametrize(("api", "path", "parse"), [("v3", "/api/v3/services", v3_services),
                                                    ("v1", "/api/services", v1_names)])  # fmt: skip
def test_services_list_what_was_sent(api, path, parse):
    assert sorted(parse(doc(find("scenario", api, path)), "t")) == sorted(SERVICES)


def test_operations_of_a_service_in_both_apis():
    spec = SERVICES[NO_CHILD]
    want = sorted(op for op in (spec["parent"], spec["child"]) if op)
    v3 = v3_operations(doc(find("scenario", "v3", "/api/v3/operations", service=NO_CHILD)), "t")
    v1_path = "/api/services/" + NO_CHILD + "/operations"
    v1 = v1_names(doc(find("scenario", "v1", v1_path)), "t")
    assert sorted(v3) == sorted(v1) == want


@pytest.mark.parametrize("api", ["v3", "v1"])
def test_traces_of_vm1_are_those_sent(api):
    spec = SERVICES[VM1]
    traces = search(api, VM1)
    assert sorted(t.trace_id for t in traces) == sorted(spec["trace_ids"])
    for trace in traces:
        by_op = {span.operation: span for span in trace.spans}
        assert set(by_op) == {spec["parent"], spec["child"]}
        child, parent = by_op[spec["child"]], by_op[spec["parent"]]
        assert child.parent_id == parent.span_id
        assert parent.parent_id is None
        assert {child.service, parent.service} == {VM1}
        # The SDK slept child_ms inside the span: measured a bit longer, never shorter.
        assert spec["child_ms"] <= child.duration_ms < spec["child_ms"] + 100
        assert parent.start_us <= child.start_us
        assert parent.start_us + parent.duration_us >= child.start_us + child.duration_us
        for key, value in spec["attributes"].items():
            assert canon(child.attributes[key]) == canon(value)


def test_both_apis_describe_the_same_spans():
    def flat(traces):
        return sorted(
            (s.trace_id, s.span_id, s.parent_id, s.operation, s.service, s.start_us, s.duration_us)
            for t in traces
            for s in t.spans
        )

    v3, v1 = flat(search("v3", VM1)), flat(search("v1", VM1))
    assert v3
    assert v3 == v1


def test_v3_no_traces_is_a_404_with_jaegers_error():
    misses = [ex for ex in load_exchanges() if ex["api"] == "v3" and ex["status"] == 404]
    assert misses
    for ex in misses:
        code, message = v3_error(doc(ex))
        assert code == 404
        assert message == "No traces found"


def test_v1_unknown_service_is_an_empty_list():
    ex = find("scenario", "v1", "/api/traces", service="inventory.vm9.sysadm.ee")
    assert ex["status"] == 200
    assert v1_traces(doc(ex), "t") == []


@pytest.mark.parametrize(
    ("params", "words"),
    [({}, "parameter 'service' is required"), ({"minDuration": "bogus"}, "unable to parse param 'minDuration'")],
)
def test_v1_error_envelope_becomes_jaegers_own_words(params, words):
    ex = next(e for e in load_exchanges() if e["stage"] == "raw" and e["path"] == "/api/traces"
              and set(params) <= set(e["params"]) and (params or not e["params"]))  # fmt: skip
    assert ex["status"] == 400
    with pytest.raises(JaegerError) as err:
        v1_traces(doc(ex), "/api/traces")
    assert err.value.reason == "http_error"
    assert words in err.value.msg


def test_v3_error_bodies_parse():
    raw = [ex for ex in load_exchanges() if ex["stage"] == "raw" and ex["api"] == "v3"]
    assert {ex["status"] for ex in raw} == {400, 500}
    for ex in raw:
        code, message = v3_error(doc(ex))
        assert code == ex["status"]
        assert message


def test_html_page_is_an_unexpected_response():
    ex = find("raw", "html", "/api/v3/no-such-endpoint")
    assert ex["status"] == 200 and "html" in ex["content_type"]
    with pytest.raises(JaegerError) as err:
        loads(body(ex), "/api/v3/services")
    assert err.value.reason == "unexpected_response"
    assert "/api/v3/services" in err.value.msg


def test_grpc_gateway_stream_of_results_is_merged():
    ex = _unfiltered("v3", VM1)
    one = doc(ex)
    halves = []
    for rs in one["result"]["resourceSpans"]:
        halves.append(json.dumps({"result": {"resourceSpans": [rs]}}))
    traces = v3_traces(loads("\n".join(halves).encode(), "t"), "t")
    assert sorted(t.trace_id for t in traces) == sorted(t.trace_id for t in v3_traces(one, "t"))


def _v3_span_doc():
    return doc(_unfiltered("v3", VM1))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("result"), "'result'"),
        (lambda d: d["result"].__setitem__("resourceSpans", {}), "resourceSpans"),
        (lambda d: d["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0].pop("spanId"), "spanId"),
        (lambda d: d["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0].__setitem__("startTimeUnixNano",
                                                                                             "soon"), "startTime"),
        (lambda d: d["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0].__setitem__("traceId", "!!"),
         "traceId"),
        (lambda d: d["result"]["resourceSpans"][0]["scopeSpans"].__setitem__(0, "x"), "scopeSpans"),
    ],
)  # fmt: skip
def test_v3_malformed_is_unexpected_response(mutate, field):
    d = copy.deepcopy(_v3_span_doc())
    mutate(d)
    with pytest.raises(JaegerError) as err:
        v3_traces(d, "/api/v3/traces")
    assert err.value.reason == "unexpected_response"
    assert field in err.value.msg


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("data"), "'data'"),
        (lambda d: d["data"][0].__setitem__("spans", "x"), "spans"),
        (lambda d: d["data"][0]["spans"][0].__setitem__("duration", "long"), "duration"),
        (lambda d: d["data"][0]["spans"][0].__setitem__("operationName", 5), "operationName"),
        (lambda d: d["data"][0].__setitem__("processes", []), "processes"),
    ],
)
def test_v1_malformed_is_unexpected_response(mutate, field):
    d = copy.deepcopy(doc(_unfiltered("v1", VM1)))
    mutate(d)
    with pytest.raises(JaegerError) as err:
        v1_traces(d, "/api/traces")
    assert err.value.reason == "unexpected_response"
    assert field in err.value.msg


@pytest.mark.parametrize("raw", [b"", b"   ", b"\xff\xfe", b"{", b"[1,", b"<html>", b"null x"])
def test_loads_rejects_non_json(raw):
    with pytest.raises(JaegerError) as err:
        loads(raw, "/api/services")
    assert err.value.reason == "unexpected_response"
