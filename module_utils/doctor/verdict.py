# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's decision: evidence (and, when asked, a jaeger_trace result) in, one verdict out.

The hops are judged in the order a span travels them; the first one the evidence proves broken
is the verdict, so nothing waits for Jaeger once the VM's own evidence settles it. Pure: no I/O.
Kept compatible with Python 3.8.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..lab.redact import redact_userinfo
from ..lab.vocabulary import verdict
from .classify import classify_probe, is_network_failure

# jaeger_trace reasons -> doctor reasons (the check found the trace, but not as the lab wants it).
JAEGER_TRACE_REASONS = {
    "operation_unknown": "span_missing",
    "parent_mismatch": "span_wrong_parent",
    "too_short": "span_too_short",
    "too_long": "span_too_long",
    "attributes_mismatch": "trace_mismatch",
    "too_few_traces": "trace_mismatch",
    "no_traces": "trace_missing",
}
# jaeger_trace reasons that mean "Jaeger's query API could not be asked".
JAEGER_QUERY_FAILURES = (
    "unreachable",
    "tls_failed",
    "login_required",
    "auth_failed",
    "http_error",
    "unexpected_response",
    "bad_parameter",
    "internal_error",
)

# What the playbook should ask Jaeger next (RV jaeger_search of otel_doctor).
SEARCH_NONE, SEARCH_ONCE, SEARCH_WAIT = "none", "once", "wait"


def describe_container(container):
    health = " ({})".format(container["health"]) if container.get("health") else ""
    return "container {name}: {status}{health}, started {started}, {restarts} restarts, image {image}".format(
        name=container.get("name"),
        status=container.get("status"),
        health=health,
        started=container.get("started_at"),
        restarts=container.get("restarts"),
        image=container.get("image"),
    )


def describe_probe(probe):
    if not probe.get("ran"):
        return "probe from inside the container: not run ({})".format(probe.get("error") or "skipped")
    where = "{} {}".format(probe.get("python"), probe.get("version") or "").strip()
    steps = []
    if probe.get("addresses"):
        steps.append("DNS " + ", ".join(probe["addresses"]))
    if probe.get("ca_source"):
        steps.append("CA {} ({})".format(probe.get("ca") or "-", probe["ca_source"]))
    if probe.get("outcome") == "http":
        status = "HTTP {} {}".format(probe.get("status"), probe.get("reason") or "").strip()
        if probe.get("content_type"):
            status += ", " + probe["content_type"]
        if probe.get("location"):
            status += ", Location " + probe["location"]
        steps.append(status)
    else:
        steps.append("{} at {}: {}".format(probe.get("outcome"), probe.get("phase"), probe.get("detail")))
    return "probe from inside the container ({}): empty OTLP export to {}: {} ({} ms)".format(
        where, probe.get("url"), "; ".join(steps), probe.get("ms")
    )


def describe_jaeger(jaeger):
    lines = ["Jaeger: {}: {}".format(jaeger.get("reason"), jaeger.get("msg") or "")]
    for check in jaeger.get("checks") or []:
        mark = {True: "ok", False: "FAILED", None: "not decided"}.get(check.get("ok"), "?")
        lines.append("Jaeger check {}: {} {}".format(check.get("name"), mark, check.get("msg") or "").rstrip())
    if jaeger.get("services_seen"):
        lines.append("Jaeger's nearest services: " + ", ".join(jaeger["services_seen"]))
    if jaeger.get("operations_seen"):
        lines.append("Jaeger's operations of the service: " + ", ".join(jaeger["operations_seen"]))
    if jaeger.get("trace_url"):
        lines.append("trace " + jaeger["trace_url"])
    elif jaeger.get("search_url"):
        lines.append("the service's traces in the Jaeger UI: " + jaeger["search_url"])
    lines.extend((jaeger.get("waterfall") or "").splitlines())
    return lines


def evidence_lines(evidence, jaeger=None):
    """The evidence, one line per fact, in hop order."""
    lines = []
    compose, container = evidence.get("compose") or {}, evidence.get("container")
    docker = evidence.get("docker") or {}
    if not docker.get("ok", True):
        lines.append("docker: " + str(docker.get("error")))
    if compose.get("error"):
        lines.append("compose file {}: {}".format(compose.get("file"), compose["error"]))
    if container:
        lines.append(describe_container(container))
    for diff in evidence.get("env_diff") or []:
        lines.append(
            "{key}: compose file {compose}, running container {container}".format(
                key=diff["key"], compose=diff["compose"], container=diff["container"]
            )
        )
    if container and compose.get("exists") and not compose.get("error") and not evidence.get("env_diff"):
        lines.append("compose file and running container agree on the environment")
    if evidence.get("service_name") is not None or container:
        lines.append("service name: {} (expected {})".format(evidence.get("service_name"), evidence.get("expected")))
    endpoint = evidence.get("endpoint") or {}
    if endpoint.get("url"):
        lines.append("traces endpoint: {} (from {})".format(endpoint["url"], endpoint.get("source")))
    logs = evidence.get("logs") or {}
    if logs.get("app_endpoint"):
        lines.append(
            "the app logged at start: service {} exports to {}".format(logs["app_service"], logs["app_endpoint"])
        )
    if evidence.get("probe"):
        lines.append(describe_probe(evidence["probe"]))
    lines.extend("log: " + line for line in logs.get("kept") or [])
    trigger = evidence.get("trigger") or {}
    if trigger.get("url"):
        lines.append("request GET {}: HTTP {}".format(trigger["url"], trigger.get("status")))
    since = evidence.get("since") or {}
    if since.get("epoch") is not None:
        moment = datetime.fromtimestamp(since["epoch"], timezone.utc)  # noqa: UP017 -- Python 3.8 on the VM
        shown = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
        lines.append("traces and log lines count from {}Z: {}".format(shown, since.get("source")))
    if jaeger:
        lines.extend(describe_jaeger(jaeger))
    return lines


def _facts(evidence, jaeger, criteria):
    compose, container = evidence.get("compose") or {}, evidence.get("container") or {}
    endpoint, probe = evidence.get("endpoint") or {}, evidence.get("probe") or {}
    trigger = evidence.get("trigger") or {}
    facts = dict(criteria)
    facts.update(
        compose_file=compose.get("file"),
        project=compose.get("project"),
        service=compose.get("service"),
        container=container.get("name"),
        state=container.get("status"),
        exit_code=container.get("exit_code"),
        restarts=container.get("restarts"),
        endpoint=endpoint.get("url"),
        host=endpoint.get("host"),
        port=endpoint.get("port"),
        timeout=probe.get("timeout"),
        ca=probe.get("ca") or probe.get("ca_source"),
        status=probe.get("status"),
        location=probe.get("location"),
        content_type=probe.get("content_type"),
        detail=probe.get("detail"),
        expected=evidence.get("expected"),
        actual=evidence.get("service_name") or "(OTEL_SERVICE_NAME not set)",
        keys=", ".join(d["key"] for d in evidence.get("env_diff") or []),
        trigger_url=trigger.get("url"),
        trigger_status=trigger.get("status"),
    )
    if jaeger:
        facts["query_detail"] = "{}: {}".format(jaeger.get("reason"), jaeger.get("msg"))
        facts.update(login=jaeger.get("login") or jaeger.get("msg"), search_url=jaeger.get("search_url"))
    return facts


def _vm_reason(evidence, facts):
    """(reason, detail, from_log) proven by the VM's own evidence, or (None, None, False).

    from_log: only the container's log witnesses it (an error line since the request), which a
    transient failure or an endpoint the probe does not know can also explain."""
    docker, compose = evidence.get("docker") or {}, evidence.get("compose") or {}
    container, logs = evidence.get("container"), evidence.get("logs") or {}
    if not docker.get("ok", True):
        return "docker_unavailable", docker.get("error"), False
    if not container:
        # A compose file that does not parse is why nothing runs, and must be fixed before `up` can.
        if compose.get("exists") and compose.get("error"):
            return "compose_invalid", compose["error"], False
        return ("container_missing" if compose.get("exists") else "compose_missing"), None, False
    if not container.get("running") or container.get("restarting"):
        return "container_down", None, False
    if compose.get("exists") and compose.get("error"):
        return "compose_invalid", compose["error"], False
    if evidence.get("env_diff"):
        return "not_restarted", None, False
    if evidence.get("tracing_off"):
        return "tracing_off", evidence["tracing_off"], False
    if logs.get("tracing_off"):
        return "tracing_off", logs["tracing_off"], False
    expected = evidence.get("expected")
    actual = logs.get("app_service") or evidence.get("service_name")
    if expected and actual != expected:
        facts["actual"] = actual or facts["actual"]
        return "service_name_mismatch", None, False
    probe_reason = classify_probe(evidence.get("probe"))
    if probe_reason:
        return probe_reason, (evidence.get("probe") or {}).get("detail"), False
    # The probe could not run, or the endpoint takes exports but the app's exporter still fails
    # since the request (an endpoint in the app's code, say): the log is the witness.
    recent = logs.get("errors_since") if probe_reason is None else (logs.get("errors") or [])[-1:]
    if recent:
        return recent[-1]["reason"], recent[-1]["line"], True
    return None, None, False


def _jaeger_reason(jaeger, evidence, facts):
    """The verdict Jaeger's answer gives a VM whose own evidence proves nothing broken."""
    reason = jaeger.get("reason")
    trigger = evidence.get("trigger") or {}
    failed_request = bool(trigger.get("url")) and trigger.get("status") != 200
    if reason == "ok":
        return "ok", None
    # A failed request made no trace to look for: the VM's own proof, whether Jaeger could be asked or not.
    if failed_request:
        return "trigger_failed", None
    if reason == "login_required" and export_accepted(evidence):
        # All the doctor can prove without the login: the endpoint took the export. Not the student's failure.
        return "exported_login_required", None
    if reason in JAEGER_QUERY_FAILURES:
        return "not_verified", None
    if reason == "service_unknown":
        seen = jaeger.get("services_seen") or []
        if seen:
            facts["actual"] = "one of " + ", ".join(seen)
            return "service_name_mismatch", None
        return "trace_missing", jaeger.get("msg")
    return JAEGER_TRACE_REASONS.get(reason, "trace_mismatch"), jaeger.get("msg")


def export_accepted(evidence):
    """The probe from inside the container saw the OTLP endpoint take an export, as a receiver does."""
    probe = evidence.get("probe")
    return bool(probe and probe.get("ran")) and classify_probe(probe) is None


def trace_arrived(jaeger):
    """Jaeger holds the request's trace: every check passed, or at least its parent span is there."""
    if not jaeger:
        return False
    if jaeger.get("reason") == "ok":
        return True
    return any(c.get("name") == "parent_trace" and c.get("ok") is True for c in jaeger.get("checks") or [])


def diagnose(evidence, jaeger=None, criteria=None):
    """(diagnosis, jaeger_search): the verdict now, and what to ask Jaeger before it is final.

    jaeger_search is "none" when the verdict is final, "once" when the trace being in Jaeger after
    all, or Jaeger being down, could change it (a network failure, or an error only the log shows),
    "wait" when the VM's side is healthy and only the trace can tell.
    """
    criteria = criteria or {}
    facts = _facts(evidence, jaeger, criteria)
    lines = evidence_lines(evidence, jaeger)
    reason, detail, from_log = _vm_reason(evidence, facts)
    search = SEARCH_NONE
    if reason and (from_log or is_network_failure(reason)):
        search = SEARCH_ONCE
        if trace_arrived(jaeger):
            # The trace landed all the same (a transient error, a retry, an endpoint set in the
            # code): the hop is not broken for this request. The error stays in the evidence.
            lines.append("{} after the request, yet its trace reached Jaeger: {}".format(reason, detail or "-"))
            reason, detail = _jaeger_reason(jaeger, evidence, facts)
        elif jaeger and jaeger.get("reason") == "unreachable" and is_network_failure(reason):
            reason = "jaeger_unreachable"
    elif reason is None:
        search = SEARCH_WAIT
        if jaeger:
            reason, detail = _jaeger_reason(jaeger, evidence, facts)
        else:
            reason, facts["query_detail"] = "not_verified", "no query URL was given"
    if detail:
        facts["detail"] = detail
    # Evidence passed back in, or Jaeger's answer, may still name a URL with credentials.
    return redact_userinfo(verdict(reason, facts, lines)), (SEARCH_NONE if jaeger else search)
