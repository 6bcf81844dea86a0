# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The class report's data (report.json, schema 1) from one bulk jaeger_trace result, and its JUnit view.

Pure functions; the role `class` calls them as filters and renders templates/class_report.* from the result.
REASONS is the one table of every reason's words and fix, for the report, its summary and its JUnit.
Documentation: class_report.yml and class_report_junit.yml beside this file (ansible-doc -t filter).
"""

from __future__ import annotations

import re
from collections import Counter

SCHEMA = 1
# The module's check names, in its order -> (what passing means, what failing means, the reason of a failed
# check that the module's own reason does not belong to).
CHECKS = {
    "service": ("service known to Jaeger", "service unknown to Jaeger", "service_unknown"),
    "parent_trace": ("a trace of {parent}", "no trace of {parent}", "no_traces"),
    "operation": ("{operation} under {parent}", "{operation} missing under {parent}", "operation_unknown"),
    "duration": ("{operation} lasts at least {min_ms:g} ms", "{operation} shorter than {min_ms:g} ms", "too_short"),
    "attributes": ("{operation} carries the attributes", "{operation} lacks the attributes", "attributes_mismatch"),
    "min_traces": ("enough matching traces", "too few matching traces", "too_few_traces"),
}
LAB_CHECKS = ("service", "parent_trace", "operation", "duration")
# reason -> (short name, what happened, the fix). Filled in: {service} {vm_name} {since} {measured_ms}
# {operation} {parent} {min_ms} {step}.
REASONS = {
    "ok": ("passed", "passed", ""),
    "service_unknown": (
        "service unknown",
        "Jaeger has never seen the service {service}",
        "Set OTEL_SERVICE_NAME={service} on the inventory service, export over OTLP/HTTP (http/protobuf) to the "
        "course Jaeger (OTEL_EXPORTER_OTLP_ENDPOINT), recreate the container and send GET /api/v1/inventory.",
    ),
    "no_traces": (
        "no trace",
        "no trace of {parent} since {since}",
        "Send GET /api/v1/inventory with the token and read the app's logs for OTLP export errors.",
    ),
    "operation_unknown": (
        "span missing",
        "no span {operation} in the service's traces",
        "Wrap the cache validation in tracer.start_as_current_span('{operation}') inside the route.",
    ),
    "parent_mismatch": (
        "wrong parent",
        "{operation} is not a child of {parent}",
        "Start {operation} inside the request handler (Flask instrumentation on, not in a thread or at import).",
    ),
    "too_short": (
        "span too short",
        "{operation} lasted {measured_ms:.1f} ms, less than {min_ms:g} ms",
        "Make the validation inside the span take about 300 ms (time.sleep(0.3)).",
    ),
    "too_long": ("span too long", "{operation} lasted {measured_ms:.1f} ms, too long", "Keep it near 300 ms."),
    "attributes_mismatch": ("attributes missing", "{operation} lacks the required attributes", "Set them on the span."),
    "too_few_traces": ("too few traces", "fewer matching traces than required", "Send more requests."),
    "not_checked": ("not checked", "not checked: an earlier check failed", ""),
    "vm_unreachable": (
        "VM unreachable",
        "the VM did not answer ({step})",
        "Start the VM; check host, port and user in the roster and that it accepts your SSH key, "
        "then re-run with --limit @failed.txt.",
    ),
    "provision_failed": (
        "provisioning failed",
        "provisioning failed at: {step}",
        "Read the error, fix it on the VM (the role stopped at the failed step), then re-run with --limit @failed.txt.",
    ),
    "not_graded": ("not graded", "not graded yet", "Run grade.yml (or class.yml) without --limit."),
    # The grader's side: Jaeger could not be asked, so every check is undecided.
    "unreachable": (
        "Jaeger unreachable",
        "Jaeger's query API did not answer",
        "Check class_jaeger_url (or class_delegate).",
    ),
    "tls_failed": (
        "Jaeger TLS failed",
        "TLS to Jaeger failed",
        "Set class_jaeger_ca_path (or class_jaeger_validate_certs).",
    ),
    "auth_failed": ("Jaeger refused", "Jaeger refused the credentials", "Set class_jaeger_bearer_token."),
    "http_error": (
        "Jaeger HTTP error",
        "Jaeger answered with an HTTP error",
        "Check class_jaeger_url and Jaeger's logs.",
    ),
    "unexpected_response": (
        "Jaeger answer unclear",
        "Jaeger's answer was not understood",
        "Is class_jaeger_url Jaeger?",
    ),
    "bad_parameter": ("grading refused", "the grading call was refused", "Check the class_* variables."),
    "internal_error": ("grader error", "jaeger_trace failed internally", "Re-run with -vvv and report the error."),
}
GRADER_REASONS = frozenset(
    ("unreachable", "tls_failed", "auth_failed", "http_error", "unexpected_response", "bad_parameter", "internal_error")
)
VM_REASONS = frozenset(("vm_unreachable", "provision_failed"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# How Ansible 2.19 wraps a task's error (a failed filter inside set_fact, say): the wrappers say nothing to a
# reader of the report, the innermost message does.
_ANSIBLE_WRAPPERS = re.compile(
    r"^(Task failed: |Action failed: |Finalization of task args for '[^']*' failed: "
    r"|Error while resolving value for '[^']*': |The filter plugin '[^']*' failed: )+"
)
MSG_LIMIT = 2000


class _Known(dict):
    """format_map() values; a placeholder without a value shows as `?` instead of raising."""

    def __missing__(self, key):
        return "?"


def describe(reason, **context):
    """(short name, words, fix) of a reason, with the context filled in."""
    short, words, fix = REASONS.get(reason, (reason, reason.replace("_", " "), ""))
    known = _Known({k: v for k, v in context.items() if v is not None})
    return short, _format(words, known), _format(fix, known)


def _format(text, known):
    try:
        return text.format_map(known)
    except (ValueError, TypeError):  # a number format (`:g`) of a missing value
        return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", text).format_map(known)


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


def grade_checks(result, context):
    """One bulk result entry -> (checks with words and fix, the entry's reason)."""
    reason = result.get("reason") or "internal_error"
    context = dict(context, measured_ms=result.get("measured_ms"))
    raw_checks = result.get("checks") or [
        # No per-check list (parameters the module could not use): every check undecided.
        {"name": name, "ok": None, "msg": ""}
        for name in LAB_CHECKS
    ]
    # The module's reason is its last failed check's: after that one every check is undecided, and a failed
    # check before it (no trace of the parent) does not decide the rest. Earlier ones get their own reason.
    failed = [index for index, raw in enumerate(raw_checks) if raw.get("ok") is False]
    checks = []
    for index, raw in enumerate(raw_checks):
        name, ok = raw.get("name", "?"), raw.get("ok")
        label, failed_label, own_reason = CHECKS.get(name, (name, name + " failed", "internal_error"))
        if ok is True:
            check_reason = "ok"
        elif ok is False:
            check_reason = reason if index == failed[-1] and reason not in ("ok", "some_failed") else own_reason
        else:
            check_reason = reason if reason in GRADER_REASONS else "not_checked"
        words, fix = describe(check_reason, **context)[1:]
        measured = raw.get("measured_ms", context["measured_ms"] if name == "duration" else None)
        checks.append(
            {
                "name": name,
                "label": _format(label, _Known(context)),
                "failed_label": _format(failed_label, _Known(context)),
                "ok": ok,
                "reason": check_reason,
                "reason_text": words,
                "msg": raw.get("msg") or "",
                "fix": fix,
                "duration_ms": measured,
                "trace_url": result.get("trace_url"),
            }
        )
    return checks, reason


def ansible_error(msg):
    """A task's error message without Ansible's wrappers: `Task failed: The filter plugin 'x' failed: E` -> `E`."""
    return _ANSIBLE_WRAPPERS.sub("", str(msg or "")).strip()


def student_entry(row, result, provision, run, context):
    """A roster row graded in this run -> its report entry."""
    checks, reason = grade_checks(result, context)
    provision = {"status": "skipped", "step": "", "msg": "", **(provision or {})}
    provision["msg"] = ansible_error(provision["msg"])
    if provision["status"] in ("failed", "unreachable"):
        reason = "vm_unreachable" if provision["status"] == "unreachable" else "provision_failed"
    passed = provision["status"] in ("ok", "skipped") and bool(checks) and all(c["ok"] is True for c in checks)
    words, fix = describe(reason, **context, step=provision["step"], measured_ms=result.get("measured_ms"))[1:]
    if passed:
        status = "passed"
    elif reason in GRADER_REASONS or reason in VM_REASONS:
        status = "error"
    else:
        status = "failed"
    trace = None
    if result.get("trace_id"):
        trace = {"id": result["trace_id"], "url": result.get("trace_url"), **waterfall(result.get("spans"))}
    entry = dict(row, run=run, passed=passed, status=status, reason=reason, reason_text=words, fix=fix)
    entry.update(msg=result.get("msg", ""), provision=provision, checks=checks, trace=trace)
    return entry


ROSTER_FIELDS = ("host", "vm_name", "student", "email", "section", "service")


def build_report(grading, roster, graded, run, generated, jaeger_url, since, criteria, previous=None, secrets=()):
    """The report (schema 1) of this run, merged with `previous` for the roster's students not graded now.

    grading: the registered bulk jaeger_trace result. roster: one dict per roster host (host, vm_name,
    service, student, email, section; provision and diagnosis when known). graded: the inventory hostnames
    graded in this run. criteria: {operation, parent, min_ms}, for the checks' words.
    """
    criteria = dict(criteria, min_ms=float(criteria.get("min_ms") or 0))
    by_service = {r.get("service"): r for r in (grading or {}).get("results") or []}
    graded = set(graded or [])
    earlier = {}
    if isinstance(previous, dict) and previous.get("schema") == SCHEMA:
        earlier = {s.get("vm_name"): s for s in previous.get("students", [])}
    students = []
    for host in roster:
        row = {k: host.get(k) or "" for k in ROSTER_FIELDS}
        if host["host"] in graded:
            context = dict(criteria, service=row["service"], vm_name=row["vm_name"], since=since)
            fallback = {"ok": False, "reason": (grading or {}).get("reason") or "internal_error"}
            entry = student_entry(row, by_service.get(row["service"], fallback), host.get("provision"), run, context)
            if host.get("diagnosis"):
                entry["diagnosis"] = host["diagnosis"]
        elif row["vm_name"] in earlier:
            # Kept from the run that produced it (its `run`); the roster's current names win.
            entry = {**earlier[row["vm_name"]], **row}
        else:
            words, fix = describe("not_graded")[1:]
            entry = dict(row, run=None, passed=False, status="not_graded", reason="not_graded", reason_text=words)
            entry.update(fix=fix, msg="", provision={"status": "skipped", "step": "", "msg": ""}, checks=[], trace=None)
        students.append(entry)
    report = {
        "schema": SCHEMA,
        "generated": generated,
        "run": run,
        "jaeger_url": jaeger_url,
        "since": since,
        # False when Jaeger itself could not be asked: the run then fails after writing the report.
        "jaeger_answered": (grading or {}).get("reason") not in GRADER_REASONS,
        "criteria": {
            "operation": criteria.get("operation"),
            "parent_operation": criteria.get("parent"),
            "min_duration_ms": criteria.get("min_ms"),
        },
        "summary": summarize(students, run),
        "students": students,
    }
    return clean(report, [str(s) for s in secrets if s and len(str(s)) >= 4])


def summarize(students, run):
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
    lines += [f"{describe(r)[0]}: {n} of {total}" for r, n in reasons.items() if r in VM_REASONS | {"not_graded"}]
    lines += [f"Jaeger could not be asked ({r}): {n} of {total}" for r, n in reasons.items() if r in GRADER_REASONS]
    passed = sum(1 for s in students if s["passed"])
    return {
        "students": total,
        "passed": passed,
        "failed": total - passed,
        "graded_now": sum(1 for s in students if s.get("run") == run),
        "carried_over": sum(1 for s in students if s.get("run") not in (run, None)),
        "checks": list(checks.values()),
        "provision": dict(Counter(s["provision"]["status"] for s in students)),
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
                reason = "vm_unreachable" if provision["status"] == "unreachable" else "provision_failed"
                words = describe(reason, step=provision.get("step"))[1]
                case.update(outcome="error", type=reason, message=words, text=provision.get("msg", ""))
            cases.append(case)
        for check in student.get("checks", []):
            case = {"classname": classname, "name": f"{check['name']}: {check['label']}", "outcome": "passed"}
            text = "\n".join(t for t in (check.get("msg"), check.get("fix"), check.get("trace_url")) if t)
            if check["ok"] is False:
                case.update(outcome="failure", type=check["reason"], message=check["reason_text"], text=text)
            elif check["ok"] is None and check["reason"] in GRADER_REASONS:
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


def roster(hosts, hostvars):
    """Inventory hosts -> one dict per host with what the report needs (the roster plugin's columns).

    The service name defaults as the role inventory_api's does: inventory.<vm_name>.<domain>, where vm_name
    defaults to the host's short name.
    """
    rows = []
    for host in hosts:
        known = hostvars[host]
        vm_name = known.get("inventory_api_vm_name") or host.split(".")[0]
        domain = known.get("inventory_api_domain") or "sysadm.ee"
        rows.append(
            {
                "host": host,
                "vm_name": vm_name,
                "service": known.get("inventory_api_otel_service_name") or f"inventory.{vm_name}.{domain}",
                "student": known.get("roster_student") or "",
                "email": known.get("roster_email") or "",
                "section": known.get("roster_section") or "",
                "provision": known.get("class_provision"),
                "diagnosis": known.get("inventory_api_diagnosis"),
            }
        )
    return rows


class FilterModule:
    def filters(self):
        return {"class_report": build_report, "class_report_junit": junit, "class_roster": roster}
