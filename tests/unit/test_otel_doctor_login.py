"""The doctor on the course's Jaeger, whose query API sits behind a login: a VM whose export was accepted is not
failed when the query API answers with a login (exported_login_required: ok, not verified, with the link to the
service's traces); a wrong token is still a failure, the right one still gives the full verdict.

The VM's side is the recorded healthy run (tests/fixtures/doctor/healthy.json); Jaeger's side is jaeger_trace's
own answer to the test bed gate's recorded real responses (tests/support/login_replay.py).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import pytest
from ansible.module_utils.doctor.verdict import diagnose
from ansible.module_utils.testing import patch_module_args
from ansible.modules import jaeger_trace, otel_doctor
from gate_replay import load_gate_scenario
from login_replay import GateReplay

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = json.loads((ROOT / "tests" / "fixtures" / "doctor" / "healthy.json").read_text())
EXPECTED = HEALTHY["vm"]["evidence"]["expected"]
ENDPOINT = HEALTHY["vm"]["evidence"]["endpoint"]["url"]
UI = "https://jaeger.sysadm.ee"
SEARCH = f"{UI}/search?service={EXPECTED}"
TOKENS = {"none": None, "wrong": load_gate_scenario()["wrong_token"]}


def main_of(module, params):
    """(exit code, result) of a module run in-process, as Ansible runs it."""
    out = io.StringIO()
    with patch_module_args(params), contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exc:
        module.main()
    return exc.value.code, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def gate_answers():
    """jaeger_trace's registered result per auth, as diagnose.yml asks it (fail_fast, ui_url) behind the gate."""
    answers = {}
    with GateReplay() as gate:
        for auth, token in TOKENS.items():
            params = {"url": gate.url, "ui_url": UI, "service": EXPECTED, "operation": "validate_inventory_cache"}
            params.update(parent_operation="GET /api/v1/inventory", min_duration="300ms", fail_fast=True, timeout=0)
            _rc, answers[auth] = main_of(jaeger_trace, dict(params, bearer_token=token) if token else params)
    answers["gate_url"] = gate.url
    return answers


def evidence(**changes):
    found = copy.deepcopy(HEALTHY["vm"]["evidence"])
    found.update(changes)
    return found


def test_an_accepted_export_behind_the_login_is_not_a_failure(gate_answers):
    diagnosis, search = diagnose(evidence(), gate_answers["none"])
    assert (diagnosis["reason"], diagnosis["hop"], diagnosis["ok"], diagnosis["verified"], search) == (
        "exported_login_required",
        "jaeger_query",
        True,
        False,
        "none",
    )


def test_it_says_what_it_proved_what_it_could_not_and_where_to_look(gate_answers):
    diagnosis, _ = diagnose(evidence(), gate_answers["none"])
    assert f"the OTLP endpoint {ENDPOINT} accepted an export (HTTP 200)" in diagnosis["msg"]
    assert f"wants a login (HTTP 302, a redirect to {gate_answers['gate_url']}/oauth2/start)" in diagnosis["msg"]
    assert SEARCH in diagnosis["fix"] and "inventory_api_verify_bearer_token" in diagnosis["fix"]
    assert f"the service's traces in the Jaeger UI: {SEARCH}" in diagnosis["evidence"]


def test_the_module_exits_0_with_the_verdict(gate_answers):
    rc, result = main_of(otel_doctor, {"evidence": evidence(), "jaeger": gate_answers["none"]})
    assert rc == 0 and "failed" not in result
    assert result["msg"].startswith("exported_login_required (jaeger_query): The VM's side is healthy")


def test_a_wrong_token_is_still_a_failure(gate_answers):
    diagnosis, _ = diagnose(evidence(), gate_answers["wrong"])
    assert (diagnosis["reason"], diagnosis["ok"], diagnosis["verified"]) == ("not_verified", False, False)
    assert "auth_failed: " in diagnosis["msg"] and "rejected bearer_token" in diagnosis["msg"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # Nothing proves the export was accepted: the probe did not run (no Python in the container).
        ({"probe": {"ran": False, "error": "no python"}}, "not_verified"),
        # The request itself failed: no trace to look for, whatever the query API says.
        ({"trigger": {"url": "http://127.0.0.1:5000/api/v1/inventory", "status": 500}}, "trigger_failed"),
        # A VM-side fault the probe proves stays the verdict.
        ({"probe": {"ran": True, "outcome": "refused", "detail": "refused"}}, "export_refused"),
    ],
)
def test_the_login_excuses_only_what_the_vm_proved(gate_answers, changes, reason):
    diagnosis, _ = diagnose(evidence(**changes), gate_answers["none"])
    assert (diagnosis["reason"], diagnosis["ok"]) == (reason, False)


def test_a_trace_seen_in_jaeger_is_still_the_full_verdict():
    diagnosis, _ = diagnose(evidence(), HEALTHY["jaeger"])
    assert (diagnosis["reason"], diagnosis["ok"], diagnosis["verified"]) == ("ok", True, True)
