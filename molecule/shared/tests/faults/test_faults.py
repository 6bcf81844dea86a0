"""Faults a student meets, planted one at a time on the provisioned VM: playbooks/doctor.yml names
each one's reason and hop within 15 s, measured around the whole playbook run (its request included).
Every test puts the VM back the way converge left it.

LAB10_RECORD_DOCTOR=<dir> keeps each run's real evidence and Jaeger answer there as JSON, the
fixtures of tests/unit/test_otel_doctor_recorded.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import docker
import pytest
from faults_plant import Planter
from faults_record import record

BUDGET_S = 15
PROJECT_DIR = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
DOCTOR = PROJECT_DIR / "playbooks" / "doctor.yml"
SITE = PROJECT_DIR / "playbooks" / "site.yml"
VERDICT_TASK = "Keep the verdict as inventory_api_diagnosis"
TIMES: list[str] = []


def run_doctor(host_name: str, *extra: str, playbook: Path = DOCTOR, clock: str = "") -> dict:
    """A playbook (doctor.yml) against the VM: {diagnosis, seconds (wall clock), stats, results by task name}.

    clock: an offset such as "+6" for the controller's clock (libfaketime on ansible-playbook and what it
    runs locally); the VM's modules keep the VM's."""
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_FORCE_COLOR": "0"}
    command = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-l", host_name, str(playbook), *extra]
    if clock:
        # Monotonic clocks shift too (a constant offset): with them left alone libfaketime's
        # clock_nanosleep makes time.sleep() fail with EINVAL.
        command = ["faketime", "-f", clock, *command]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.monotonic() - started
    try:
        report = json.loads(done.stdout)
    except ValueError:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        pytest.fail(f"{playbook.name} printed no JSON (rc {done.returncode}): {output}")
    # Role tasks are named "inventory_api : <name>".
    results = {
        task["task"]["name"].rpartition(" : ")[2]: task["hosts"][host_name]
        for play in report["plays"]
        for task in play["tasks"]
        if host_name in task["hosts"]
    }
    verdict = results.get(VERDICT_TASK, {}).get("ansible_facts", {}).get("inventory_api_diagnosis")
    assert verdict, f"no verdict (rc {done.returncode}): {json.dumps(results)[-3000:]} {done.stderr[-2000:]}"
    return {"diagnosis": verdict, "seconds": seconds, "stats": report["stats"][host_name], "results": results}


@pytest.fixture(scope="module", autouse=True)
def times_report():
    """Prints every verdict's measured time at the end (molecule shows it with -s)."""
    yield
    print("\n".join(["", "times to verdict:", *TIMES]))


@pytest.fixture(scope="module")
def jaeger(lab_vars):
    client = docker.from_env()
    yield client.containers.get(lab_vars["lab10_jaeger_name"])
    client.close()


@pytest.fixture
def planter(host, lab_vars, jaeger):
    """Plants faults and, whatever happens in the test, takes them back."""
    planter = Planter(host, lab_vars, jaeger)
    planter.save()
    yield planter
    planter.restore()


@pytest.fixture
def expect(host, service_name):
    """expect(fault, run, reason, hop): the verdict names them, with a fix and evidence, within the budget."""

    def check(fault: str, run: dict, reason: str, hop: str, recorded: bool = True) -> dict:
        diagnosis = run["diagnosis"]
        TIMES.append(
            f"{fault}: {diagnosis['reason']} ({diagnosis['hop'] or '-'}) in {run['seconds']:.1f} s wall clock, "
            f"{diagnosis['seconds']} s after the request"
        )
        if recorded:
            record(host, fault, run, expected=service_name)
        assert (diagnosis["reason"], diagnosis["hop"]) == (reason, hop), "\n".join(diagnosis["evidence"])
        assert diagnosis["fix"] and diagnosis["evidence"]
        assert run["seconds"] <= BUDGET_S, f"verdict after {run['seconds']:.1f} s"
        assert diagnosis["seconds"] <= BUDGET_S
        return diagnosis

    return check


def test_healthy_vm_is_reported_healthy_and_check_mode_changes_nothing(host, expect):
    run = run_doctor(host.backend.host, "--check")
    diagnosis = expect("healthy", run, "ok", "")
    assert run["stats"]["changed"] == 0 and run["stats"]["failures"] == 0
    assert any(line.startswith("trace http") for line in diagnosis["evidence"])


def test_a_controller_clock_ahead_of_the_vms_does_not_hide_the_requests_trace(host, lab_vars, expect):
    """The VM's clock 6 s behind the controller's: libfaketime shifts ansible-playbook's clock and that of
    the Jaeger query delegated to the controller, while the modules on the VM and the app keep the VM's.
    The request counts from its response's Date header (the app's clock), so its trace is found at once."""
    query_url = f"http://{lab_vars['lab10_jaeger_address']}:16686"
    delegated = (
        "-e",
        f"inventory_api_jaeger_query_url={query_url}",
        "-e",
        "inventory_api_verify_delegate_to=localhost",
    )
    run = run_doctor(host.backend.host, *delegated, clock="+6")
    diagnosis = expect("clock_6s_ahead", run, "ok", "", recorded=False)
    assert any("(the app's clock)" in line for line in diagnosis["evidence"]), diagnosis["evidence"]


def test_wrong_port_is_export_refused(host, planter, expect):
    planter.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", planter.jaeger_url(4319))
    expect("wrong_port", run_doctor(host.backend.host), "export_refused", "network_tls")


def test_path_answering_404_is_export_http_404(host, planter, expect):
    planter.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", planter.jaeger_url(4318) + "/otlp")
    expect("path_404", run_doctor(host.backend.host), "export_http_404", "jaeger_ingest")


def test_https_with_an_untrusted_ca_is_export_tls(host, planter, expect):
    planter.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", planter.start_tls_receiver())
    expect("untrusted_tls", run_doctor(host.backend.host), "export_tls", "network_tls")


def test_env_changed_without_recreating_is_not_restarted(host, planter, expect):
    running = planter.env("OTEL_BSP_SCHEDULE_DELAY")
    edited = str(int(running) + 300)
    planter.set_env("OTEL_BSP_SCHEDULE_DELAY", edited, recreate=False)
    diagnosis = expect("not_restarted", run_doctor(host.backend.host), "not_restarted", "container_env")
    assert f"OTEL_BSP_SCHEDULE_DELAY: compose file {edited}, running container {running}" in diagnosis["evidence"]


def test_service_name_typo_is_service_name_mismatch(host, planter, expect, service_name):
    typo = service_name.replace("faults", "fautls")
    planter.set_env("OTEL_SERVICE_NAME", typo)
    diagnosis = expect("service_typo", run_doctor(host.backend.host), "service_name_mismatch", "container_env")
    assert typo in diagnosis["msg"] and f"OTEL_SERVICE_NAME={service_name}" in diagnosis["fix"]


def test_app_without_the_span_is_span_missing(host, planter, expect):
    planter.remove_span_call()
    expect("span_missing", run_doctor(host.backend.host), "span_missing", "app")


def test_jaeger_stopped_is_jaeger_unreachable(host, planter, expect):
    planter.stop_jaeger()
    expect("jaeger_stopped", run_doctor(host.backend.host), "jaeger_unreachable", "jaeger_ingest")


# Three more a student meets; each gives another real exporter or probe outcome.


def test_unknown_host_is_export_dns(host, planter, expect):
    planter.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otlp.lab10.invalid:4318")
    expect("unknown_host", run_doctor(host.backend.host), "export_dns", "network_tls")


def test_https_to_a_plain_http_port_is_export_not_tls(host, planter, expect):
    planter.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", planter.jaeger_url(4318).replace("http:", "https:"))
    expect("https_to_http", run_doctor(host.backend.host), "export_not_tls", "network_tls")


def test_the_ui_port_is_export_not_otlp(host, planter, expect):
    """Jaeger's UI answers 200 text/html: the SDK logs nothing and the spans are lost."""
    planter.set_env("OTEL_EXPORTER_OTLP_ENDPOINT", planter.jaeger_url(16686))
    expect("ui_port", run_doctor(host.backend.host), "export_not_otlp", "jaeger_ingest")


# The course's Jaeger: its query API behind a university login, OTLP ingest open (scripts/testbed_lib/gate.py).

GATE_TOKEN = "molecule-gate-not-a-secret"  # noqa: S105 -- the scenario's throw-away gate
UI = "https://jaeger.sysadm.ee"


@pytest.fixture(scope="module")
def gate(host, lab_vars):
    """The test bed's gate (GATE_IMAGE) in front of the scenario's Jaeger, on its network: its URL for the VM."""
    client = docker.from_env()
    container = client.containers.run(
        os.environ["GATE_IMAGE"],
        detach=True,
        name=f"{lab_vars['lab10_jaeger_name']}-gate",
        environment={"GATE_TOKEN": GATE_TOKEN},
        network=lab_vars["lab10_network"],
        labels={"owner": "molecule"},
    )
    try:
        container.reload()
        url = "http://" + container.attrs["NetworkSettings"]["Networks"][lab_vars["lab10_network"]]["IPAddress"]
        ping = host.run(f"for i in $(seq 60); do curl -sf -o /dev/null {url}/ping && exit 0; sleep 0.5; done; exit 1")
        assert ping.rc == 0, container.logs()[-2000:]
        yield url
    finally:
        container.remove(force=True, v=True)
        client.close()


def doctor_behind(host, gate, *extra):
    return run_doctor(host.backend.host, "-e", f"inventory_api_jaeger_query_url={gate}",
                      "-e", f"inventory_api_jaeger_ui_url={UI}", *extra)  # fmt: skip


def test_behind_the_courses_login_a_healthy_vm_is_not_failed(host, gate, expect, service_name):
    """No token, as a student has none: the export was accepted, the query API wants a login: exit 0, the link."""
    run = doctor_behind(host, gate)
    diagnosis = expect("login_required", run, "exported_login_required", "jaeger_query")
    assert run["stats"]["failures"] == 0
    assert (diagnosis["ok"], diagnosis["verified"]) == (True, False)
    assert f"wants a login (HTTP 302, a redirect to {gate}/oauth2/start)" in diagnosis["msg"]
    assert f"{UI}/search?service={service_name}" in diagnosis["fix"]


def test_behind_the_login_a_wrong_token_fails_and_the_right_one_verifies(host, gate, expect):
    wrong = doctor_behind(host, gate, "-e", "inventory_api_verify_bearer_token=not-the-gate-token")
    diagnosis = expect("login_wrong_token", wrong, "not_verified", "jaeger_query", recorded=False)
    assert wrong["stats"]["failures"] == 1 and "auth_failed: " in diagnosis["msg"]
    right = doctor_behind(host, gate, "-e", f"inventory_api_verify_bearer_token={GATE_TOKEN}")
    diagnosis = expect("login_token", right, "ok", "", recorded=False)
    assert right["stats"]["failures"] == 0 and diagnosis["verified"] is True
    assert any(line.startswith(f"trace {UI}/trace/") for line in diagnosis["evidence"])


def test_the_roles_trace_check_fails_at_once_with_the_verdict(host, planter):
    """The issue's case: the role itself deploys an endpoint where something answers 404 on /v1/traces;
    its trace check fails within seconds of the request, and its message is the verdict, not a timeout."""
    planter.recreate = True  # the role rewrites the compose file; restore() puts converge's back
    endpoint = planter.jaeger_url(4318) + "/otlp"
    run = run_doctor(host.backend.host, "-e", f"inventory_api_otlp_endpoint={endpoint}", playbook=SITE)
    diagnosis = run["diagnosis"]
    TIMES.append(f"role verify, 404 endpoint: {diagnosis['reason']} {diagnosis['seconds']} s after the request")
    stop = run["results"]["Stop with the verdict"]
    assert stop.get("failed"), stop
    assert stop["msg"].startswith("The trace did not land: export_http_404 at the jaeger_ingest hop.")
    assert "Fix: Give OTEL_EXPORTER_OTLP_ENDPOINT the base URL only" in stop["msg"]
    assert diagnosis["seconds"] <= BUDGET_S
