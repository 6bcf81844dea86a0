# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The words of jaeger_trace: which `reason` an evaluated search gets, the message that explains it, and
the per-check breakdown (`checks`) a grader reads as partial credit. A failed request gets its reason in
http_errors, below the HTTP layer; this module sits above the match it explains.

The reasons are a stable vocabulary (REASONS); the module's documentation lists the same names and a
unit test keeps the two in step.
"""

from __future__ import annotations

import difflib

from .match import STAGES, shown
from .model import format_ms

# reason -> what it means. Order: success, transport and input problems, then what Jaeger holds.
REASONS = {
    "ok": "every check passed",
    "some_failed": "bulk mode: at least one service failed (see results)",
    "bad_parameter": "a module parameter is unusable; nothing was asked",
    "unreachable": "no connection to Jaeger's query service (DNS, refused, timeout, dropped)",
    "tls_failed": "the TLS handshake or certificate check with Jaeger failed",
    "login_required": "the query API answered with a login (a redirect to a login page, a login form, 401 or 403) "
    "and no credentials were sent",
    "auth_failed": "credentials were sent (bearer_token, headers or the url's) and refused: 401/403, or a login again",
    "http_error": "Jaeger answered with another HTTP error",
    "unexpected_response": "the answer is not Jaeger's query API",
    "internal_error": "a bug in the module; the traceback is shown with -vvv",
    "service_unknown": "Jaeger has never seen the service",
    "operation_unknown": "the service has no span with that operation name",
    "no_traces": "the operation exists, but no trace of it started in the window",
    "parent_mismatch": "the span is not a child of parent_operation",
    "too_short": "the span lasted less than min_duration",
    "too_long": "the span lasted longer than max_duration",
    "attributes_mismatch": "the span lacks an attribute, or has another value",
    "too_few_traces": "fewer matching traces than min_traces",
}

# The checks a single service is graded on, in order; each applies only when its criterion is given.
CHECK_NAMES = ("service", "parent_trace", "operation", "duration", "attributes", "min_traces")

# What a span misses (jaeger.match.misses, in stage order) -> the reason; the first miss is reported.
MISS_REASON = {"parent": "parent_mismatch", "min": "too_short", "max": "too_long", "attributes": "attributes_mismatch"}
# The check each reason fails.
REASON_CHECK = {
    "service_unknown": "service",
    "operation_unknown": "operation",
    "no_traces": "operation",
    "parent_mismatch": "operation",
    "too_short": "duration",
    "too_long": "duration",
    "attributes_mismatch": "attributes",
    "too_few_traces": "min_traces",
}
# How many failed services a bulk failure message names before "and N more".
NAMED_FAILURES = 5


# --- what Jaeger holds -----------------------------------------------------------------------------


def nearest(name, names, n=5):
    """The names most like `name` (difflib); the first few names when nothing is alike."""
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    return close or sorted(names)[:n]


def unknown_service(service, known):
    near = nearest(service, known)
    seen = ", ".join(near) if near else "none: Jaeger has no services yet"
    msg = f"service {service!r} is not in Jaeger (nearest of {len(known)} seen: {seen})"
    return "service_unknown", msg, {"services_seen": near, "services_count": len(known)}


def unknown_operation(c, ops):
    # Nearest first, then the rest: a typo's fix leads, and a short list is shown whole.
    near = difflib.get_close_matches(c.operation, ops, n=5, cutoff=0.6)
    listed = near + [op for op in sorted(ops) if op not in near]
    shown_ops = ", ".join(repr(op) for op in listed[:8]) + (f" and {len(listed) - 8} more" if len(listed) > 8 else "")
    msg = f"service {c.service!r} has no operation {c.operation!r} (it has: {shown_ops or 'none'})"
    return "operation_unknown", msg, {"operations_seen": sorted(ops)}


def missing_in_trace(c, trace):
    """fail_fast: a settled trace without any span named c.operation."""
    names = sorted({s.operation for s in trace.spans})
    anchor = f"{c.parent_operation!r} " if c.parent_operation else ""
    msg = (
        f"the {anchor}trace {trace.trace_id} of {c.service!r} has no span {c.operation!r} "
        f"(its spans: {', '.join(repr(n) for n in names[:8]) or 'none'})"
    )
    return "operation_unknown", msg, {"operations_seen": names}


def explain(ev, c, window_text):
    """Why the evaluated traces do not satisfy c, although service and operation exist -> (reason, msg, ctx)."""
    found = len(ev.matched)
    if found:
        return (
            "too_few_traces",
            f"found {found} matching trace(s) of {c.service!r} {window_text}, min_traces is {c.min_traces}",
            {},
        )
    if ev.closest is None:
        what = f"with operation {c.operation!r} " if c.operation else ""
        return "no_traces", f"no trace of {c.service!r} {what}{window_text}", {}
    trace, span, missed = ev.closest
    reason = MISS_REASON[missed[0]]
    label = f"span {span.operation!r} of {c.service!r}"
    ctx = {"measured_ms": round(span.duration_ms, 3)}
    seen = len(ev.durations)
    if reason == "too_short":
        longest = max(ev.durations, default=span.duration_ms)
        extra = f" (longest of {seen} seen: {format_ms(longest)})" if seen > 1 else ""
        msg = f"{label} lasted {format_ms(span.duration_ms)}, below min_duration {format_ms(c.min_ms)}{extra}"
    elif reason == "too_long":
        shortest = min(ev.durations, default=span.duration_ms)
        extra = f" (shortest of {seen} seen: {format_ms(shortest)})" if seen > 1 else ""
        msg = f"{label} lasted {format_ms(span.duration_ms)}, above max_duration {format_ms(c.max_ms)}{extra}"
    elif reason == "parent_mismatch":
        parent = trace.by_id().get(span.parent_id)
        ctx["parent_seen"] = parent.operation if parent else None
        if parent is not None:
            where = f"sits under {parent.operation!r}"
        elif span.parent_id:
            where = f"has parent span {span.parent_id} that is not in the trace"
        else:
            where = "is a root span"
        msg = f"{label} {where}, not under parent_operation {c.parent_operation!r}"
    else:
        key = next(k for k in c.attributes if not c.attribute_ok(span, k))
        ctx["attributes_seen"] = {k: span.attributes.get(k) for k in c.attributes}
        seen_text = f"{key}={shown(span.attributes[key])}" if key in span.attributes else f"no attribute {key!r}"
        msg = f"{label} has {seen_text}, attributes wants {key}={shown(c.attributes[key])}"
    return reason, msg, ctx


# --- partial credit -----------------------------------------------------------------------------------


def applicable_checks(c):
    """The check names that apply to criteria c, in order."""
    given = {
        "service": True,
        "parent_trace": c.parent_operation is not None,
        "operation": c.operation is not None,
        "duration": c.min_ms is not None or c.max_ms is not None,
        "attributes": bool(c.attributes),
        "min_traces": c.min_traces > 1,
    }
    return [name for name in CHECK_NAMES if given[name]]


def checks(c, reason, msg, ev=None, window_text=""):
    """The per-check breakdown of one service's result: [{name, ok, msg}], ok None = not decided.

    `ev` evaluates every trace fetched for the service; None when Jaeger said nothing about it (an
    undecided reason, or an unknown service). `duration` also carries the span's measured_ms.
    """
    names = applicable_checks(c)
    if ev is None:
        known = False if reason == "service_unknown" else None
        first = _check("service", known, msg if known is False else f"not checked: {reason}")
        return [first] + [_check(name, None, "not checked") for name in names[1:]]
    passed = {"service": True, "parent_trace": ev.parent_seen, "min_traces": len(ev.matched) >= c.min_traces}
    # A span passes a prefix of the stages (operation, duration, attributes): the furthest one decides.
    passed.update((stage, ev.furthest > index) for index, stage in enumerate(STAGES))
    out, blocked = [], False
    for name in names:
        if blocked:
            out.append(_check(name, None, "not checked: an earlier check failed"))
            continue
        ok = passed[name]
        entry = _check(name, ok, _check_msg(name, ok, c, ev, reason, msg, window_text))
        if name == "duration":
            span = ev.matched[0][1] if ev.matched else (ev.closest[1] if ev.closest else None)
            entry["measured_ms"] = round(span.duration_ms, 3) if span is not None else None
        out.append(entry)
        # A missing parent trace does not decide the rest: the span may sit elsewhere, which `operation` says.
        blocked = not ok and name != "parent_trace"
    return out


def _check(name, ok, msg):
    return {"name": name, "ok": ok, "msg": msg}


def _check_msg(name, ok, c, ev, reason, msg, window_text):
    if not ok and REASON_CHECK.get(reason) == name:
        return msg
    verdict = "found" if ok else "not found"
    if name == "service":
        return f"service {c.service!r} is in Jaeger"
    if name == "parent_trace":
        return f"trace of {c.parent_operation!r} {window_text}: {verdict}"
    if name == "operation":
        under = f" under {c.parent_operation!r}" if c.parent_operation else ""
        return f"span {c.operation!r}{under}: {verdict}"
    if name == "duration":
        bounds = [
            f">= {format_ms(c.min_ms)}" if c.min_ms is not None else "",
            f"<= {format_ms(c.max_ms)}" if c.max_ms is not None else "",
        ]
        return f"span lasting {' and '.join(b for b in bounds if b)}: {verdict}"
    if name == "attributes":
        return f"span with the attributes: {verdict}"
    return f"{len(ev.matched)} matching trace(s), min_traces is {c.min_traces}"


def bulk_message(results):
    failed = [r for r in results if not r["ok"]]
    named = ", ".join(f"{r['service']} ({r['reason']})" for r in failed[:NAMED_FAILURES])
    more = f" and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
    return f"{len(failed)} of {len(results)} services failed: {named}{more}"
