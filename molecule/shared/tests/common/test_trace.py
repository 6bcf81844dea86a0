"""The mission: a request to the API leaves a trace in Jaeger with the slow child span."""

from lab10_checks import http, jaeger_trace


def test_jaeger_holds_the_slow_span_under_the_route(host, service_name, lab_vars):
    assert http(host, "/api/v1/inventory", lab_vars["inventory_api_token"])[0] == 200
    result = jaeger_trace(
        host,
        lab_vars,
        service_name,
        operation="validate_inventory_cache",
        parent_operation="GET /api/v1/inventory",
        min_duration="300ms",
    )
    assert result["reason"] == "ok", result.get("msg")
    slow = [span for span in result["spans"] if span["operation"] == "validate_inventory_cache"]
    assert slow and slow[0]["duration_ms"] >= 300
    assert slow[0]["parent"] == "GET /api/v1/inventory"
