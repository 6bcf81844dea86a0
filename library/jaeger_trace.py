#!/usr/bin/python
# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Long for its documentation (DOCUMENTATION, EXAMPLES, RETURN: about two thirds); the logic is in
# module_utils/jaeger/*.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jaeger_trace
short_description: Prove that a service's traces landed in Jaeger, or say exactly why not
description:
  - Searches Jaeger's query service for recent traces of one service (O(service)) or many
    (O(services)) and checks that a span with O(operation) exists, lasts between O(min_duration)
    and O(max_duration), hangs under O(parent_operation) and carries O(attributes).
  - Polls until O(timeout), because an OpenTelemetry SDK exports in batches (every 5 s by default).
  - Jaeger's search is only a pre-filter; every returned span is checked again here, so a failure
    names what was measured, for example the span's real duration or its real parent.
  - Failures carry a stable RV(reason) and tell apart an unreachable Jaeger, TLS problems, a query API
    behind a login (V(login_required), a redirect to a login page, a login form or 401/403; a redirect is never
    followed), refused credentials (V(auth_failed)), an unknown service (with the nearest names), a missing
    operation (with the service's operations), a span too short or too long, a wrong parent and too few traces.
  - Speaks the stable API v3 of Jaeger v2 (C(/api/v3)) and the internal JSON API (C(/api/)).
  - Read-only; never reports a change.
version_added: "1.0.0"
author:
  - lab10 tracing kit team (@sysadm-ee-lab10)
options:
  url:
    description:
      - Base URL of Jaeger's query service (the UI's address), without C(/api).
      - Credentials in it (C(https://user:password@host)) are used for basic auth and never shown - messages and
        trace links say C(https://***@host) - but O(bearer_token) or O(headers) keep them out of URLs altogether.
    type: str
    required: true
  ui_url:
    description:
      - Base URL of the Jaeger UI for the links this module returns (RV(trace_url), RV(search_url)), when people open
        the UI somewhere else than O(url), for example V(https://jaeger.sysadm.ee) while O(url) is the scoring
        server's V(http://localhost:16686).
      - Default O(url). Credentials in it never reach a link either (C(https://***@host)).
    type: str
  service:
    description:
      - The service to check, as in the resource attribute C(service.name).
      - Mutually exclusive with O(services); one of them is required.
    type: str
  services:
    description:
      - Check many services in one task (bulk mode), concurrently; see O(concurrency).
      - The module fails if any of them fails; RV(results) holds one entry per service.
    type: list
    elements: str
  operation:
    description:
      - Name of the span that must exist, for example V(validate_inventory_cache).
      - Without it any span of the service counts.
    type: str
  parent_operation:
    description:
      - The matching span's parent span must have this name, for example V(GET /api/v1/inventory).
    type: str
  min_duration:
    description:
      - The matching span must last at least this long.
      - A duration like V(300ms), V(1.5s), V(2m), V(1m30s); a plain number is milliseconds.
    type: raw
  max_duration:
    description:
      - The matching span must last at most this long. Same format as O(min_duration).
    type: raw
  attributes:
    description:
      - Span attributes (tags) the matching span must carry, compared as text, so V(200) matches
        an integer attribute 200 and V(true) a boolean.
    type: dict
    default: {}
  min_traces:
    description:
      - How many distinct matching traces must be found.
    type: int
    default: 1
  since:
    description:
      - Only traces that started this long ago or later count.
      - A duration like V(15m) or V(1h); a plain number is seconds.
      - Or an absolute time, V(@<epoch seconds>) or RFC 3339 with a zone (V(2026-11-25T12:00:00Z)), for example
        the moment a request was sent.
      - Resolved once when the module starts; every poll asks about the same window.
    type: raw
    default: 15m
  until:
    description:
      - Only traces that started at this time or earlier count (a deadline); Jaeger is asked for none that
        started later.
      - RFC 3339 with a zone, such as V(2026-12-10T23:59:00Z) or V(2026-12-11T01:59:00+02:00). It may lie
        ahead; it must be after the start of the O(since) window.
      - Without it the window ends when the polling does (see O(timeout)).
    type: str
  timeout:
    description:
      - Keep polling until this much time has passed, then explain what is missing.
      - A Jaeger that cannot be reached (V(unreachable), a name that does not resolve included, since
        a Compose service's name resolves only while its container runs) or answers HTTP 502, 503 or
        504 is asked again until then; other failures, such as TLS or authentication, end the run at once.
      - A trace that starts while the module waits counts too; the search window ends when the polling
        does, plus a margin for clock skew between the app's host and this one.
      - The default outlasts the OpenTelemetry SDK's 5 s batch delay with room to spare.
      - A duration like V(30s); a plain number is seconds. V(0) means a single search.
    type: raw
    default: 30
  interval:
    description:
      - Pause between two polls, at least V(10ms). A duration or a number of seconds.
    type: raw
    default: 1
  fail_fast:
    description:
      - Stop waiting for a service as soon as Jaeger holds a trace that settles it, that is a trace with the
        O(parent_operation) span of a served request (its HTTP status, when recorded, is 2xx) but no span
        that matches; the result is then the closest miss's RV(reason) (V(operation_unknown), V(too_short),
        V(too_long), V(parent_mismatch), V(attributes_mismatch)) instead of waiting for O(timeout).
      - Needs O(operation) and O(parent_operation), and O(min_traces=1).
      - Meant for a check right after a request was sent, with O(since) set to when it was sent. The
        searches then ask Jaeger for the parent's traces without duration filters.
    type: bool
    default: false
  api:
    description:
      - Which query API to use. V(auto) uses API v3 if C(/api/v3/services) answers like it, else
        the internal API.
    type: str
    choices: [auto, v3, v1]
    default: auto
  headers:
    description:
      - Extra HTTP headers for every request, for example for an authenticating proxy.
      - Treated as secret (never logged), since such headers usually carry credentials.
    type: dict
    default: {}
  bearer_token:
    description:
      - "Sent as C(Authorization: Bearer <token>); overrides an C(Authorization) in O(headers)."
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of an C(https) O(url).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) to trust for O(url), for example the course's private CA.
    type: path
  concurrency:
    description:
      - How many services are searched at the same time in bulk mode.
    type: int
    default: 16
  search_limit:
    description:
      - Most traces asked for per search (Jaeger's C(limit) / C(query.num_traces)); at least O(min_traces).
      - Jaeger's in-memory store refuses a limit above its C(max_traces).
    type: int
    default: 100
attributes:
  check_mode:
    support: full
    description: The module only reads from Jaeger, so check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
notes:
  - HTTP goes through C(ansible.module_utils.urls), so C(http_proxy)/C(https_proxy)/C(no_proxy) apply.
  - Needs nothing beyond ansible-core on the host that runs it.
"""

EXAMPLES = r"""
- name: Prove the trace of a request just sent reached Jaeger, and stop early on a wrong one
  jaeger_trace:
    url: http://localhost:16686
    service: "inventory.{{ inventory_hostname }}.sysadm.ee"
    operation: validate_inventory_cache
    parent_operation: GET /api/v1/inventory
    min_duration: 300ms
    max_duration: 2s
    since: "@{{ request_sent_epoch }}"
    fail_fast: true

- name: Course Jaeger behind a token and the course CA
  jaeger_trace:
    url: https://jaeger.sysadm.ee
    bearer_token: "{{ jaeger_token }}"
    ca_path: /etc/pki/ca-trust/source/anchors/course-ca.pem
    service: inventory.vm42.sysadm.ee
    operation: validate_inventory_cache
    attributes:
      http.route: /api/v1/inventory

- name: Grade a whole class in one task
  jaeger_trace:
    url: http://jaeger.lab:16686
    services: "{{ groups['students'] | map('regex_replace', '^(.*)$', 'inventory.\\1.sysadm.ee') | list }}"
    operation: validate_inventory_cache
    parent_operation: GET /api/v1/inventory
    min_duration: 300ms
    timeout: 60
  register: grading
  ignore_errors: true

- name: Show who failed and why
  ansible.builtin.debug:
    msg: "{{ grading.results | rejectattr('ok') | map(attribute='msg') | list }}"
"""

RETURN = r"""
trace_id:
  description: Id of the newest matching trace (single service); on some failures the closest miss.
  returned: success, and failures where a candidate span was found
  type: str
  sample: c0ef5a2e85bd6887d4eccbf095eb4dee
trace_url:
  description: Link to that trace in the Jaeger UI (O(ui_url)).
  returned: when trace_id is returned
  type: str
  sample: https://jaeger.sysadm.ee/trace/c0ef5a2e85bd6887d4eccbf095eb4dee
search_url:
  description:
    - Link to the Jaeger UI's search of the service's traces (O(ui_url)), also when Jaeger could not be asked, for
      example behind a login a browser can pass.
  returned: single service, once the parameters are valid; in bulk mode in each entry of RV(results)
  type: str
  sample: https://jaeger.sysadm.ee/search?service=inventory.vm42.sysadm.ee
spans:
  description: The trace's spans in tree order.
  returned: when trace_id is returned
  type: list
  elements: dict
  contains:
    operation:
      description: Span name.
      type: str
    service:
      description: The span's service.
      type: str
    duration_ms:
      description: Duration in milliseconds.
      type: float
    parent:
      description: "Name of the parent span; null for a root span or a parent not in the trace."
      type: str
    span_id:
      description: Span id (hex).
      type: str
    parent_span_id:
      description: Parent span id (hex) or null.
      type: str
    start:
      description: "Start time: RFC 3339, UTC."
      type: str
    offset_ms:
      description: Start relative to the trace's first span, in milliseconds.
      type: float
waterfall:
  description: Short text waterfall of the trace; the matching (or closest) span is marked with C(<).
  returned: when trace_id is returned
  type: str
measured_ms:
  description: Duration of the matching span, or of the closest miss.
  returned: success, and failures where a candidate span was found
  type: float
reason:
  description:
    - Stable machine-readable outcome. V(ok) on success, V(some_failed) when a bulk check has failures;
      otherwise one of V(bad_parameter), V(unreachable), V(tls_failed), V(login_required), V(auth_failed),
      V(http_error),
      V(unexpected_response), V(internal_error), V(service_unknown), V(operation_unknown), V(no_traces),
      V(parent_mismatch), V(too_short), V(too_long), V(attributes_mismatch), V(too_few_traces).
  returned: always
  type: str
  sample: too_short
checks:
  description:
    - The check broken down for partial credit, in this order and only where the criterion was given
      (single service; each bulk entry has its own).
    - V(service) the service is in Jaeger; V(parent_trace) a trace with a O(parent_operation) span started in
      the window; V(operation) a span named O(operation) exists, under O(parent_operation) when given;
      V(duration) it lasts within O(min_duration) and O(max_duration); V(attributes) it carries
      O(attributes); V(min_traces) enough traces match.
  returned: always; every check is null when nothing could be asked
  type: list
  elements: dict
  contains:
    name:
      description: The check's name.
      type: str
      sample: duration
    ok:
      description: "True or false; null when not decided: an earlier check failed or Jaeger could not be asked."
      type: bool
    msg:
      description: One line on what was seen.
      type: str
    measured_ms:
      description: On V(duration), the duration of the matching span or of the closest miss.
      type: float
  sample:
    - {name: service, ok: true, msg: "service 'inventory.vm1.sysadm.ee' is in Jaeger"}
    - {name: parent_trace, ok: true, msg: "trace of 'GET /api/v1/inventory' in the last 15m: found"}
    - {name: operation, ok: true, msg: "span 'validate_inventory_cache' under 'GET /api/v1/inventory': found"}
    - {name: duration, ok: false, measured_ms: 120.1, msg: "span 'validate_inventory_cache' lasted 120.1 ms"}
services_seen:
  description: On V(service_unknown), the service names in Jaeger nearest to the one asked for.
  returned: on service_unknown
  type: list
  elements: str
operations_seen:
  description: On V(operation_unknown), all operations of the service.
  returned: on operation_unknown
  type: list
  elements: str
parent_seen:
  description: On V(parent_mismatch), the name of the span's real parent (null for a root span).
  returned: on parent_mismatch
  type: str
api:
  description: The query API used.
  returned: when Jaeger was reached
  type: str
  sample: v3
polls:
  description: Searches made (single service); in bulk mode the sum over all services.
  returned: always
  type: int
elapsed:
  description: Seconds the module spent.
  returned: always
  type: float
traces_found:
  description: Number of distinct matching traces; in bulk mode the sum over all services.
  returned: always
  type: int
results:
  description:
    - Bulk mode, one entry per service in the order given, with the keys of a single check
      (service, ok, reason, msg, checks, polls, elapsed, traces_found, trace_id, trace_url, search_url, spans,
      waterfall, measured_ms and the failure context).
  returned: bulk mode
  type: list
  elements: dict
summary:
  description: Bulk mode counts.
  returned: bulk mode
  type: dict
  contains:
    total:
      description: Services checked.
      type: int
    passed:
      description: Services that passed.
      type: int
    failed:
      description: Services that failed.
      type: int
    failed_services:
      description: Names of the failed services.
      type: list
      elements: str
"""

# Imports after the documentation, as in Ansible's own modules.
import time  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ..module_utils.jaeger.check import Checker, Plan  # noqa: E402
from ..module_utils.jaeger.match import Criteria  # noqa: E402
from ..module_utils.jaeger.model import JaegerError, parse_duration_ms, parse_since, parse_until, search_link  # noqa: E402
from ..module_utils.jaeger.query import Client, check_url, detect_api  # noqa: E402
from ..module_utils.jaeger.verdict import bulk_message, checks  # noqa: E402
from ..module_utils.lab.redact import redact_userinfo  # noqa: E402

ARGUMENT_SPEC = {
    "url": {"type": "str", "required": True},
    "ui_url": {"type": "str"},
    "service": {"type": "str"},
    "services": {"type": "list", "elements": "str"},
    "operation": {"type": "str"},
    "parent_operation": {"type": "str"},
    "min_duration": {"type": "raw"},
    "max_duration": {"type": "raw"},
    "attributes": {"type": "dict", "default": {}},
    "min_traces": {"type": "int", "default": 1},
    "since": {"type": "raw", "default": "15m"},
    "until": {"type": "str"},
    "timeout": {"type": "raw", "default": 30},
    "interval": {"type": "raw", "default": 1},
    "fail_fast": {"type": "bool", "default": False},
    "api": {"type": "str", "default": "auto", "choices": ["auto", "v3", "v1"]},
    "headers": {"type": "dict", "default": {}, "no_log": True},
    "bearer_token": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "concurrency": {"type": "int", "default": 16},
    "search_limit": {"type": "int", "default": 100},
}


def criteria_of(p):
    """The services to check and what their spans must satisfy; JaegerError(bad_parameter) on bad input."""
    min_ms = parse_duration_ms(p["min_duration"], "min_duration") if p["min_duration"] is not None else None
    max_ms = parse_duration_ms(p["max_duration"], "max_duration") if p["max_duration"] is not None else None
    if min_ms is not None and max_ms is not None and min_ms > max_ms:
        raise JaegerError("bad_parameter", "min_duration is longer than max_duration")
    names = [p["service"]] if p["service"] is not None else list(p["services"])
    if not names:
        raise JaegerError("bad_parameter", "services must not be empty")
    if any(not isinstance(n, str) or not n.strip() for n in names):
        which = "service" if p["service"] is not None else "services"
        raise JaegerError("bad_parameter", f"{which}: service names must not be empty")
    for name in ("operation", "parent_operation"):
        if p[name] is not None and not p[name]:
            raise JaegerError("bad_parameter", f"{name} must not be empty (leave it out instead)")
    return [
        Criteria(
            name.strip(),
            operation=p["operation"],
            parent_operation=p["parent_operation"],
            min_ms=min_ms,
            max_ms=max_ms,
            attributes=p["attributes"],
            min_traces=p["min_traces"],
        )
        # dict.fromkeys: drop repeats, keep the order given.
        for name in dict.fromkeys(n.strip() for n in names)
    ]


def build(p, now_s):
    """Module params -> (Client, Plan, the UI's base URL); JaegerError(bad_parameter) on bad input. Nothing is sent."""
    timeout_s = parse_duration_ms(p["timeout"], "timeout", bare_unit="s") / 1000.0
    interval_s = parse_duration_ms(p["interval"], "interval", bare_unit="s") / 1000.0
    # A zero pause would poll Jaeger in a tight loop for the whole timeout.
    if interval_s < 0.01:
        raise JaegerError("bad_parameter", "interval must be at least 10ms")
    for name in ("min_traces", "concurrency", "search_limit"):
        if p[name] < 1:
            raise JaegerError("bad_parameter", f"{name} must be at least 1")
    # fail_fast judges one served request's trace: it needs the span and its parent, and one trace.
    if p["fail_fast"] and not (p["operation"] and p["parent_operation"]):
        raise JaegerError("bad_parameter", "fail_fast needs operation and parent_operation")
    if p["fail_fast"] and p["min_traces"] != 1:
        raise JaegerError("bad_parameter", "fail_fast needs min_traces 1")
    start_us, window_text = parse_since(p["since"], now_s)
    until_us = None
    if p["until"] is not None:
        until_us, until_text = parse_until(p["until"], start_us)
        window_text = f"{window_text} and {until_text}"
    plan = Plan(
        criteria_of(p),
        start_us,
        window_text,
        timeout_s,
        interval_s,
        concurrency=p["concurrency"],
        limit=p["search_limit"],
        fail_fast=p["fail_fast"],
        now_us=int(now_s * 1_000_000),
        until_us=until_us,
    )
    client = Client(
        p["url"],
        headers=p["headers"],
        bearer_token=p["bearer_token"],
        validate_certs=p["validate_certs"],
        ca_path=p["ca_path"],
        # One slow request must not eat a short timeout whole, nor a long one hang forever.
        timeout=max(1.0, min(10.0, timeout_s or 10.0)),
    )
    ui_base = check_url(p["ui_url"], "ui_url") if p["ui_url"] is not None else client.base_url
    return client, plan, ui_base


def connect(client, api_name, deadline, interval_s, sleep=time.sleep, monotonic=time.monotonic):
    """detect_api, retried while the failure may clear (Jaeger starting) and time is left."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return detect_api(client, api_name), attempts
        except JaegerError as exc:
            remaining = deadline - monotonic()
            if not exc.retry or remaining <= 0:
                exc.context.setdefault("attempts", attempts)
                raise
            sleep(min(interval_s, remaining))


def summary_of(results):
    failed = [r["service"] for r in results if not r["ok"]]
    return {
        "total": len(results),
        "passed": len(results) - len(failed),
        "failed": len(failed),
        "failed_services": failed,
    }


def failed_everywhere(plan, params, exc, ui_base=None):
    """One result per service when nothing per service was learnt (bad input, Jaeger unreachable...).

    With the UI's base known, each keeps its search link: the UI may open where the query API did not answer
    (behind a login a browser can pass)."""
    if plan is not None:
        criteria = plan.criteria
    else:
        # The parameters did not make a plan: the services as named, checked for nothing.
        names = params["services"] if params["services"] is not None else [params["service"]]
        criteria = [Criteria(n) for n in dict.fromkeys(str(n).strip() for n in names if str(n or "").strip())]
    results = []
    for c in criteria:
        result = {"service": c.service, "ok": False, "reason": exc.reason, "msg": exc.msg}
        if ui_base:
            result["search_url"] = search_link(ui_base, c.service)
        result["checks"] = checks(c, exc.reason, exc.msg)
        results.append(result)
    return results


def _fail(module, **payload):
    module.fail_json(**_shown(module, payload))


def _exit(module, **payload):
    module.exit_json(**_shown(module, payload))


def _shown(module, payload):
    """payload, and the task's module_args, without a URL's credentials: url may carry user:password@, and every
    message and link quotes it. (Not no_log_values: Ansible would mask the password wherever its text appears,
    inside service names too.) no_log parameters stay masked by Ansible as usual."""
    shown = redact_userinfo(payload)
    shown["invocation"] = {"module_args": redact_userinfo(dict(module.params))}
    return shown


def run_module():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("service", "services")],
        required_one_of=[("service", "services")],
        supports_check_mode=True,
    )
    started = time.monotonic()
    bulk = module.params["services"] is not None
    out = {"changed": False, "polls": 0, "traces_found": 0}
    plan = ui_base = None
    try:
        client, plan, ui_base = build(module.params, time.time())
        deadline = started + plan.timeout_s
        api = connect(client, module.params["api"], deadline, plan.interval_s)[0]
        out["api"] = api.name
        results = Checker(api, ui_base).run(plan, deadline=deadline)
    except JaegerError as exc:
        # Nothing per service was learnt (bad input, Jaeger unreachable...): one message for all.
        out.update(exc.context)
        out.update(reason=exc.reason, elapsed=round(time.monotonic() - started, 3))
        everywhere = failed_everywhere(plan, module.params, exc, ui_base)
        if bulk:
            out.update(results=everywhere, summary=summary_of(everywhere))
        elif everywhere:
            out["checks"] = everywhere[0]["checks"]
            if "search_url" in everywhere[0]:
                out["search_url"] = everywhere[0]["search_url"]
        _fail(module, msg=exc.msg, **out)
    except Exception as exc:  # noqa: BLE001 -- safety net: a one-line message, the traceback only with -vvv
        _fail(
            module,
            msg=f"jaeger_trace internal error: {type(exc).__name__}: {exc}",
            reason="internal_error",
            exception=traceback.format_exc(),
            **out,
        )
    out["elapsed"] = round(time.monotonic() - started, 3)
    if bulk:
        summary = summary_of(results)
        out.update(
            results=results,
            polls=sum(r["polls"] for r in results),
            traces_found=sum(r["traces_found"] for r in results),
            summary=summary,
            reason="some_failed" if summary["failed"] else "ok",
        )
        if summary["failed"]:
            _fail(module, msg=bulk_message(results), **out)
        _exit(module, msg=f"all {len(results)} services have matching traces", **out)
    result = dict(results[0])
    del result["service"], result["elapsed"]
    ok = result.pop("ok")
    out.update(result)
    if not ok:
        _fail(module, **out)
    _exit(module, **out)


def main():
    run_module()


if __name__ == "__main__":
    main()
