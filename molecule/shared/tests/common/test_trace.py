"""The mission: a request to the API leaves a trace in Jaeger with the slow child span."""

from lab10_checks import http, jaeger_trace

SLOW_SPAN = {
    "operation": "validate_inventory_cache",
    "parent_operation": "GET /api/v1/inventory",
    "min_duration": "300ms",
}


def test_jaeger_holds_the_slow_span_under_the_route(host, service_name, lab_vars):
    # Converge already left such traces: count them, so only a new one proves this request.
    before = jaeger_trace(host, lab_vars, service_name, min_traces=1, **SLOW_SPAN)
    assert before["reason"] == "ok", before.get("msg")
    assert http(host, "/api/v1/inventory", lab_vars["inventory_api_token"])[0] == 200

    result = jaeger_trace(host, lab_vars, service_name, min_traces=before["traces_found"] + 1, **SLOW_SPAN)
    assert result["reason"] == "ok", result.get("msg")
    assert result["traces_found"] > before["traces_found"]
    slow = [span for span in result["spans"] if span["operation"] == "validate_inventory_cache"]
    assert slow and slow[0]["duration_ms"] >= 300
    assert slow[0]["parent"] == "GET /api/v1/inventory"
