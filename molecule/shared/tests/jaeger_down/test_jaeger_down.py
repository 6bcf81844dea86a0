"""A tracing backend that is down never fails or slows a request, and tracing recovers."""

import time

import docker
from lab10_checks import http, inspect_service, jaeger_trace

SLEEP_BUDGET_S = 0.3 + 0.5  # the deliberate slow span plus generous headroom


def timed(host, path, token=None):
    started = time.monotonic()
    status, _ = http(host, path, token)
    return status, time.monotonic() - started


def test_api_answers_promptly_while_jaeger_is_down(host, lab_vars):
    token = lab_vars["inventory_api_token"]
    results = [timed(host, "/api/v1/inventory", token) for _ in range(10)]
    assert [status for status, _ in results] == [200] * 10
    assert max(elapsed for _, elapsed in results) < SLEEP_BUDGET_S, results


def test_jaeger_trace_reports_jaeger_unreachable(host, lab_vars, service_name):
    result = jaeger_trace(host, lab_vars, service_name, timeout=5)
    assert result["reason"] == "unreachable", result.get("msg")


def test_traces_arrive_once_jaeger_is_back_without_an_app_restart(host, lab_vars, service_name):
    started_at = inspect_service(host, "inventory")["State"]["StartedAt"]
    client = docker.from_env()
    client.containers.get(lab_vars["lab10_jaeger_name"]).start()
    ready = host.run(
        "for i in $(seq 60); do curl -sf -o /dev/null %s/api/services && exit 0; sleep 1; done; exit 1",
        lab_vars["inventory_api_jaeger_query_url"],
    )
    assert ready.rc == 0, "the test Jaeger did not come back"
    assert http(host, "/api/v1/inventory", lab_vars["inventory_api_token"])[0] == 200
    result = jaeger_trace(host, lab_vars, service_name, operation="validate_inventory_cache", min_duration="300ms")
    assert result["reason"] == "ok", result.get("msg")
    assert inspect_service(host, "inventory")["State"]["StartedAt"] == started_at
