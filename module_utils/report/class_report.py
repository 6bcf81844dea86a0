# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The class report (report.json, schema 2) of one bulk jaeger_trace result, and its JUnit view.

Pure: the module class_report reads the previous report and calls build_report(); the role `class`
renders templates/class_report.* from what it returns. Every reason's words, hop and fix come from the one
vocabulary (lab.vocabulary): the grader's own reasons, and for a jaeger_trace reason that means
what a doctor verdict means, that verdict (doctor.verdict.JAEGER_TRACE_REASONS). A VM whose evidence
class.yml gathered gets the doctor's verdict here, on the controller, from that evidence and its entry of
the same bulk result: one query to Jaeger, one verdict per VM. Over 300 lines: the report and its JUnit view
share every helper here.
"""

from __future__ import annotations

import re
from collections import Counter

from ..doctor.verdict import JAEGER_QUERY_FAILURES, JAEGER_TRACE_REASONS, diagnose
from ..jaeger.match import Criteria
from ..jaeger.verdict import applicable_checks
from ..lab.redact import redact_userinfo, without_userinfo
from ..lab.vocabulary import GRADER_VERDICTS, VERDICTS, render
from .provision import GENERIC as VM_GENERIC
from .provision import REASONS as VM_REASONS
from .provision import provision_reason

# 2: `until`, the grading window's end (class_until). A schema 1 report, which has none, merges as one without it.
SCHEMA = 2
MERGEABLE_SCHEMAS = (1, SCHEMA)
# A check's name -> (what passing says, what failing says: the summary's line).
CHECK_LABELS = {
    "service": ("service known to Jaeger", "service unknown to Jaeger"),
    "parent_trace": ("a trace of {parent_operation}", "no trace of {parent_operation}"),
    "operation": ("{operation} under {parent_operation}", "{operation} missing under {parent_operation}"),
    "duration": ("{operation} lasts at least {min_duration_ms} ms", "{operation} shorter than {min_duration_ms} ms"),
    "attributes": ("{operation} carries the attributes", "{operation} lacks the attributes"),
    "min_traces": ("enough matching traces", "too few matching traces"),
}
ROSTER_FIELDS = ("host", "vm_name", "student", "email", "section", "service")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# How Ansible 2.19 wraps a task's error (a failed filter inside set_fact, say): the wrappers say nothing to a
# reader of the report, the innermost message does.
_ANSIBLE_WRAPPERS = re.compile(
    r"^(Task failed: |Action failed: |Finalization of task args for '[^']*' failed: "
    r"|Error while resolving value for '[^']*': |The filter plugin '[^']*' failed: )+"
)
MSG_LIMIT = 2000


def vocabulary_entry(reason):
    """The vocabulary's Verdict of a report reason, or None: the grader's own, else the doctor's of that meaning."""
    if reason in GRADER_VERDICTS:
        return GRADER_VERDICTS[reason]
    return VERDICTS.get(JAEGER_TRACE_REASONS.get(reason, reason))


def describe(reason, facts=None, own_setup=False):
    """{short, words, hop, fix} of a reason, its placeholders filled from facts ("?" when unknown).

    own_setup: the VM was not provisioned by the kit, so the fix speaks of the student's own code (own_fix).
    """
    entry = vocabulary_entry(reason)
    if entry is None:
        return {"short": reason, "words": reason.replace("_", " "), "hop": "", "fix": ""}
    facts = facts or {}
    fix = entry.own_fix if own_setup and entry.own_fix else entry.fix
    return {"short": entry.symptom, "words": render(entry.msg, facts), "hop": entry.hop, "fix": render(fix, facts)}


def clean(value, secrets=()):
    """Strings without secrets, control characters (invalid in XML) or unbounded length, recursively."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "********")
        value = _CONTROL.sub("", value)
        return value if len(value) <= MSG_LIMIT else value[:MSG_LIMIT] + " [...]"
    if isinstance(value, dict):
        return {k: clean(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, secrets) for v in value]
    return value


def waterfall(spans):
    """Spans in tree order (as jaeger_trace returns them) with their depth, and the trace's length in ms."""
    depth_of, rows = {}, []
    for span in spans or []:
        depth = depth_of.get(span.get("parent_span_id"), -1) + 1
        depth_of[span.get("span_id")] = depth
        row = {k: span.get(k) for k in ("operation", "service", "parent")}
        row.update(duration_ms=float(span.get("duration_ms") or 0), offset_ms=float(span.get("offset_ms") or 0))
        row["depth"] = depth
        rows.append(row)
    total = max((r["offset_ms"] + r["duration_ms"] for r in rows), default=0.0)
    return {"total_ms": round(total, 3), "spans": rows}


def ansible_error(msg):
    """A task's error message without Ansible's wrappers: `Task failed: The filter plugin 'x' failed: E` -> `E`."""
    return _ANSIBLE_WRAPPERS.sub("", str(msg or "")).strip()


def grade_checks(result, facts, names, own_setup=False):
    """One bulk result entry -> (its checks with words and fix, its reason).

    names: the checks of the grading's criteria, for an entry without them (the module refused the call).
    own_setup: the VM was not provisioned by the kit (describe).
    A failed check carries the student's one reason (the module names no other); a check not decided
    carries the grader's failure when Jaeger could not be asked, else not_checked.
    """
    reason = result.get("reason") or "internal_error"
    raw_checks = result.get("checks") or [{"name": name, "ok": None, "msg": ""} for name in names]
    checks = []
    for raw in raw_checks:
        name, ok = raw.get("name", "?"), raw.get("ok")
        if ok is True:
            check_reason = "ok"
        elif ok is False or reason in JAEGER_QUERY_FAILURES:
            check_reason = reason
        else:
            check_reason = "not_checked"
        said = describe(check_reason, facts, own_setup)
        label, failed_label = CHECK_LABELS.get(name, (name, name + " failed"))
        checks.append(
            {
                "name": name,
                "label": render(label, facts),
                "failed_label": render(failed_label, facts),
                "ok": ok,
                "reason": check_reason,
                "reason_text": said["words"],
                "msg": raw.get("msg") or "",
                "fix": said["fix"],
                "duration_ms": raw.get("measured_ms", facts.get("measured_ms") if name == "duration" else None),
                "trace_url": without_userinfo(result.get("trace_url")),
            }
        )
    return checks, reason


def student_entry(row, result, provision, run, facts, names):
    """A roster row graded in this run -> its report entry."""
    facts = dict(facts, detail=result.get("msg"), measured_ms=result.get("measured_ms"))
    provision = {"status": "skipped", "step": "", "msg": "", **(provision or {})}
    provision["msg"] = ansible_error(provision["msg"])
    # No provisioning record: the student set the VM up, so a fix names their code, not the kit's variables.
    setup = "own" if provision["status"] == "skipped" else "kit"
    checks, reason = grade_checks(result, facts, names, setup == "own")
    reason = provision_reason(provision) or reason
    passed = provision["status"] in ("ok", "skipped") and bool(checks) and all(c["ok"] is True for c in checks)
    said = describe(reason, dict(facts, step=provision["step"]), setup == "own")
    if passed:
        status = "passed"
    elif reason in JAEGER_QUERY_FAILURES or reason in VM_REASONS:
        status = "error"
    else:
        status = "failed"
    trace = None
    if result.get("trace_id"):
        trace = {
            "id": result["trace_id"],
            "url": without_userinfo(result.get("trace_url")),
            **waterfall(result.get("spans")),
        }
    entry = dict(row, run=run, passed=passed, status=status, reason=reason, hop=said["hop"], setup=setup)
    entry.update(reason_text=said["words"], fix=said["fix"], msg=result.get("msg", ""), provision=provision)
    entry["notes"] = [] if passed else notes(reason, said["words"], provision, checks)
    # The service's traces in the Jaeger UI (class_jaeger_ui_url): a link also where no trace matched.
    entry.update(checks=checks, trace=trace, search_url=without_userinfo(result.get("search_url")))
    return entry


def notes(reason, reason_text, provision, checks):
    """What the report says of a student besides the reason's words, each thing once.

    The provisioning's error when the reason is the generic one (a named cause's words already say it: the
    error stays in provision.msg), and each failed check's message that the words said so far do not hold.
    Jaeger's answer for a VM whose provisioning failed is told only when it holds something of the service.
    """
    texts = [provision["msg"]] if reason in VM_GENERIC.values() else []
    if reason not in VM_REASONS or any(check["ok"] is True for check in checks):
        texts += [c["msg"] for c in checks if c["ok"] is False or c["reason"] in JAEGER_QUERY_FAILURES]
    said, lines = [reason_text], []
    for text in (t.strip() for t in texts):
        if text and not any(text.rstrip(".") in earlier for earlier in said):
            said.append(text)
            lines.append(text)
    return lines


def not_graded(row):
    said = describe("not_graded")
    entry = dict(row, run=None, passed=False, status="not_graded", reason="not_graded", hop=said["hop"])
    entry.update(reason_text=said["words"], fix=said["fix"], msg="", checks=[], trace=None, notes=[], setup="")
    entry["provision"] = {"status": "skipped", "step": "", "msg": ""}
    return entry


def window_end(until):
    """A report's `until` in words: the deadline, or that the window ended when the grading asked."""
    return until or "the grading (no class_until)"


def mergeable(previous, jaeger_url, criteria, until=None):
    """(the previous report's students by vm_name, what the report says about it) -- empty when it must not merge.

    A previous report merges only when it graded the same criteria against the same Jaeger, with the same
    window's end (until): a student's old pass against another Jaeger, a laxer threshold, or traces sent after
    this deadline, says nothing about this grading. The window's start is not compared: class.yml's is when
    its provisioning started, grade.yml's is relative (7d).
    """
    if not isinstance(previous, dict):
        return {}, None
    note = {"run": previous.get("run"), "kept": False, "why": ""}
    if previous.get("schema") not in MERGEABLE_SCHEMAS:
        note["why"] = f"its schema is {previous.get('schema')!r}, not {SCHEMA}"
    elif previous.get("jaeger_url") != jaeger_url:
        note["why"] = f"it asked another Jaeger ({previous.get('jaeger_url')})"
    elif previous.get("criteria") != criteria:
        note["why"] = f"it graded other criteria ({previous.get('criteria')})"
    elif previous.get("until") != until:
        note["why"] = (
            f"it counted traces started until {window_end(previous.get('until'))}, this run until {window_end(until)}"
        )
    else:
        note["kept"] = True
        return {s.get("vm_name"): s for s in previous.get("students") or []}, note
    return {}, note


def merged_grading(answers):
    """One bulk jaeger_trace result of the grading's answers, a registered loop's `results` (or one result).

    grade.yml asks in up to two calls: the VMs that may still export (waiting for their traces) and those whose
    provisioning failed or that did not answer (one search). A Jaeger that could not be asked in either call
    speaks for the whole grading.
    """
    if isinstance(answers, dict):
        return answers
    answers = [a for a in answers or [] if isinstance(a, dict) and not a.get("skipped")]
    if not answers:
        return {}
    # A call that crashed (MODULE FAILURE: no reason, no results) is the grader's error, as a single call's is.
    answers = [a if a.get("reason") else dict(a, reason="internal_error") for a in answers]
    unanswered = [a for a in answers if a["reason"] in JAEGER_QUERY_FAILURES]
    merged = dict(unanswered[0] if unanswered else answers[0])
    merged["results"] = [result for answer in answers for result in answer.get("results") or []]
    if not unanswered:
        merged["reason"] = "ok" if all(a.get("reason") == "ok" for a in answers) else "some_failed"
    return merged


def build_report(
    grading, roster, graded, run, generated, jaeger_url, since, criteria, previous=None, secrets=(), until=None
):
    """The report (schema 2) of this run, merged with `previous` for the roster's students not graded now.

    grading: the registered bulk jaeger_trace result, or a list of them (merged_grading). roster: one dict per
    roster host (host, vm_name, service, student, email, section; provision and evidence when class.yml
    gathered them). graded: the inventory hostnames graded in this run. criteria: {operation,
    parent_operation, min_duration_ms}. until: the window's end as jaeger_trace was given it (RFC 3339), None
    when the window ended with the grading.
    """
    grading = merged_grading(grading)
    criteria = dict(criteria, min_duration_ms=float(criteria.get("min_duration_ms") or 0))
    base = {
        "operation": criteria.get("operation"),
        "parent_operation": criteria.get("parent_operation"),
        "min_duration_ms": f"{criteria['min_duration_ms']:g}",
        "since": since,
    }
    names = applicable_checks(
        Criteria(
            None,
            operation=criteria.get("operation"),
            parent_operation=criteria.get("parent_operation"),
            min_ms=criteria["min_duration_ms"] or None,
        )
    )
    doctor_criteria = {k: criteria.get(k) for k in ("operation", "parent_operation", "min_duration_ms")}
    by_service = {r.get("service"): r for r in grading.get("results") or []}
    # The previous report holds the URL as shown (without credentials).
    earlier, merged = mergeable(previous, redact_userinfo(jaeger_url), criteria, until)
    graded = set(graded or [])
    students = []
    for host in roster:
        row = {k: host.get(k) or "" for k in ROSTER_FIELDS}
        if host["host"] in graded:
            facts = dict(base, service=row["service"], vm_name=row["vm_name"])
            fallback = {"ok": False, "reason": grading.get("reason") or "internal_error", "msg": grading.get("msg")}
            result = by_service.get(row["service"], fallback)
            entry = student_entry(row, result, host.get("provision"), run, facts, names)
            if host.get("evidence"):
                entry["diagnosis"] = diagnose(host["evidence"], result, doctor_criteria)[0]
                # The doctor found what the grade says: the report says it once, and that the doctor agrees.
                meaning = JAEGER_TRACE_REASONS.get(entry["reason"], entry["reason"])
                entry["doctor_agrees"] = entry["diagnosis"]["reason"] == meaning
        elif row["vm_name"] in earlier:
            # Kept from the run that produced it (its `run`); the roster's current names win.
            entry = {**earlier[row["vm_name"]], **row}
        else:
            entry = not_graded(row)
        students.append(entry)
    report = {
        "schema": SCHEMA,
        "generated": generated,
        "run": run,
        "jaeger_url": jaeger_url,
        "since": since,
        "until": until,
        # False when Jaeger itself could not be asked: the run then fails after writing the report.
        "jaeger_answered": grading.get("reason") not in JAEGER_QUERY_FAILURES,
        "criteria": criteria,
        "previous": merged,
        "summary": summarize(students, run, merged),
        "students": students,
    }
    # A URL's user:password@ (class_jaeger_url, and every trace link built from it) is a secret too.
    return clean(redact_userinfo(report), [str(s) for s in secrets if s and len(str(s)) >= 4])


def summarize(students, run, previous=None):
    total = len(students)
    checks = {}
    for check in (c for s in students for c in s.get("checks", [])):
        entry = checks.setdefault(
            check["name"],
            {"name": check["name"], "label": check["label"], "failed_label": check["failed_label"], "failed": 0,
             "not_checked": 0},
        )  # fmt: skip
        if check["ok"] is False:
            entry["failed"] += 1
        elif check["ok"] is None:
            entry["not_checked"] += 1
    reasons = Counter(s["reason"] for s in students if not s["passed"])
    lines = [f"{c['failed_label']}: {c['failed']} of {total}" for c in checks.values() if c["failed"]]
    vm_lines = {r: n for r, n in reasons.items() if r in (*VM_REASONS, "not_graded")}
    lines += [f"{describe(reason)['short']}: {count} of {total}" for reason, count in vm_lines.items()]
    grader = {r: n for r, n in reasons.items() if r in JAEGER_QUERY_FAILURES}
    lines += [f"Jaeger could not be asked ({reason}): {count} of {total}" for reason, count in grader.items()]
    if previous and not previous["kept"]:
        lines.append(f"The previous report (run {previous['run']}) is not merged: {previous['why']}")
    passed = sum(1 for s in students if s["passed"])
    return {
        "students": total,
        "passed": passed,
        "failed": total - passed,
        "graded_now": sum(1 for s in students if s.get("run") == run),
        "carried_over": sum(1 for s in students if s.get("run") not in (run, None)),
        "checks": list(checks.values()),
        # This run's provisioning only: a student carried over keeps the status of the run that graded them.
        "provision": dict(Counter(s["provision"]["status"] for s in students if s.get("run") == run)),
        "reasons": dict(reasons),
        "lines": lines,
    }


def junit(report):
    """report -> the JUnit structure templates/class_report.junit.xml.j2 renders.

    A test suite per student; a test case per check, plus `provision` when this run provisioned the VM.
    Unreachable or failed provisioning and an undecidable check (Jaeger not asked) are errors, a failed
    check a failure, a check not reached after an earlier failure is skipped.
    """
    suites = []
    for student in report.get("students", []):
        classname = f"lab10.{student['vm_name']}"
        cases = []
        provision = student.get("provision") or {}
        if provision.get("status") in ("ok", "failed", "unreachable"):
            case = {"classname": classname, "name": "provision", "outcome": "passed"}
            if provision["status"] != "ok":
                reason = provision_reason(provision)
                words = describe(reason, {"step": provision.get("step")})["words"]
                case.update(outcome="error", type=reason, message=words, text=provision.get("msg", ""))
            cases.append(case)
        for check in student.get("checks", []):
            case = {"classname": classname, "name": f"{check['name']}: {check['label']}", "outcome": "passed"}
            text = "\n".join(t for t in (check.get("msg"), check.get("fix"), check.get("trace_url")) if t)
            if check["ok"] is False:
                case.update(outcome="failure", type=check["reason"], message=check["reason_text"], text=text)
            elif check["ok"] is None and check["reason"] in JAEGER_QUERY_FAILURES:
                case.update(outcome="error", type=check["reason"], message=check["reason_text"], text=text)
            elif check["ok"] is None:
                case.update(outcome="skipped", message=check["reason_text"])
            cases.append(case)
        if not cases:
            cases.append({"classname": classname, "name": "graded", "outcome": "skipped", "message": "not graded yet"})
        counts = Counter(c["outcome"] for c in cases)
        name = f"{student['vm_name']} ({student['student']})" if student.get("student") else student["vm_name"]
        suites.append(
            {
                "name": name,
                "run": student.get("run") or "",
                "tests": len(cases),
                "failures": counts["failure"],
                "errors": counts["error"],
                "skipped": counts["skipped"],
                "cases": cases,
            }
        )
    totals = {k: sum(s[k] for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    return {"name": "lab10 class report", "timestamp": report.get("generated", ""), **totals, "suites": suites}
