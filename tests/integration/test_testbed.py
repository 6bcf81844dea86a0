"""The test bed's parts are real and behave like their upstream counterparts."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from otlp import SLOW_SPAN, emit_trace
from polling import get_json, poll

pytestmark = pytest.mark.docker


def test_images_env_names_existing_images(images, docker_client):
    for key in ("JAEGER_IMAGE", "LABVM_IMAGE", "APP_BASE_IMAGE"):
        assert docker_client.images.get(images[key]), key


def test_jaeger_finds_sdk_span_through_both_apis(jaeger):
    service = "inventory.testbed-probe.sysadm.ee"
    trace_id = emit_trace(jaeger.otlp_url, service, child_ms=50)

    v3_query = urllib.parse.urlencode(
        {
            "query.service_name": service,
            "query.num_traces": 20,  # v2.13 answers 500 "search depth" without it
            "query.start_time_min": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600)),
            "query.start_time_max": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60)),
        }
    )
    v3 = poll(lambda: get_json(f"{jaeger.query_url}/api/v3/traces?{v3_query}"))
    v3_spans = [
        span
        for resource in v3["result"]["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    assert {span["name"] for span in v3_spans} == {"GET /api/v1/inventory", SLOW_SPAN}
    assert {span["traceId"] for span in v3_spans} == {trace_id}

    v1 = poll(lambda: get_json(f"{jaeger.query_url}/api/traces?service={urllib.parse.quote(service)}")["data"])
    assert [trace["traceID"] for trace in v1] == [trace_id]
    assert service in get_json(f"{jaeger.query_url}/api/services")["data"]
    assert get_json(f"{jaeger.query_url}/api/v3/services")["services"] == [service]


def test_jaeger_accepts_otlp_json(jaeger):
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-probe"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "probe",
                                "kind": 2,
                                "startTimeUnixNano": str(time.time_ns() - 10**9),
                                "endTimeUnixNano": str(time.time_ns()),
                            }
                        ]
                    }
                ],
            }
        ]
    }
    request = urllib.request.Request(
        f"{jaeger.otlp_url}/v1/traces", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert poll(lambda: "json-probe" in get_json(f"{jaeger.query_url}/api/v3/services").get("services", []))


def vm_exec(vm, *command: str) -> str:
    result = vm.exec_run(list(command))
    output = result.output.decode(errors="replace")
    assert result.exit_code == 0, f"{command} exited {result.exit_code}: {output}"
    return output.strip()


def wait_booted(vm, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = vm.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(1)
    vm.reload()
    pytest.fail(f"lab VM did not boot: state={state!r}, container={vm.status}, logs:\n{vm.logs().decode()[-3000:]}")


def test_labvm_boots_with_its_own_docker_engine(labvm, images):
    state = wait_booted(labvm)
    failed = vm_exec(labvm, "systemctl", "list-units", "--failed", "--plain", "--no-legend")
    assert "docker" not in failed, failed
    assert state == "running" or failed, "degraded without a failed unit"

    vm_exec(labvm, "sh", "-c", "for i in $(seq 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1")
    version = vm_exec(labvm, "docker", "compose", "version", "--short")
    assert tuple(int(x) for x in re.match(r"v?(\d+)\.(\d+)", version).groups()) >= (2, 18), version
    assert vm_exec(labvm, "id", "-un", "centos") == "centos"

    saved = subprocess.Popen(["docker", "save", images["APP_BASE_IMAGE"]], stdout=subprocess.PIPE)
    subprocess.run(["docker", "exec", "-i", labvm.id, "docker", "load", "-q"], stdin=saved.stdout, check=True)
    assert saved.wait() == 0
    out = vm_exec(labvm, "docker", "run", "--rm", images["APP_BASE_IMAGE"], "python", "-c", "import venv; print('ok')")
    assert out == "ok"
