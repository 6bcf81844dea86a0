"""grade.yml with class_until against the test bed's Jaeger: real OTLP spans sent before and after the deadline,
graded by the one bulk query. A trace that started after class_until does not count, nor does it hide an earlier
one; the report says the deadline and merges only with a report of the same one."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from otlp import emit_trace
from test_class_grading import latest, playbook, wait_for_services, write_roster

pytestmark = pytest.mark.docker


def test_a_trace_started_after_class_until_does_not_count(tmp_path, jaeger):
    tag = uuid.uuid4().hex[:6]
    vms = {name: f"{name}-{tag}" for name in ("ontime", "late", "fixedlate")}
    service = {name: f"inventory.{vm}.sysadm.ee" for name, vm in vms.items()}
    emit_trace(jaeger.otlp_url, service["ontime"], child_ms=320)
    emit_trace(jaeger.otlp_url, service["fixedlate"], child_ms=60)  # too short, the only try by the deadline
    time.sleep(1.1)
    # To the second, as class_until is given: every span above started before it, every span below after.
    deadline = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)
    emit_trace(jaeger.otlp_url, service["late"], child_ms=320)
    emit_trace(jaeger.otlp_url, service["fixedlate"], child_ms=320)  # the fix, after the deadline
    wait_for_services(jaeger.query_url, set(service.values()))
    roster, reports = write_roster(tmp_path / "roster.csv", vms.values()), tmp_path / "reports"
    # Given in another zone: the same moment.
    until = deadline.astimezone(timezone(timedelta(hours=2))).isoformat()
    shown = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")

    out = playbook("grade.yml", roster, jaeger, reports, "-e", f"class_until={until}")

    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    report = latest(reports)
    by_name = {name: s for s in report["students"] for name, vm in vms.items() if s["vm_name"] == vm}
    assert {name: (s["passed"], s["reason"]) for name, s in by_name.items()} == {
        "ontime": (True, "ok"),
        "late": (False, "no_traces"),
        "fixedlate": (False, "too_short"),  # its later good trace neither counts nor hides the short one
    }
    assert (report["schema"], report["until"]) == (2, shown)
    header = f"started by the deadline {shown} (later ones do not count)"
    assert header in (reports / "latest" / "report.md").read_text()
    assert header in (reports / "latest" / "report.html").read_text()
    # The re-run the summary prints keeps the deadline.
    assert f"-e class_until={until}" in out.stdout or f"-e 'class_until={until}'" in out.stdout

    # Without the deadline, the same traces pass; and the report with one is not merged into it.
    out = playbook("grade.yml", roster, jaeger, reports, "--limit", vms["late"])
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    second = latest(reports)
    why = f"it counted traces started until {shown}, this run until the grading (no class_until)"
    assert second["previous"] == {"run": report["run"], "kept": False, "why": why}
    assert f"The previous report (run {report['run']}) is not merged: {why}" in out.stdout
    assert {s["vm_name"]: s["status"] for s in second["students"]} == {
        vms["ontime"]: "not_graded", vms["late"]: "passed", vms["fixedlate"]: "not_graded"
    }  # fmt: skip
