"""jaeger_trace against a real Jaeger v2 (the test bed's image) fed by the real OpenTelemetry SDK.

A few runs go through `ansible localhost -M library -m jaeger_trace`, so the ansiballz packaging
of module_utils is proven; the rest call the module in-process (same code, no fork).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from otlp import INVENTORY_ROUTE, SLOW_SPAN, emit_trace

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = Path(sys.executable).with_name("ansible")
APIS = pytest.mark.parametrize("api", ["v3", "v1"])
CHILD_MS = 320


def unique(label: str) -> str:
    return f"inventory.{label}-{uuid.uuid4().hex[:6]}.sysadm.ee"


def run_module(args: dict) -> dict:
    """The module in-process, as AnsibleModule would run it; the result dict."""
    from ansible.module_utils.testing import patch_module_args
    from ansible.modules import jaeger_trace

    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        jaeger_trace.main()
    return json.loads(out.getvalue())


def run_ansible(args: dict) -> dict:
    """`ansible localhost -M library -m jaeger_trace -a JSON` with the project's ansible.cfg."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "json",
    }
    proc = subprocess.run(
        [str(ANSIBLE), "localhost", "-M", "library", "-m", "jaeger_trace", "-a", json.dumps(args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible printed no JSON (rc {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert proc.returncode == (2 if result.get("failed") else 0), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return result


@pytest.fixture
def sent(jaeger):
    """One good trace, plus decoys: other operations of the service, another service, a short one."""
    good, decoy, short = unique("good"), unique("decoy"), unique("short")
    trace_id = emit_trace(jaeger.otlp_url, good, child_ms=CHILD_MS, attributes={"cache.hit": False})
    emit_trace(jaeger.otlp_url, good, parent="GET /health", child=None)
    emit_trace(jaeger.otlp_url, decoy, child="load_inventory", child_ms=20)
    emit_trace(jaeger.otlp_url, short, child_ms=40)
    return {"jaeger": jaeger, "good": good, "decoy": decoy, "short": short, "trace_id": trace_id}


def check(sent, api, **overrides):
    args = {
        "url": sent["jaeger"].query_url,
        "api": api,
        "service": sent["good"],
        "operation": SLOW_SPAN,
        "parent_operation": INVENTORY_ROUTE,
        "min_duration": "300ms",
        "max_duration": "2s",
        "timeout": 20,
        "interval": "250ms",
        **overrides,
    }
    return run_module(args)


@APIS
def test_passes_on_the_real_trace(sent, api):
    res = check(sent, api, attributes={"cache.hit": False})
    assert res.get("failed") is not True, res["msg"]
    assert (res["reason"], res["api"], res["changed"]) == ("ok", api, False)
    assert res["trace_id"] == sent["trace_id"]
    assert res["trace_url"] == f"{sent['jaeger'].query_url}/trace/{sent['trace_id']}"
    assert CHILD_MS <= res["measured_ms"] < CHILD_MS + 200
    assert [(s["operation"], s["parent"]) for s in res["spans"]] == [
        (INVENTORY_ROUTE, None),
        (SLOW_SPAN, INVENTORY_ROUTE),
    ]
    assert SLOW_SPAN in res["waterfall"]


@APIS
def test_unknown_service_names_the_nearest(sent, api):
    # Wait for the good trace first, so the service list is complete when the miss is explained.
    assert check(sent, api)["reason"] == "ok"
    typo = sent["good"].replace("inventory.", "inventroy.")
    res = check(sent, api, service=typo, timeout=1)
    assert (res["failed"], res["reason"]) == (True, "service_unknown")
    assert res["services_seen"][0] == sent["good"]
    assert typo in res["msg"] and sent["good"] in res["msg"]


@APIS
def test_wrong_operation_lists_the_services_operations(sent, api):
    assert check(sent, api)["reason"] == "ok"
    res = check(sent, api, operation="validate_inventory", timeout=1)
    assert (res["failed"], res["reason"]) == (True, "operation_unknown")
    assert res["operations_seen"] == sorted(["GET /health", INVENTORY_ROUTE, SLOW_SPAN])
    assert f"'{SLOW_SPAN}'" in res["msg"]


@APIS
def test_min_duration_above_the_real_one_gives_the_measured_duration(sent, api):
    assert check(sent, api)["reason"] == "ok"
    res = check(sent, api, min_duration="1s", max_duration=None, timeout=1)
    assert (res["failed"], res["reason"]) == (True, "too_short")
    assert CHILD_MS <= res["measured_ms"] < CHILD_MS + 200
    assert f"lasted {res['measured_ms']:.1f} ms" in res["msg"] and "min_duration 1000.0 ms" in res["msg"]
    assert res["trace_id"] == sent["trace_id"]


@APIS
def test_wrong_parent_and_too_short_are_told_apart(sent, api):
    assert check(sent, api)["reason"] == "ok"
    wrong_parent = check(sent, api, parent_operation="GET /health", timeout=1)
    assert (wrong_parent["reason"], wrong_parent["parent_seen"]) == ("parent_mismatch", INVENTORY_ROUTE)
    short = check(sent, api, service=sent["short"], timeout=3)
    assert short["reason"] == "too_short" and short["measured_ms"] < 300


@APIS
def test_stopped_jaeger_is_unreachable(sent, api):
    assert check(sent, api)["reason"] == "ok"
    url = sent["jaeger"].query_url
    sent["jaeger"].stop()
    started = time.monotonic()
    res = run_module({"url": url, "api": api, "service": sent["good"], "timeout": 2, "interval": "500ms"})
    assert (res["failed"], res["reason"], res["error"]) == (True, "unreachable", "refused")
    assert url in res["msg"]
    assert res["attempts"] >= 2  # kept trying until the timeout, Jaeger might have been restarting
    assert 2 <= time.monotonic() - started < 15


def test_waits_out_the_sdks_batch_delay(jaeger):
    """A BatchSpanProcessor exports after 5 s: the default timeout must outlast it."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind

    service = unique("batched")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=jaeger.otlp_url + "/v1/traces"), schedule_delay_millis=5000)
    )
    try:
        tracer = provider.get_tracer("lab10-tests")
        with tracer.start_as_current_span(INVENTORY_ROUTE, kind=SpanKind.SERVER):
            with tracer.start_as_current_span(SLOW_SPAN):
                time.sleep(CHILD_MS / 1000)
        # No flush: the spans sit in the SDK's queue for ~5 s, as in the app right after a request.
        res = run_module({"url": jaeger.query_url, "service": service, "operation": SLOW_SPAN,
                          "parent_operation": INVENTORY_ROUTE, "min_duration": "300ms"})  # fmt: skip
    finally:
        provider.shutdown()
    assert res["reason"] == "ok", res["msg"]
    assert res["polls"] > 1 and res["elapsed"] >= 3


def test_bulk_over_many_services(jaeger):
    services = [unique(f"bulk{i}") for i in range(12)]
    for i, service in enumerate(services):
        emit_trace(jaeger.otlp_url, service, child_ms=120 if i == 3 else CHILD_MS)
    missing = unique("absent")
    res = run_module({"url": jaeger.query_url, "services": [*services, missing], "operation": SLOW_SPAN,
                      "parent_operation": INVENTORY_ROUTE, "min_duration": "300ms", "timeout": 3,
                      "interval": "250ms"})  # fmt: skip
    assert res["failed"] is True
    assert res["summary"] == {"total": 13, "passed": 11, "failed": 2, "failed_services": [services[3], missing]}
    by_service = {r["service"]: r for r in res["results"]}
    assert by_service[services[3]]["reason"] == "too_short"
    assert by_service[missing]["reason"] == "service_unknown"
    assert res["msg"].startswith("2 of 13 services failed: ")


@pytest.mark.parametrize(("api", "outcome"), [("v3", "ok"), ("v1", "too_short")])
def test_through_the_ansible_cli(sent, api, outcome):
    """Ansiballz ships library/jaeger_trace.py with module_utils/jaeger/*.py to the target."""
    args = {"url": sent["jaeger"].query_url, "api": api, "service": sent["good"], "operation": SLOW_SPAN,
            "parent_operation": INVENTORY_ROUTE, "min_duration": "300ms" if outcome == "ok" else "5s",
            "timeout": 20 if outcome == "ok" else 3, "bearer_token": "not-shown-anywhere"}  # fmt: skip
    res = run_ansible(args)
    assert (res["reason"], res["api"], res["changed"]) == (outcome, api, False)
    assert CHILD_MS <= res["measured_ms"] < CHILD_MS + 200
    assert res["trace_id"] == sent["trace_id"]
    assert "not-shown-anywhere" not in json.dumps(res)
    if outcome == "ok":
        assert "failed" not in res or res["failed"] is False
    else:
        assert res["failed"] is True and "min_duration 5000.0 ms" in res["msg"]


@APIS
@pytest.mark.parametrize(
    ("child", "child_ms", "reason"),
    [(None, 0, "operation_unknown"), (SLOW_SPAN, 40, "too_short")],
)
def test_fail_fast_answers_as_soon_as_the_trace_is_in(jaeger, api, child, child_ms, reason):
    service = unique("fast")
    since = f"@{time.time() - 1:.3f}"
    emit_trace(jaeger.otlp_url, service, child=child, child_ms=child_ms)
    started = time.monotonic()
    res = run_module({
        "url": jaeger.query_url, "api": api, "service": service, "operation": SLOW_SPAN,
        "parent_operation": INVENTORY_ROUTE, "min_duration": "300ms", "since": since,
        "fail_fast": True, "timeout": 30, "interval": "100ms",
    })  # fmt: skip
    took = time.monotonic() - started
    assert res["reason"] == reason, res["msg"]
    # Jaeger's ingestion takes a moment; the 30 s timeout is not waited out.
    assert took < 5
    assert [c["ok"] for c in res["checks"]] == ([True, True, False, None] if child is None else [True] * 3 + [False])
