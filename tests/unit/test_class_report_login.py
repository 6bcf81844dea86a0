"""The class report behind the course's login: the grading's bulk jaeger_trace answer to the test bed gate's
recorded real responses (tests/support/login_replay.py) gives every student `login_required` in the one
vocabulary's words, and each student keeps the link to their traces in the Jaeger UI (`search_url`)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from ansible.module_utils.report import class_report as cr
from ansible.module_utils.testing import patch_module_args
from ansible.modules import jaeger_trace
from login_replay import GateReplay

UI = "https://jaeger.sysadm.ee"
OPERATIONS = {"operation": "validate_inventory_cache", "parent_operation": "GET /api/v1/inventory"}
CRITERIA = {**OPERATIONS, "min_duration_ms": 300}
VMS = ["vm1", "vm2"]
ROSTER = [{"host": vm, "vm_name": vm, "service": f"inventory.{vm}.sysadm.ee"} for vm in VMS]


def grade(ui_url, token=None):
    """grade.yml's bulk call behind the gate: the module's registered result, and the gate's URL."""
    with GateReplay() as gate:
        params = {"url": gate.url, "services": [r["service"] for r in ROSTER], "timeout": 0, **OPERATIONS}
        params.update(min_duration="300ms", ui_url=ui_url, bearer_token=token)
        out = io.StringIO()
        with patch_module_args(params), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            jaeger_trace.main()
    return json.loads(out.getvalue()), gate.url


def build(grading, jaeger_url):
    return cr.build_report(grading, ROSTER, VMS, "20261125T120000Z", "2026-11-25T12:00:00Z", jaeger_url, "7d", CRITERIA)


def test_behind_the_login_every_student_is_the_graders_login_required():
    grading, gate_url = grade(UI)
    report = build(grading, gate_url)
    assert report["jaeger_answered"] is False
    assert {(s["status"], s["reason"], s["hop"]) for s in report["students"]} == {
        ("error", "login_required", "jaeger_query")
    }
    student = report["students"][0]
    assert student["reason_text"].startswith("Jaeger's query API wants a login and the grader sent no token: ")
    assert f"{gate_url}/oauth2/start" in student["reason_text"]
    assert "class_jaeger_bearer_token" in student["fix"] and "class_jaeger_ui_url" in student["fix"]
    assert "Jaeger could not be asked (login_required): 2 of 2" in report["summary"]["lines"]


@pytest.mark.parametrize(
    ("ui_url", "link"),
    [(UI, UI), ("https://grader:pa55@jaeger.sysadm.ee/", UI)],
    ids=["ui_url", "ui_url_with_credentials"],
)
def test_every_student_keeps_the_link_to_their_traces(ui_url, link):
    grading, gate_url = grade(ui_url)
    students = build(grading, gate_url)["students"]
    assert [s["search_url"] for s in students] == [f"{link}/search?service={r['service']}" for r in ROSTER]


def test_a_refused_token_is_the_graders_auth_failed():
    grading, gate_url = grade(UI, token="not-the-gate-token")
    report = build(grading, gate_url)
    assert {s["reason"] for s in report["students"]} == {"auth_failed"}
    assert "not-the-gate-token" not in json.dumps(report)
