"""grade.yml on the course's real path: the query API asked where it needs no login (the scoring server's
localhost:16686, here the test Jaeger's own port behind the gate) while the report links into the UI people open
(class_jaeger_ui_url); and the gated query API asked without a token: login_required for everyone, the run fails
after writing the report, every student keeps the link to their traces. No lab-VM container is needed."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from conftest import LABEL
from otlp import emit_trace
from polling import get_json, poll
from test_class_grading import latest, playbook, write_roster
from testbed_lib.gate import GatedJaeger

pytestmark = pytest.mark.docker

UI = "https://jaeger.sysadm.ee"


@pytest.fixture(scope="module")
def gated_class(docker_client, images, tmp_path_factory):
    """A gate in front of a fresh Jaeger, a trace per planted VM sent through its open ingest, and a roster."""
    tag = uuid.uuid4().hex[:6]
    vms = {f"good-{tag}": {"child_ms": 320}, f"short-{tag}": {"child_ms": 60}, f"absent-{tag}": None}
    with GatedJaeger(labels=LABEL) as gate:
        for vm, plant in vms.items():
            if plant is not None:
                emit_trace(gate.otlp_url, f"inventory.{vm}.sysadm.ee", **plant)

        sent = {f"inventory.{vm}.sysadm.ee" for vm, plant in vms.items() if plant}
        assert poll(lambda: sent <= set(get_json(f"{gate.query_url}/api/services")["data"] or [])), "not ingested"
        work = tmp_path_factory.mktemp("gated-class")
        yield gate, list(vms), write_roster(work / "roster.csv", vms), work


def students(reports):
    return {s["vm_name"].split("-")[0]: s for s in latest(reports)["students"]}


def test_grading_where_no_login_is_needed_links_into_the_ui(gated_class):
    gate, _, roster, work = gated_class
    scoring_server = SimpleNamespace(query_url=gate.query_url)  # the query API without the gate, as on localhost
    out = playbook("grade.yml", roster, scoring_server, work / "direct", "-e", f"class_jaeger_ui_url={UI}")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    by_kind = students(work / "direct")
    good, short, absent = by_kind["good"], by_kind["short"], by_kind["absent"]
    assert good["passed"] and good["trace"]["url"] == f"{UI}/trace/{good['trace']['id']}"
    assert short["trace"]["url"].startswith(f"{UI}/trace/")
    assert absent["search_url"] == f"{UI}/search?service={absent['service']}"
    # The merge rule still compares the query URL.
    assert latest(work / "direct")["jaeger_url"] == gate.query_url
    markdown = (work / "direct" / "latest" / "report.md").read_text()
    html = (work / "direct" / "latest" / "report.html").read_text()
    assert f"(<{good['trace']['url']}>)" in markdown and f"[traces](<{absent['search_url']}>)" in markdown
    assert f'href="{good["trace"]["url"]}"' in html and f'href="{absent["search_url"]}"' in html
    assert gate.query_url + "/trace" not in markdown + html
    # The printed re-run keeps the setting (the class_* settings that differ from the defaults).
    assert f"-e class_jaeger_ui_url={UI}" in out.stdout


def test_grading_the_gated_query_api_without_a_token_is_login_required_for_everyone(gated_class):
    gate, vms, roster, work = gated_class
    out = playbook("grade.yml", roster, SimpleNamespace(query_url=gate.url), work / "gated")
    assert out.returncode == 2, out.stdout[-4000:] + out.stderr
    report = latest(work / "gated")
    assert report["jaeger_answered"] is False
    assert {(s["status"], s["reason"], s["hop"]) for s in report["students"]} == {
        ("error", "login_required", "jaeger_query")
    }
    assert f"Jaeger could not be asked (login_required): {len(vms)} of {len(vms)}" in report["summary"]["lines"]
    student = report["students"][0]
    assert "class_jaeger_bearer_token" in student["fix"] and f"{gate.url}/oauth2/start" in student["reason_text"]
    # No ui_url: the links are the query URL's, the UI behind the same login a browser can pass.
    assert student["search_url"] == f"{gate.url}/search?service={student['service']}"


def test_grading_the_gated_query_api_with_the_token_passes_the_good_one(gated_class):
    gate, _, roster, work = gated_class
    gated = SimpleNamespace(query_url=gate.url)
    out = playbook("grade.yml", roster, gated, work / "token",
                   "-e", f"class_jaeger_bearer_token={gate.token}", "-e", f"class_jaeger_ui_url={UI}")  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    by_kind = students(work / "token")
    assert (by_kind["good"]["passed"], by_kind["short"]["reason"], by_kind["absent"]["reason"]) == (
        True,
        "too_short",
        "service_unknown",
    )
    assert gate.token not in "".join(p.read_text() for p in (work / "token" / "latest").iterdir())
