"""The doctor on what real faults looked like: tests/fixtures/doctor/*.json, recorded on the test bed by
the molecule scenario `faults` (LAB10_RECORD_DOCTOR=tests/fixtures/doctor scripts/molecule.sh test faults).

Each file holds the verdict of a doctor.yml run, that run's otel_doctor and jaeger_trace results, and
the docker CLI exchanges of a second gathering a few seconds later, replayed here through the real
Gatherer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils.doctor.classify import classify_log_line, classify_probe, scan_logs, split_timestamp
from ansible.module_utils.doctor.evidence import Gatherer
from ansible.module_utils.doctor.probe import PROBE
from ansible.module_utils.doctor.verdict import SEARCH_NONE, SEARCH_ONCE, SEARCH_WAIT, diagnose

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"
RECORDED = {path.stem: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}
CRITERIA = {"operation": "validate_inventory_cache", "parent_operation": "GET /api/v1/inventory"}
# What the VM's own evidence leaves to Jaeger, per recorded fault.
SEARCH = {
    "healthy": SEARCH_WAIT,
    "login_required": SEARCH_WAIT,
    "span_missing": SEARCH_WAIT,
    "wrong_port": SEARCH_ONCE,
    "unknown_host": SEARCH_ONCE,
    "jaeger_stopped": SEARCH_ONCE,
}
EXPECTED = {
    "healthy": ("ok", ""),
    # Healthy, with Jaeger's query API behind the test bed's login gate and no token: not a failure.
    "login_required": ("exported_login_required", "jaeger_query"),
    "wrong_port": ("export_refused", "network_tls"),
    "path_404": ("export_http_404", "jaeger_ingest"),
    "untrusted_tls": ("export_tls", "network_tls"),
    "not_restarted": ("not_restarted", "container_env"),
    "service_typo": ("service_name_mismatch", "container_env"),
    "span_missing": ("span_missing", "app"),
    "jaeger_stopped": ("jaeger_unreachable", "jaeger_ingest"),
    "unknown_host": ("export_dns", "network_tls"),
    "https_to_http": ("export_not_tls", "network_tls"),
    "ui_port": ("export_not_otlp", "jaeger_ingest"),
}
FAULTS = pytest.mark.parametrize("fault", sorted(RECORDED))


class Replay:
    """A run_command stand-in answering each docker call with its recorded answer, in order."""

    def __init__(self, exchanges):
        self.exchanges = list(exchanges)
        self.misses = []

    def __call__(self, argv, timeout=30):
        recorded = ["<PROBE>" if arg == PROBE else arg for arg in argv]
        if self.exchanges and self.exchanges[0]["argv"] == recorded:
            exchange = self.exchanges.pop(0)
            return exchange["rc"], exchange["stdout"], exchange["stderr"]
        self.misses.append(recorded)
        return 1, "", "not recorded"


def test_every_planted_fault_was_recorded():
    assert set(RECORDED) == set(EXPECTED)


@FAULTS
def test_the_recorded_run_gave_the_expected_verdict(fault):
    diagnosis = RECORDED[fault]["diagnosis"]
    assert (diagnosis["reason"], diagnosis["hop"]) == EXPECTED[fault]


@FAULTS
def test_the_verdict_follows_from_the_recorded_evidence_and_jaeger_answer(fault):
    recorded = RECORDED[fault]
    diagnosis, search = diagnose(recorded["vm"]["evidence"], recorded.get("jaeger"), CRITERIA)
    assert (diagnosis["reason"], diagnosis["hop"]) == EXPECTED[fault]
    assert diagnosis["evidence"] == recorded["diagnosis"]["evidence"]
    assert search == SEARCH_NONE


@FAULTS
def test_the_vm_evidence_alone_says_what_to_ask_jaeger(fault):
    _, search = diagnose(RECORDED[fault]["vm"]["evidence"], None, CRITERIA)
    assert search == SEARCH.get(fault, SEARCH_NONE)


@FAULTS
def test_the_gatherer_reproduces_the_recorded_evidence(fault):
    recorded = RECORDED[fault]
    replay = Replay(recorded["exchanges"])
    gatherer = Gatherer("docker", run=replay, **recorded["gather"])
    evidence = gatherer.gather(expected=recorded["later_evidence"]["expected"], **recorded["gather_options"])
    assert replay.misses == [] and replay.exchanges == []
    assert evidence == recorded["later_evidence"]


@pytest.mark.parametrize("fault", sorted(f for f in RECORDED if SEARCH.get(f) != SEARCH_WAIT))
def test_later_evidence_keeps_the_vm_side_verdict(fault):
    """Seconds later, with the exporter's own errors in the log, the VM's side says the same."""
    recorded = RECORDED[fault]
    diagnosis, _ = diagnose(recorded["later_evidence"], recorded.get("jaeger"), CRITERIA)
    assert (diagnosis["reason"], diagnosis["hop"]) == EXPECTED[fault]


def exporter_error_lines():
    """(fault, line) for every real exporter error line the recordings hold."""
    return [
        (fault, error["line"])
        for fault, recorded in sorted(RECORDED.items())
        for error in recorded["later_evidence"]["logs"]["errors"]
    ]


@pytest.mark.parametrize(("fault", "line"), exporter_error_lines())
def test_a_real_exporter_line_means_its_faults_reason(fault, line):
    expected = EXPECTED[fault][0]
    if fault == "jaeger_stopped":
        expected = "export_timeout"  # the exporter alone cannot tell Jaeger being down from a timeout
    assert scan_logs([line])["errors"][0]["reason"] == expected


def test_the_recordings_hold_an_exporter_line_for_each_transport_fault():
    faults = {fault for fault, _ in exporter_error_lines()}
    assert {"wrong_port", "path_404", "untrusted_tls", "unknown_host", "https_to_http", "jaeger_stopped"} <= faults


@FAULTS
def test_app_start_lines_are_not_errors(fault):
    for line in RECORDED[fault]["later_evidence"]["logs"]["kept"]:
        _, text = split_timestamp(line)
        if "exports to" in text:
            assert classify_log_line(text) is None


@FAULTS
def test_the_recorded_probe_outcome_means_the_faults_reason(fault):
    reason = classify_probe(RECORDED[fault]["later_evidence"].get("probe"))
    vm_reason = dict.fromkeys(("healthy", "login_required", "span_missing", "not_restarted", "service_typo"))
    expected = vm_reason.get(fault, EXPECTED[fault][0])
    assert reason == ("export_timeout" if fault == "jaeger_stopped" else expected)


@FAULTS
def test_no_secret_reaches_the_evidence(fault):
    text = json.dumps(RECORDED[fault]["diagnosis"]) + json.dumps(RECORDED[fault]["vm"])
    assert "molecule-not-a-secret" not in text


def test_the_recorded_login_verdict_passes_the_student_and_links_to_the_traces():
    """doctor.yml on the test bed's VM behind the gate, no token: what it proved, what not, and the link."""
    recorded = RECORDED["login_required"]
    diagnosis, _ = diagnose(recorded["vm"]["evidence"], recorded["jaeger"], CRITERIA)
    assert (diagnosis["ok"], diagnosis["verified"]) == (True, False)
    assert diagnosis["msg"] == recorded["diagnosis"]["msg"]
    assert "accepted an export (HTTP 200)" in diagnosis["msg"] and recorded["jaeger"]["login"] in diagnosis["msg"]
    assert recorded["jaeger"]["search_url"] in diagnosis["fix"]
