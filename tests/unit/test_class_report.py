"""The class report's data (module_utils/report/class_report.py, the module class_report) from bulk jaeger_trace results
recorded from a real Jaeger (tests/fixtures/class/, scripts/record_class_fixture.py) and the doctor's evidence
recorded on the test bed (tests/fixtures/doctor/): pass/fail, reasons in the one vocabulary, the doctor's verdict
decided on the controller, merge, JUnit view."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from ansible.module_utils.doctor import verdict as otel_doctor_verdict
from ansible.module_utils.lab import vocabulary as otel_doctor_vocabulary
from ansible.module_utils.report import class_report as cr

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "class"
DOCTOR = ROOT / "tests" / "fixtures" / "doctor"

CRITERIA = {
    "operation": "validate_inventory_cache",
    "parent_operation": "GET /api/v1/inventory",
    "min_duration_ms": 300,
}
VMS = ["good-1", "good-2", "short", "nochild", "orphan", "absent"]


def recorded(name: str = "bulk_result.json") -> dict:
    return json.loads((FIXTURES / name).read_text())


def roster(vms=VMS, **extra) -> list[dict]:
    return [
        {"host": vm, "vm_name": vm, "service": f"inventory.{vm}.sysadm.ee", "student": vm.title(), **extra.get(vm, {})}
        for vm in vms
    ]


def build(grading=None, rows=None, graded=VMS, run="20261125T120000Z", previous=None, secrets=(), until=None):
    return cr.build_report(
        recorded() if grading is None else grading,
        roster() if rows is None else rows,
        graded,
        run,
        "2026-11-25T12:00:00Z",
        "http://jaeger:16686",
        "7d",
        CRITERIA,
        previous=previous,
        secrets=secrets,
        until=until,
    )


def by_vm(report: dict) -> dict:
    return {s["vm_name"]: s for s in report["students"]}


@pytest.mark.parametrize(
    ("vm", "passed", "reason", "status"),
    [
        ("good-1", True, "ok", "passed"),
        ("good-2", True, "ok", "passed"),
        ("short", False, "too_short", "failed"),
        ("nochild", False, "operation_unknown", "failed"),
        ("orphan", False, "parent_mismatch", "failed"),
        ("absent", False, "service_unknown", "failed"),
    ],
)
def test_each_planted_fault_is_graded(vm, passed, reason, status):
    student = by_vm(build())[vm]
    assert (student["passed"], student["reason"], student["status"]) == (passed, reason, status)


def test_the_failing_check_carries_the_reason_and_the_fix():
    checks = {c["name"]: c for c in by_vm(build())["short"]["checks"]}
    assert [checks[n]["ok"] for n in ("service", "parent_trace", "operation", "duration")] == [True, True, True, False]
    duration = checks["duration"]
    assert duration["reason"] == "too_short"
    assert 30 < duration["duration_ms"] < 300
    vocabulary = otel_doctor_vocabulary
    # No provisioning record: the student's own setup, so their code's fix.
    assert duration["fix"] == vocabulary.render(vocabulary.VERDICTS["span_too_short"].own_fix, CRITERIA)
    assert "300 ms" in duration["fix"]
    assert duration["trace_url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("vm", "doctor_reason", "hop"),
    [("short", "span_too_short", "app"), ("nochild", "span_missing", "app"), ("orphan", "span_wrong_parent", "app")],
)
def test_a_jaeger_reason_speaks_the_doctors_words(vm, doctor_reason, hop):
    """One vocabulary: what the report says of a jaeger_trace reason is the doctor's verdict of that meaning."""
    student = by_vm(build())[vm]
    entry = otel_doctor_vocabulary.VERDICTS[doctor_reason]
    assert otel_doctor_verdict.JAEGER_TRACE_REASONS[student["reason"]] == doctor_reason
    fix = entry.own_fix or entry.fix  # graded without provisioning: the student's own setup
    assert (student["hop"], student["fix"]) == (hop, otel_doctor_vocabulary.render(fix, CRITERIA))
    assert student["reason_text"].startswith(entry.msg.split("{")[0])
    assert student["msg"] in student["reason_text"]  # {detail}: the module's own message


@pytest.mark.parametrize(
    "reason", ["service_unknown", "unreachable", "auth_failed", "tls_failed", "vm_unreachable", "provision_failed"]
)
def test_the_graders_own_reasons_come_from_the_vocabulary(reason):
    said = cr.describe(reason, {"service": "inventory.x.sysadm.ee", "step": "connect", "detail": "d"})
    entry = otel_doctor_vocabulary.GRADER_VERDICTS[reason]
    assert (said["short"], said["hop"]) == (entry.symptom, entry.hop)
    assert said["fix"] == otel_doctor_vocabulary.render(entry.fix, {"service": "inventory.x.sysadm.ee"})


def test_checks_after_a_failure_are_not_checked():
    checks = by_vm(build())["absent"]["checks"]
    assert [(c["name"], c["ok"], c["reason"]) for c in checks] == [
        ("service", False, "service_unknown"),
        ("parent_trace", None, "not_checked"),
        ("operation", None, "not_checked"),
        ("duration", None, "not_checked"),
    ]


def test_every_failed_check_carries_the_students_one_reason_and_its_own_message():
    checks = {c["name"]: c for c in by_vm(build())["orphan"]["checks"]}
    assert [(checks[n]["ok"], checks[n]["reason"]) for n in ("parent_trace", "operation")] == [
        (False, "parent_mismatch"),
        (False, "parent_mismatch"),
    ]
    assert checks["parent_trace"]["msg"] != checks["operation"]["msg"]


def test_a_grading_the_module_refused_has_the_criterias_checks_undecided():
    refused = {"failed": True, "reason": "bad_parameter", "msg": "since: 'soon' is not a duration"}
    student = by_vm(build(grading=refused))["good-1"]
    assert [(c["name"], c["ok"], c["reason"]) for c in student["checks"]] == [
        ("service", None, "bad_parameter"),
        ("parent_trace", None, "bad_parameter"),
        ("operation", None, "bad_parameter"),
        ("duration", None, "bad_parameter"),
    ]
    assert (student["status"], student["hop"]) == ("error", "jaeger_query")
    assert "since: 'soon'" in student["reason_text"]


def test_summary_counts_each_check_and_says_it_in_lines():
    summary = build()["summary"]
    assert (summary["students"], summary["passed"], summary["failed"]) == (6, 2, 4)
    failed = {c["name"]: c["failed"] for c in summary["checks"]}
    assert failed == {"service": 1, "parent_trace": 1, "operation": 2, "duration": 1}
    assert "validate_inventory_cache shorter than 300 ms: 1 of 6" in summary["lines"]
    assert "service unknown to Jaeger: 1 of 6" in summary["lines"]


def test_the_waterfall_has_depths_and_the_trace_length():
    trace = by_vm(build())["good-1"]["trace"]
    assert [(s["operation"], s["depth"]) for s in trace["spans"]] == [
        ("GET /api/v1/inventory", 0),
        ("validate_inventory_cache", 1),
    ]
    assert trace["total_ms"] >= trace["spans"][1]["duration_ms"] >= 300
    assert trace["url"].endswith(trace["id"])


def test_jaeger_unreachable_is_an_error_for_everyone_and_says_so():
    report = build(grading=recorded("bulk_unreachable.json"))
    assert {s["status"] for s in report["students"]} == {"error"}
    assert {s["reason"] for s in report["students"]} == {"unreachable"}
    assert {c["reason"] for s in report["students"] for c in s["checks"]} == {"unreachable"}
    assert report["summary"]["lines"] == ["Jaeger could not be asked (unreachable): 6 of 6"]


@pytest.mark.parametrize(
    ("provision", "reason"),
    [
        ({"status": "unreachable", "step": "Check that the VM answers", "msg": "Connection refused"}, "vm_unreachable"),
        (
            {"status": "failed", "step": "inventory_api : Write the merged compose file", "msg": "bad"},
            "provision_failed",
        ),
    ],
)
def test_a_vm_that_failed_provisioning_is_an_error_even_with_good_traces(provision, reason):
    student = by_vm(build(rows=roster(**{"good-1": {"provision": provision}})))["good-1"]
    assert (student["passed"], student["status"], student["reason"]) == (False, "error", reason)
    assert provision["step"] in student["reason_text"]
    assert all(c["ok"] is True for c in student["checks"])  # Jaeger's answer is kept: partial credit


def test_provisioned_and_passing_is_a_pass():
    rows = roster(**{"good-1": {"provision": {"status": "ok", "step": "", "msg": ""}}})
    assert by_vm(build(rows=rows))["good-1"]["passed"] is True


def test_a_rerun_keeps_the_students_it_did_not_grade_with_their_run():
    first = build()
    second = build(grading=recorded(), graded=["short", "absent"], run="20261125T130000Z", previous=first)
    students = by_vm(second)
    assert students["good-1"]["run"] == "20261125T120000Z" and students["good-1"]["passed"]
    assert students["nochild"]["run"] == "20261125T120000Z" and not students["nochild"]["passed"]
    assert students["short"]["run"] == "20261125T130000Z"
    assert (second["summary"]["graded_now"], second["summary"]["carried_over"]) == (2, 4)
    assert [s["vm_name"] for s in second["students"]] == VMS  # the roster's order, the whole roster


def test_a_reruns_provisioning_counts_only_the_vms_it_provisioned():
    ok = {"provision": {"status": "ok", "step": "", "msg": ""}}
    first = build(rows=roster(**dict.fromkeys(VMS, ok)))
    assert first["summary"]["provision"] == {"ok": len(VMS)}
    second = build(rows=roster(short=ok), graded=["short"], run="20261125T130000Z", previous=first)
    assert second["summary"]["provision"] == {"ok": 1}


def test_a_rerun_takes_the_roster_names_and_drops_students_no_longer_in_it():
    first = build()
    rows = roster(vms=VMS[:-1])
    rows[0]["student"] = "Renamed"
    second = build(rows=rows, graded=["short"], previous=first, run="20261125T130000Z")
    assert [s["vm_name"] for s in second["students"]] == VMS[:-1]
    assert by_vm(second)["good-1"]["student"] == "Renamed"


def test_a_student_never_graded_is_reported_as_such():
    report = build(graded=["good-1"])
    student = by_vm(report)["short"]
    assert (student["status"], student["passed"], student["run"]) == ("not_graded", False, None)
    assert "not graded: 5 of 6" in report["summary"]["lines"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"schema": 99}, "its schema is 99"),
        ({"jaeger_url": "http://other:16686"}, "it asked another Jaeger (http://other:16686)"),
        ({"criteria": {**CRITERIA, "min_duration_ms": 100.0}}, "it graded other criteria"),
    ],
)
def test_a_previous_report_of_another_schema_jaeger_or_criteria_is_not_merged(change, why):
    previous = {**copy.deepcopy(build()), **change}
    report = build(graded=["short"], previous=previous)
    assert by_vm(report)["good-1"]["status"] == "not_graded"
    assert report["previous"]["kept"] is False and report["previous"]["why"].startswith(why)
    assert any(line.startswith("The previous report (run 20261125T120000Z) is not merged: " + why)
               for line in report["summary"]["lines"])  # fmt: skip


def test_the_report_says_its_windows_end():
    assert (build()["schema"], build()["until"]) == (2, None)
    assert build(until="2026-12-10T23:59:00Z")["until"] == "2026-12-10T23:59:00Z"


@pytest.mark.parametrize(
    ("before", "now", "why"),
    [
        ("2026-12-10T23:59:00Z", "2026-12-11T23:59:00Z",
         "it counted traces started until 2026-12-10T23:59:00Z, this run until 2026-12-11T23:59:00Z"),
        (None, "2026-12-10T23:59:00Z",
         "it counted traces started until the grading (no class_until), this run until 2026-12-10T23:59:00Z"),
        ("2026-12-10T23:59:00Z", None,
         "it counted traces started until 2026-12-10T23:59:00Z, this run until the grading (no class_until)"),
    ],
)  # fmt: skip
def test_a_previous_report_of_another_window_is_refused_naming_both(before, now, why):
    report = build(graded=["short"], previous=build(until=before), until=now, run="20261125T130000Z")
    assert by_vm(report)["good-1"]["status"] == "not_graded"
    assert report["previous"] == {"run": "20261125T120000Z", "kept": False, "why": why}
    assert f"The previous report (run 20261125T120000Z) is not merged: {why}" in report["summary"]["lines"]


@pytest.mark.parametrize(("until", "kept"), [(None, True), ("2026-12-10T23:59:00Z", False)])
def test_a_schema_1_report_merges_as_one_without_until(until, kept):
    previous = build()
    previous["schema"] = 1
    del previous["until"]
    report = build(graded=["short"], previous=previous, until=until, run="20261125T130000Z")
    assert report["previous"]["kept"] is kept
    assert by_vm(report)["good-1"]["passed"] is kept


def test_a_previous_report_of_the_same_window_is_merged():
    deadline = "2026-12-10T23:59:00Z"
    report = build(graded=["short"], previous=build(until=deadline), until=deadline, run="20261125T130000Z")
    assert report["previous"]["kept"] is True and by_vm(report)["good-1"]["passed"]


def test_a_previous_report_of_the_same_grading_is_merged_and_says_so():
    report = build(graded=["short"], previous=build(), run="20261125T130000Z")
    assert report["previous"] == {"run": "20261125T120000Z", "kept": True, "why": ""}
    assert not any(line.startswith("The previous report") for line in report["summary"]["lines"])


def test_credentials_in_the_jaeger_url_never_reach_the_report():
    grading = copy.deepcopy(recorded())
    for result in grading["results"]:
        if result.get("trace_url"):
            result["trace_url"] = result["trace_url"].replace("http://", "http://grader:pa55word@")
    report = cr.build_report(
        grading, roster(), VMS, "20261125T120000Z", "2026-11-25T12:00:00Z", "https://grader:pa55word@jaeger:16686",
        "7d", CRITERIA,
    )  # fmt: skip
    assert "pa55word" not in json.dumps(report)
    assert report["jaeger_url"] == "https://***@jaeger:16686"
    assert by_vm(report)["good-1"]["trace"]["url"].startswith("http://127.0.0.1:")  # a link to follow
    links = [c["trace_url"] for s in report["students"] for c in s["checks"] if c["trace_url"]]
    assert links and all(link.startswith("http://127.0.0.1:") for link in links)
    again = cr.build_report(
        grading, roster(), ["good-1"], "20261125T130000Z", "2026-11-25T13:00:00Z", "https://grader:pa55word@jaeger:16686",
        "7d", CRITERIA, previous=report,
    )  # fmt: skip
    assert again["previous"]["kept"], again["previous"]


def test_a_url_cut_at_the_length_limit_still_loses_its_credentials():
    # The limit falls between the password and its @: cut first, the URL would no longer look like one.
    msg = "x" * (cr.MSG_LIMIT - 28) + " https://grader:longpassword@jaeger.example/x"
    rows = roster(short={"provision": {"status": "failed", "step": "s", "msg": msg}})
    assert "longpass" not in json.dumps(build(rows=rows))


def test_secrets_and_control_characters_never_reach_the_report():
    rows = roster(**{"short": {"provision": {"status": "failed", "step": "x", "msg": "token s3cr3t-t0ken\x1b[31m"}}})
    text = json.dumps(build(rows=rows, secrets=["s3cr3t-t0ken", ""]))
    assert "s3cr3t-t0ken" not in text and "\\u001b" not in text
    assert "token ********[31m" in text


def test_long_messages_are_cut():
    rows = roster(**{"short": {"provision": {"status": "failed", "step": "x", "msg": "y" * 5000}}})
    assert len(by_vm(build(rows=rows))["short"]["provision"]["msg"]) < 2100


def evidence(fault: str) -> dict:
    """The evidence otel_doctor gathered on a lab VM of the test bed with that fault (the faults scenario)."""
    return json.loads((DOCTOR / f"{fault}.json").read_text())["vm"]["evidence"]


@pytest.mark.parametrize(
    ("vm", "fault", "reason", "hop"),
    [
        # The VM's own evidence settles it, whatever Jaeger holds.
        ("good-1", "not_restarted", "not_restarted", "container_env"),
        ("absent", "wrong_port", "export_refused", "network_tls"),
        # A refused export, yet the run's trace is in Jaeger: it landed, the trace decides.
        ("short", "wrong_port", "span_too_short", "app"),
        # A healthy VM: the class's bulk answer for its service decides, as the doctor's own query would.
        ("good-2", "healthy", "ok", ""),
        ("short", "healthy", "span_too_short", "app"),
        ("nochild", "healthy", "span_missing", "app"),
    ],
)
def test_the_doctors_verdict_is_decided_on_the_controller_from_evidence_and_the_bulk_answer(vm, fault, reason, hop):
    diagnosis = by_vm(build(rows=roster(**{vm: {"evidence": evidence(fault)}})))[vm]["diagnosis"]
    assert (diagnosis["reason"], diagnosis["hop"]) == (reason, hop)
    assert diagnosis["fix"] and diagnosis["evidence"]


def test_no_evidence_no_diagnosis():
    assert "diagnosis" not in by_vm(build())["short"]


@pytest.mark.parametrize(
    "reason", sorted({*otel_doctor_vocabulary.GRADER_VERDICTS, *otel_doctor_verdict.JAEGER_TRACE_REASONS, "ok"})
)
def test_every_reason_the_report_gives_has_words_and_a_fix(reason):
    said = cr.describe(reason)
    assert said["short"] and said["words"] and said["fix"]


def split(grading, services):
    """The bulk answer as two calls' answers: `services` in the second."""
    first = dict(grading, results=[r for r in grading["results"] if r["service"] not in services])
    second = dict(grading, results=[r for r in grading["results"] if r["service"] in services], reason="some_failed")
    return [first, {"skipped": True}, second]


def test_the_answers_of_two_calls_grade_as_one():
    absent = ["inventory.absent.sysadm.ee", "inventory.short.sysadm.ee"]
    assert build(grading=split(recorded(), absent))["students"] == build()["students"]


@pytest.mark.parametrize(
    ("reasons", "merged"),
    [(["ok", "ok"], "ok"), (["ok", "some_failed"], "some_failed"), (["some_failed", "unreachable"], "unreachable")],
)
def test_merged_grading_reason(reasons, merged):
    answers = [{"reason": reason, "msg": reason, "results": [{"service": reason}]} for reason in reasons]
    grading = cr.merged_grading(answers)
    assert (grading["reason"], len(grading["results"])) == (merged, 2)
    assert cr.merged_grading([{"skipped": True}]) == {}


def test_a_grading_call_that_crashed_is_the_graders_error():
    crashed = {"failed": True, "msg": "MODULE FAILURE: no python3 on the delegate"}
    grading = cr.merged_grading([recorded(), {"skipped": True}, crashed])
    assert (grading["reason"], grading["msg"]) == ("internal_error", crashed["msg"])
    report = build(grading=[crashed])
    assert {s["reason"] for s in report["students"]} == {"internal_error"}
    assert report["jaeger_answered"] is False


def test_junit_view_counts_agree_with_the_report():
    report = build(rows=roster(**{"absent": {"provision": {"status": "unreachable", "step": "ping", "msg": "x"}}}))
    view = cr.junit(report)
    assert view["tests"] == sum(len(s["checks"]) for s in report["students"]) + 1
    assert view["failures"] == sum(1 for s in report["students"] for c in s["checks"] if c["ok"] is False)
    assert view["errors"] == 1
    absent = next(s for s in view["suites"] if s["name"].startswith("absent"))
    assert absent["cases"][0] == {
        "classname": "lab10.absent",
        "name": "provision",
        "outcome": "error",
        "type": "vm_unreachable",
        "message": "The VM did not answer (ping).",
        "text": "x",
    }


def test_junit_view_skips_the_checks_an_earlier_failure_left_undecided():
    report = build()
    view = cr.junit(report)
    assert view["skipped"] == sum(1 for s in report["students"] for c in s["checks"] if c["ok"] is None) > 0
    absent = next(s for s in view["suites"] if s["name"].startswith("absent"))
    assert [c["outcome"] for c in absent["cases"]] == ["failure", "skipped", "skipped", "skipped"]
    assert absent["skipped"] == 3


def test_junit_view_makes_undecided_checks_errors_when_jaeger_was_not_asked():
    view = cr.junit(build(grading=recorded("bulk_unreachable.json")))
    assert (view["errors"], view["failures"]) == (24, 0)


def test_the_report_says_whether_jaeger_answered():
    assert build()["jaeger_answered"] is True
    assert build(grading=recorded("bulk_unreachable.json"))["jaeger_answered"] is False


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (
            "Task failed: Finalization of task args for 'ansible.builtin.set_fact' failed: Error while resolving value"
            " for '__x': The filter plugin 'inventory_api_compose_merge' failed: the existing compose file is not"
            " valid YAML",
            "the existing compose file is not valid YAML",
        ),
        (
            "Task failed: Failed to connect to the host via ssh: refused",
            "Failed to connect to the host via ssh: refused",
        ),
        ("docker compose config failed: services.x", "docker compose config failed: services.x"),
        (None, ""),
    ],
)
def test_ansible_error_keeps_the_innermost_message(msg, expected):
    assert cr.ansible_error(msg) == expected


KIT = {"provision": {"status": "ok", "step": "", "msg": ""}}


@pytest.mark.parametrize(("vm", "reason"), [("short", "span_too_short")])
def test_the_fix_speaks_to_the_students_own_code_unless_the_kit_provisioned_the_vm(vm, reason):
    """No provisioning record (grade.yml): no kit variable; provisioned by class.yml: the kit's variables."""
    entry = otel_doctor_vocabulary.VERDICTS.get(reason) or otel_doctor_vocabulary.GRADER_VERDICTS[reason]
    own = by_vm(build())[vm]
    kit = by_vm(build(rows=roster(**{vm: KIT})))[vm]
    assert (own["setup"], kit["setup"]) == ("own", "kit")
    assert "inventory_api_" not in own["fix"] and "inventory_api_" in kit["fix"]
    facts = {**CRITERIA, "service": f"inventory.{vm}.sysadm.ee"}
    assert own["fix"] == otel_doctor_vocabulary.render(entry.own_fix, facts)
    assert kit["fix"] == otel_doctor_vocabulary.render(entry.fix, facts)
    assert "300 ms inside the span validate_inventory_cache" in own["fix"]
    assert {c["fix"] for c in own["checks"] if c["ok"] is False} == {own["fix"]}


def test_no_own_fix_names_a_kit_variable():
    entries = {**otel_doctor_vocabulary.VERDICTS, **otel_doctor_vocabulary.GRADER_VERDICTS}
    assert [r for r, e in entries.items() if e.own_fix and "inventory_api_" in e.own_fix] == []


def said_twice(student: dict) -> list[str]:
    """The report's lines of one student (reason, notes) of which one holds another."""
    lines = [student["reason_text"], *student["notes"]]
    return [b for i, a in enumerate(lines) for b in lines[i + 1 :] if b.rstrip(".") in a or a.rstrip(".") in b]


def test_a_reason_is_said_once():
    rows = roster(
        nochild={"provision": {"status": "failed", "step": "s", "msg": "compose file: not valid YAML"}},
        absent={"provision": {"status": "unreachable", "step": "connect", "msg": "Missing sudo password"}},
    )
    report = build(rows=rows)
    assert {s["vm_name"]: said_twice(s) for s in report["students"]} == dict.fromkeys(VMS, [])
    students = by_vm(report)
    assert students["short"]["notes"] == []  # its check's message is the reason's detail
    # Another fact than the reason's: the route's trace is missing too.
    assert students["orphan"]["notes"] == ["trace of 'GET /api/v1/inventory' in the last 7d: not found"]
    # A generic provisioning failure: the error is the cause; Jaeger still knows the service (partial credit).
    assert students["nochild"]["notes"][0] == "compose file: not valid YAML" and len(students["nochild"]["notes"]) == 2
    # A named cause says it in its own words; Jaeger's "unknown service" of a VM never provisioned is no news.
    assert students["absent"]["notes"] == [] and students["absent"]["reason"] == "become_password_missing"


@pytest.mark.parametrize(("fault", "agrees"), [("healthy", True), ("not_restarted", False)])
def test_the_report_says_whether_the_doctor_found_the_same(fault, agrees):
    """short: too short in Jaeger; the doctor of a healthy VM finds that too, of a stale container another hop."""
    student = by_vm(build(rows=roster(short={"evidence": evidence(fault), **KIT})))["short"]
    assert student["doctor_agrees"] is agrees
