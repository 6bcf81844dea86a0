"""otel_doctor as a whole (AnsibleModule in, JSON out), its vocabulary, and the verdict's order of hops."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.doctor import classify as otel_doctor_classify
from ansible.module_utils.doctor import verdict as otel_doctor_verdict
from ansible.module_utils.doctor.evidence import Gatherer
from ansible.module_utils.doctor.verdict import diagnose
from ansible.module_utils.lab.vocabulary import HOP_NAMES, VERDICTS, render
from ansible.module_utils.testing import patch_module_args
from ansible.modules import otel_doctor

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = json.loads((ROOT / "tests" / "fixtures" / "doctor" / "healthy.json").read_text())


def run(params, capsys):
    with patch_module_args(params), pytest.raises(SystemExit) as exc:
        otel_doctor.main()
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return exc.value.code, json.loads(out)


def evidence(**changes):
    found = copy.deepcopy(HEALTHY["vm"]["evidence"])
    found.update(changes)
    return found


# --- the module -------------------------------------------------------------------------------------


def test_deciding_with_jaeger_touches_no_host(capsys, monkeypatch):
    monkeypatch.setattr(Gatherer, "gather", lambda *a, **k: pytest.fail("gathered again"))
    rc, result = run({"evidence": HEALTHY["vm"]["evidence"], "jaeger": HEALTHY["jaeger"]}, capsys)
    assert rc == 0 and result["changed"] is False
    assert (result["diagnosis"]["reason"], result["diagnosis"]["ok"], result["jaeger_search"]) == ("ok", True, "none")


def test_the_request_counts_from_the_apps_clock_not_the_controllers(capsys):
    """The controller's since is 5 s ahead of the app's Date header: the app's clock wins."""
    params = {"docker": "/nonexistent/docker", "since": 1795612475.0, "trigger_date": "Wed, 25 Nov 2026 13:14:30 GMT"}
    rc, result = run(dict(params, trigger_elapsed=1), capsys)
    assert rc == 0 and result["since"] == 1795612468.0
    assert (
        "traces and log lines count from 2026-11-25T13:14:28.000Z: the response's Date header"
        in (result["diagnosis"]["evidence"][-1])
    )


def test_without_a_date_header_the_controllers_clock_is_used(capsys):
    _, result = run({"docker": "/nonexistent/docker", "since": 1795612475.0}, capsys)
    assert result["since"] == 1795612475.0


def test_a_diagnosed_fault_is_a_result_not_a_failure(capsys):
    rc, result = run({"evidence": evidence(env_diff=[{"key": "K", "compose": "1", "container": "2"}])}, capsys)
    assert rc == 0 and "failed" not in result
    assert result["diagnosis"]["reason"] == "not_restarted"
    assert result["msg"].startswith("not_restarted (container_env): ")


@pytest.mark.parametrize(
    ("params", "named"),
    [({"compose_file": "lab10/docker-compose.yml"}, "compose_file"), ({"probe_timeout": 0}, "probe_timeout")],
)
def test_a_bad_parameter_is_named(params, named, capsys):
    rc, result = run(params, capsys)
    assert rc == 1 and result["msg"].startswith(named) and named in result


def test_without_a_docker_cli_the_verdict_says_so(capsys):
    rc, result = run({"docker": "/nonexistent/docker"}, capsys)
    assert rc == 0
    assert (result["diagnosis"]["reason"], result["diagnosis"]["hop"]) == ("docker_unavailable", "container_env")


# --- the gatherer when the container has no Python ----------------------------------------------------


def test_without_python_in_the_container_the_log_decides():
    exchanges = {tuple(x["argv"][:2]): x for x in HEALTHY["exchanges"]}
    refused = (
        "2026-11-25T13:14:30.698Z WARNING opentelemetry.exporter.otlp.proto.http.trace_exporter: Transient error "
        "HTTPConnectionPool(host='j', port=4319): Max retries exceeded (Caused by NewConnectionError(\"Failed to "
        'establish a new connection: [Errno 111] Connection refused")) encountered while exporting spans batch'
    )

    def runner(argv, timeout=30):
        if argv[1] == "exec":
            return 126, "", "OCI runtime exec failed: exec: python: executable file not found in $PATH"
        if argv[1] == "logs":
            return 0, refused + "\n", ""
        found = exchanges.get(tuple(argv[:2]))
        return (found["rc"], found["stdout"], found["stderr"]) if found else (0, "", "")

    gathered = Gatherer("docker", run=runner, **HEALTHY["gather"]).gather()
    assert gathered["probe"]["ran"] is False and "executable file not found" in gathered["probe"]["error"]
    diagnosis, _ = diagnose(gathered)
    assert diagnosis["reason"] == "export_refused"
    assert any("probe from inside the container: not run" in line for line in diagnosis["evidence"])


def test_credentials_in_the_endpoint_reach_the_probe_but_not_the_evidence():
    """A student's https://user:password@ endpoint: the probe authenticates like the SDK, nothing shows it."""
    endpoint = "http://172.28.13.200:4318"
    secret = "http://lab:s3cret@172.28.13.200:4318"
    probed = []

    def runner(argv, timeout=30):
        found = next(x for x in HEALTHY["exchanges"] if x["argv"][:2] == argv[:2])
        if argv[1] == "exec":
            probed.append(json.loads(argv[-1])["url"])
        return found["rc"], found["stdout"].replace(endpoint, secret), found["stderr"]

    expected = HEALTHY["vm"]["evidence"]["expected"]
    gathered = Gatherer("docker", run=runner, **HEALTHY["gather"]).gather(expected=expected)
    diagnosis, _ = diagnose(gathered, HEALTHY["jaeger"])
    assert probed == [secret + "/v1/traces"]
    assert gathered["endpoint"]["url"] == "http://***@172.28.13.200:4318/v1/traces"
    assert gathered.get("env_diff") == [] and gathered["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://***@")
    assert "s3cret" not in json.dumps(gathered) + json.dumps(diagnosis)


def test_credentials_in_the_trigger_url_do_not_reach_the_evidence(capsys):
    url = "http://admin:s3cret@127.0.0.1:5000/api/v1/inventory"
    _, result = run({"docker": "/nonexistent/docker", "trigger_url": url, "trigger_status": 200}, capsys)
    assert result["evidence"]["trigger"]["url"] == "http://***@127.0.0.1:5000/api/v1/inventory"


def test_credentials_in_evidence_passed_back_do_not_reach_the_verdict(capsys):
    found = evidence(trigger={"url": "http://admin:s3cret@127.0.0.1:5000/api/v1/inventory", "status": 500})
    rc, result = run({"evidence": found, "jaeger": {"reason": "no_traces", "msg": "none"}}, capsys)
    assert result["diagnosis"]["reason"] == "trigger_failed"
    assert "s3cret" not in json.dumps(result["diagnosis"]) + result["msg"]


# --- the verdict's order ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"docker": {"ok": False, "error": "permission denied"}}, "docker_unavailable"),
        ({"container": None}, "container_missing"),
        ({"container": None, "compose": {"exists": False}}, "compose_missing"),
        ({"container": {"running": False, "status": "exited", "exit_code": 3}}, "container_down"),
        ({"container": {"running": True, "restarting": True}}, "container_down"),
        ({"compose": {"exists": True, "error": "yaml: line 3"}}, "compose_invalid"),
        # With no container, the file that does not parse is why: `up` cannot start one from it.
        ({"container": None, "compose": {"exists": True, "error": "yaml: line 3"}}, "compose_invalid"),
        ({"tracing_off": "OTEL_SDK_DISABLED=true"}, "tracing_off"),
        ({"expected": "inventory.other.sysadm.ee"}, "service_name_mismatch"),
        ({"probe": {"ran": True, "outcome": "http", "status": 302, "location": "https://x"}}, "export_redirect"),
    ],
)
def test_the_first_broken_hop_is_the_verdict(changes, reason):
    assert diagnose(evidence(**changes))[0]["reason"] == reason


def test_a_changed_environment_comes_before_a_failing_probe():
    changed = [{"key": "K", "compose": "1", "container": "2"}]
    found = evidence(env_diff=changed, probe={"ran": True, "outcome": "refused"})
    assert diagnose(found)[0]["reason"] == "not_restarted"


@pytest.mark.parametrize(
    ("jaeger", "reason"),
    [
        ({"reason": "ok"}, "ok"),
        ({"reason": "operation_unknown", "msg": "no span"}, "span_missing"),
        ({"reason": "too_short", "msg": "120 ms"}, "span_too_short"),
        ({"reason": "parent_mismatch", "msg": "root span"}, "span_wrong_parent"),
        ({"reason": "no_traces", "msg": "none since"}, "trace_missing"),
        ({"reason": "service_unknown", "services_seen": ["inventory.vm1.sysadm.ee"]}, "service_name_mismatch"),
        ({"reason": "service_unknown", "services_seen": []}, "trace_missing"),
        ({"reason": "auth_failed", "msg": "401"}, "not_verified"),
        ({"reason": "login_required", "msg": "302"}, "exported_login_required"),
        ({"reason": "unreachable", "msg": "refused"}, "not_verified"),
    ],
)
def test_jaeger_decides_when_the_vm_side_is_healthy(jaeger, reason):
    diagnosis, search = diagnose(evidence(), jaeger)
    assert (diagnosis["reason"], search) == (reason, "none")


def test_a_failed_request_explains_a_missing_trace():
    found = evidence(trigger={"url": "http://127.0.0.1:5000/api/v1/inventory", "status": 401})
    assert diagnose(found, {"reason": "no_traces"})[0]["reason"] == "trigger_failed"


def test_without_a_query_api_the_verdict_is_not_verified():
    diagnosis, search = diagnose(evidence())
    assert (diagnosis["reason"], diagnosis["ok"], search) == ("not_verified", False, "wait")


def test_a_network_failure_with_jaeger_answering_stays_the_network():
    found = evidence(probe={"ran": True, "outcome": "refused", "detail": "refused"})
    assert diagnose(found)[1] == "once"
    assert diagnose(found, {"reason": "no_traces"})[0]["reason"] == "export_refused"
    assert diagnose(found, {"reason": "unreachable", "msg": "DNS"})[0]["reason"] == "jaeger_unreachable"


# --- errors only the log shows --------------------------------------------------------------------------

UNAVAILABLE = {
    "at": 1795612470.0,
    "reason": "export_http_error",
    "line": "ERROR exporter: Failed to export span batch code: 503, reason: Service Unavailable",
}
REFUSED = {"at": 1795612470.0, "reason": "export_refused", "line": "WARNING exporter: Transient error ... refused"}
SERVICE_OK = {"name": "service", "ok": True}
PARENT_ONLY = {
    "reason": "operation_unknown",
    "msg": "no span validate_inventory_cache",
    "checks": [SERVICE_OK, {"name": "parent_trace", "ok": True}, {"name": "operation", "ok": False}],
}
NO_PARENT = {"reason": "operation_unknown", "checks": [SERVICE_OK, {"name": "parent_trace", "ok": False}]}


def logged(*since, before=()):
    """The healthy evidence (the probe's export accepted) with exporter errors in the log."""
    logs = copy.deepcopy(HEALTHY["vm"]["evidence"]["logs"])
    logs.update(errors=[*before, *since], errors_since=list(since))
    logs["kept"] += ["2026-11-25T13:14:30.698Z " + error["line"] for error in (*before, *since)]
    return evidence(logs=logs)


def test_an_exporter_error_from_before_the_request_is_not_the_verdict():
    diagnosis, search = diagnose(logged(before=[UNAVAILABLE]))
    assert (diagnosis["reason"], search) == ("not_verified", "wait")


def test_an_exporter_error_since_the_request_asks_jaeger_once():
    diagnosis, search = diagnose(logged(UNAVAILABLE))
    assert (diagnosis["reason"], search) == ("export_http_error", "once")


@pytest.mark.parametrize(
    ("error", "jaeger", "reason"),
    [
        # The trace arrived after all (a retry after Jaeger's 503): ok, the error kept as evidence.
        (UNAVAILABLE, HEALTHY["jaeger"], "ok"),
        (UNAVAILABLE, {"reason": "no_traces", "msg": "none since"}, "export_http_error"),
        # Its parent span arrived, so the export works and the trace itself decides.
        (UNAVAILABLE, PARENT_ONLY, "span_missing"),
        # operation_unknown without the request's trace says nothing about the export.
        (UNAVAILABLE, NO_PARENT, "export_http_error"),
        (UNAVAILABLE, {"reason": "unreachable", "msg": "refused"}, "export_http_error"),
        (REFUSED, {"reason": "unreachable", "msg": "refused"}, "jaeger_unreachable"),
        (REFUSED, HEALTHY["jaeger"], "ok"),
    ],
)
def test_jaeger_settles_a_verdict_only_the_log_shows(error, jaeger, reason):
    diagnosis, search = diagnose(logged(error), jaeger)
    assert (diagnosis["reason"], search) == (reason, "none")
    assert any(error["line"] in line for line in diagnosis["evidence"])


def test_a_trace_that_arrived_despite_a_failing_probe_is_ok():
    found = evidence(probe={"ran": True, "outcome": "refused", "detail": "[Errno 111] Connection refused"})
    diagnosis, _ = diagnose(found, HEALTHY["jaeger"])
    assert diagnosis["reason"] == "ok"
    assert (
        "export_refused after the request, yet its trace reached Jaeger: [Errno 111] Connection refused"
        in (diagnosis["evidence"])
    )


# --- the vocabulary -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", sorted(VERDICTS))
def test_every_reason_names_a_hop_and_renders(reason):
    entry = VERDICTS[reason]
    assert entry.hop in HOP_NAMES or (reason == "ok" and entry.hop == "")
    # Only a trace seen in Jaeger is verified; an export accepted behind the query API's login is ok without it.
    assert entry.verified is (reason == "ok")
    assert entry.ok is (reason in ("ok", "exported_login_required"))
    facts = {name: "x" for name in ("compose_file", "service", "expected", "endpoint", "host", "detail")}
    assert "{" not in render(entry.msg, facts) + render(entry.fix, facts)


def test_every_reason_the_classifiers_give_is_in_the_vocabulary():
    given = {reason for _, reason in otel_doctor_classify.LOG_PATTERNS}
    given |= set(otel_doctor_classify.PROBE_NETWORK_OUTCOMES.values())
    given |= set(otel_doctor_classify.PROBE_TLS_OUTCOMES.values())
    given |= set(otel_doctor_verdict.JAEGER_TRACE_REASONS.values())
    assert given <= set(VERDICTS)


def test_an_unknown_fact_renders_as_a_question_mark():
    assert render("{host}:{port}", {"host": "j", "port": None}) == "j:?"


def test_the_readme_troubleshooting_table_is_generated_from_the_vocabulary():
    done = subprocess.run(
        [sys.executable, ROOT / "scripts" / "gen_readme_verdicts.py", "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
