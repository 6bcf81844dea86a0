# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every failure classification of jaeger_trace, in one place: which `reason` a transport error,
an HTTP status or an evaluated search gets, the message that explains it, and the per-check
breakdown (`checks`) a grader reads as partial credit.

The reasons are a stable vocabulary (REASONS); the module's documentation lists the same names and a
unit test keeps the two in step.
"""

from __future__ import annotations

import difflib
import http.client
import re
import socket
import ssl
import urllib.error
from urllib.parse import urljoin, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import SSLValidationError

from .match import STAGES, shown
from .model import JaegerError, format_ms, snippet

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


# --- transport and HTTP ----------------------------------------------------------------------------


def http_error(base_url, code, path, body_detail, credentials=""):
    """An HTTP error status from Jaeger (or a proxy) -> JaegerError.

    credentials: what the request carried to log in ("bearer_token", "headers", ...), "" for nothing.
    """
    if code in (401, 403):
        return login_answer(base_url, path, f"HTTP {code}", credentials, http_status=code)
    # 502/503/504 come from a proxy or a Jaeger still starting: worth polling on.
    return JaegerError(
        "http_error",
        f"Jaeger at {base_url} answered HTTP {code} to {path}: {body_detail}",
        retry=code in (502, 503, 504),
        http_status=code,
    )


def login_answer(base_url, path, answer, credentials, **context):
    """An answer asking for a login -> login_required, or auth_failed when credentials were sent (and refused)."""
    if credentials:
        msg = f"Jaeger at {base_url} rejected {credentials}: {path} answered {answer}"
        return JaegerError("auth_failed", msg, **context)
    return JaegerError(
        "login_required",
        f"Jaeger's query API at {base_url} wants a login: {path} answered {answer}; "
        "set bearer_token (or headers) to a token it accepts, or use a url without the login",
        login=answer,
        **context,
    )


def redirect_error(base_url, code, url, location, path, credentials=""):
    """A 3xx (never followed: a login redirect leads into the identity provider's pages) -> JaegerError.

    The same path and query at another base (http -> https, another host or prefix) means the query API moved:
    http_error naming the new url. Anywhere else is a login page: login_required (auth_failed with credentials).
    The target is shown without its query, which carries the login's state and this request's own URL.
    """
    if not location:
        return http_error(base_url, code, path, "a redirect without a Location", credentials)
    asked, target = urlsplit(url), urlsplit(urljoin(url, location))
    # Without the query and without userinfo (a relative Location inherits the asked URL's).
    origin = f"{target.scheme}://{target.netloc.rpartition('@')[2]}"
    shown = origin + target.path
    if target.path.endswith(asked.path) and target.query == asked.query:
        moved = origin + target.path[: len(target.path) - len(asked.path)]
        return JaegerError(
            "http_error",
            f"Jaeger at {base_url} redirects {path} to {shown} (HTTP {code}); set url to {moved}",
            http_status=code,
            location=shown,
        )
    answer = f"HTTP {code}, a redirect to {shown}"
    return login_answer(base_url, path, answer, credentials, http_status=code, location=shown)


# A proxy's own sign-in page: a password field, or a form that says sign/log in. Jaeger's UI page has no form.
LOGIN_FORM = re.compile(r"<input\b[^>]*\btype\s*=\s*[\"']?password|<form\b.*?\b(?:sign|log)[\s-]?in\b", re.I | re.S)


def is_login_page(content_type, body):
    """An HTML answer that is a login form (e.g. a redirect's target served in place of the API)."""
    if "html" not in (content_type or "").lower():
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    return bool(LOGIN_FORM.search(text[:65536]))


# What a transport exception can be; anything else is a bug and must surface as one.
TRANSPORT_ERRORS = (
    urllib.error.URLError,
    OSError,
    http.client.HTTPException,
    ssl.SSLError,
    ValueError,
    UrlsConnectionError,
)


def transport_error(exc, base_url, timeout):
    """A failed connection (one of TRANSPORT_ERRORS) -> JaegerError naming the hop."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(reason):
        detail = getattr(reason, "verify_message", None) or snippet(str(reason), 120)
        return JaegerError(
            "tls_failed",
            f"TLS verification failed for {base_url} ({detail}); set ca_path to the CA or validate_certs: false",
            error=str(detail),
        )
    if isinstance(reason, (ssl.SSLError, SSLValidationError)):
        return JaegerError(
            "tls_failed",
            f"TLS handshake with {base_url} failed ({snippet(str(reason), 120)}); is the url's scheme right?",
            error=str(reason),
        )
    if isinstance(reason, socket.gaierror):
        return _unreachable(base_url, f"cannot resolve host {urlsplit(base_url).hostname!r} (DNS)", "dns")
    if isinstance(reason, ConnectionRefusedError):
        return _unreachable(base_url, "connection refused", "refused")
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return _unreachable(base_url, f"no answer within {timeout:g}s", "timeout")
    if isinstance(reason, (ConnectionError, http.client.HTTPException)):
        return _unreachable(base_url, f"connection dropped ({type(reason).__name__})", "dropped")
    if isinstance(exc, ValueError):
        return JaegerError("bad_parameter", f"url: {base_url!r} cannot be requested ({snippet(str(exc), 120)})")
    return _unreachable(base_url, snippet(str(reason), 120) or type(reason).__name__, "other")


def _unreachable(where, detail, kind):
    return JaegerError("unreachable", f"Jaeger at {where} is unreachable: {detail}; check url", True, error=kind)


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
