# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's vocabulary: every verdict `reason`, the hop it names, what it means and its fix.

This table is the one source: the otel_doctor module renders its verdicts from it, and the
troubleshooting tables of docs/troubleshooting.md are generated from it (scripts/gen_readme_verdicts.py).
Messages and fixes are str.format templates over the facts the classifier found; a fact it
could not learn renders as "?".

Kept compatible with Python 3.8: the module may run on a lab VM's system Python. Over 300 lines: it is
the table, one entry per reason.
"""

from __future__ import annotations

import string
from collections import namedtuple

# The path a span takes, in order; a verdict names the first hop proven broken.
HOPS = (
    ("app", "the app's code: the traced request and its spans"),
    ("container_env", "the running container and the environment it was started with"),
    ("sdk_export", "the OpenTelemetry SDK's exporter inside the app"),
    ("network_tls", "DNS, TCP and TLS from the container to the OTLP endpoint"),
    ("jaeger_ingest", "Jaeger's OTLP/HTTP receiver, which stores the spans"),
    ("jaeger_query", "Jaeger's query API, where the trace is looked up"),
)
HOP_NAMES = tuple(name for name, _meaning in HOPS)

# ok: the student has nothing to fix. verified: Jaeger's query API showed the request's trace as the lab wants it
# (only `ok`); `exported_login_required` is ok without it, so a machine can tell it from `ok`.
# fix speaks of the kit (its variables and playbooks: the doctor, a VM the kit provisioned); own_fix, where that
# differs, of a student's own code and compose file (the class report of a VM the kit did not provision).
Verdict = namedtuple("Verdict", "hop ok symptom msg fix verified own_fix", defaults=(False, None))

RECREATE = "then recreate the container: docker compose -f {compose_file} up -d {service}"

# reason -> Verdict(hop, ok, symptom for docs/troubleshooting.md, msg template, fix template[, verified])
VERDICTS = {
    "ok": Verdict(
        "",
        True,
        "the trace is in Jaeger",
        "Every hop is healthy: the request's trace reached Jaeger with {operation} under {parent_operation}.",
        "Nothing to fix.",
        True,
    ),
    "docker_unavailable": Verdict(
        "container_env",
        False,
        "`docker` fails on the VM",
        "Docker does not answer on the VM: {detail}.",
        "Start the engine (sudo systemctl enable --now docker) and run the doctor with become.",
    ),
    "compose_missing": Verdict(
        "container_env",
        False,
        "no compose file, no container",
        "There is no compose file at {compose_file} and no container of service {service}.",
        "Deploy the lab (ansible-playbook playbooks/site.yml), or point inventory_api_compose_file at the right file.",
    ),
    "compose_invalid": Verdict(
        "container_env",
        False,
        "`docker compose config` fails",
        "docker compose cannot read {compose_file}: {detail}.",
        "Fix the file (docker compose -f {compose_file} config names the error), " + RECREATE + ".",
    ),
    "container_missing": Verdict(
        "container_env",
        False,
        "the service has no container",
        "Service {service} of project {project} has no container.",
        "Start it: docker compose -f {compose_file} up -d {service}.",
    ),
    "container_down": Verdict(
        "container_env",
        False,
        "the container is stopped or restarting",
        "The container {container} is {state} (exit code {exit_code}, {restarts} restarts).",
        "Read its log (docker compose -f {compose_file} logs {service}) and fix the error, " + RECREATE + ".",
    ),
    "not_restarted": Verdict(
        "container_env",
        False,
        "env set in the compose file, container not restarted",
        "{compose_file} sets {keys} differently from the running container {container}: "
        "it was not recreated after the change.",
        "Recreate it: docker compose -f {compose_file} up -d {service} (docker restart keeps the old environment).",
    ),
    "tracing_off": Verdict(
        "sdk_export",
        False,
        "tracing is switched off in the app",
        "Tracing is off in the app: {detail}.",
        "Remove OTEL_SDK_DISABLED and set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf in {compose_file}, "
        + RECREATE
        + ".",
    ),
    "service_name_mismatch": Verdict(
        "container_env",
        False,
        "typo in the service name",
        "The app reports service {actual}, not {expected}.",
        "Set OTEL_SERVICE_NAME={expected} in {compose_file}, " + RECREATE + ".",
    ),
    "export_dns": Verdict(
        "network_tls",
        False,
        "export errors: name resolution",
        "The container cannot resolve {host}, the host of the OTLP endpoint {endpoint}: {detail}.",
        "Check the host name in OTEL_EXPORTER_OTLP_ENDPOINT and the container's DNS "
        "(docker exec {container} getent hosts {host}).",
    ),
    "export_refused": Verdict(
        "network_tls",
        False,
        "export errors: connection refused",
        "Nothing listens at {host}:{port}, the OTLP endpoint {endpoint}: connection refused.",
        "Point OTEL_EXPORTER_OTLP_ENDPOINT at the OTLP/HTTP receiver (port 4318, or https://jaeger.sysadm.ee), "
        + RECREATE
        + ".",
    ),
    "export_unreachable": Verdict(
        "network_tls",
        False,
        "export errors: no route to host",
        "The container has no route to {host}:{port} ({endpoint}): {detail}.",
        "Check the address in OTEL_EXPORTER_OTLP_ENDPOINT and the VM's routes and firewall towards {host}.",
    ),
    "export_timeout": Verdict(
        "network_tls",
        False,
        "export errors: timeouts",
        "{host}:{port} ({endpoint}) did not answer within {timeout} s: {detail}.",
        "Check the firewall between the VM and {host}; on a course VM also the compose network's MTU "
        "(docs/troubleshooting.md: MTU 1400).",
    ),
    "export_tls": Verdict(
        "network_tls",
        False,
        "export errors: TLS certificate not trusted",
        "TLS to {host}:{port} fails: {detail} (CA bundle: {ca}).",
        "Give the container a CA bundle that signs {host}'s certificate in OTEL_EXPORTER_OTLP_CERTIFICATE "
        "(the role: inventory_api_extra_ca_bundle), " + RECREATE + ".",
    ),
    "export_not_tls": Verdict(
        "network_tls",
        False,
        "export errors: https to a plain-HTTP port",
        "{endpoint} is https, but {host}:{port} does not speak TLS: {detail}.",
        "Use http:// for that port, or the receiver's TLS address, in OTEL_EXPORTER_OTLP_ENDPOINT, " + RECREATE + ".",
    ),
    "export_http_404": Verdict(
        "jaeger_ingest",
        False,
        "export errors: HTTP 404",
        "{endpoint} answers 404: there is no OTLP receiver at that path.",
        "Give OTEL_EXPORTER_OTLP_ENDPOINT the base URL only (the SDK appends /v1/traces), "
        "e.g. https://jaeger.sysadm.ee, " + RECREATE + ".",
    ),
    "export_http_error": Verdict(
        "jaeger_ingest",
        False,
        "export errors: another HTTP status",
        "{endpoint} answers HTTP {status} to an OTLP export: {detail}.",
        "Check that the endpoint is an OTLP/HTTP receiver (http/protobuf on .../v1/traces) and read its log; "
        "401/403 means it wants credentials (OTEL_EXPORTER_OTLP_HEADERS).",
    ),
    "export_redirect": Verdict(
        "jaeger_ingest",
        False,
        "no export errors, no traces: a redirect",
        "{endpoint} answers {status} with a redirect to {location}; the SDK counts that as sent, the spans are lost.",
        "Use the redirect's target (usually https:// instead of http://) in OTEL_EXPORTER_OTLP_ENDPOINT, "
        + RECREATE
        + ".",
    ),
    "export_not_otlp": Verdict(
        "jaeger_ingest",
        False,
        "no export errors, no traces: not a receiver",
        "{endpoint} answers {status} with {content_type}, not OTLP; the SDK counts that as sent, the spans are lost.",
        "Point OTEL_EXPORTER_OTLP_ENDPOINT at the OTLP/HTTP port (4318) or https://jaeger.sysadm.ee, not the UI "
        "(16686), " + RECREATE + ".",
    ),
    "export_failed": Verdict(
        "sdk_export",
        False,
        "other export errors in the log",
        "The app's exporter fails: {detail}.",
        "Read the exporter's lines in docker compose -f {compose_file} logs {service} and fix what they name.",
    ),
    "jaeger_unreachable": Verdict(
        "jaeger_ingest",
        False,
        "Jaeger stopped",
        "Jaeger is down: its OTLP endpoint {endpoint} fails ({detail}) and its query API fails too ({query_detail}).",
        "Start Jaeger again (or tell whoever runs it); the app keeps serving and exports again once it is back.",
    ),
    "trigger_failed": Verdict(
        "app",
        False,
        "the request itself fails",
        "The request {trigger_url} made no trace: HTTP {trigger_status}.",
        "HTTP 401/403: give the API token (inventory_api_token); 5xx or -1: read docker compose -f {compose_file} "
        "logs {service}.",
    ),
    "trace_missing": Verdict(
        "sdk_export",
        False,
        "no export errors, no traces",
        "The endpoint accepts exports, but Jaeger got no trace of {expected} since the request: {detail}.",
        "Check the app's tracing setup: a TracerProvider with a BatchSpanProcessor and OTLPSpanExporter, the "
        "Flask instrumentation, OTEL_TRACES_SAMPLER; the app's log names the endpoint it exports to.",
    ),
    "span_missing": Verdict(
        "app",
        False,
        "trace present, `validate_inventory_cache` missing",
        "The trace arrived, but without a span {operation}: {detail}.",
        "Call {operation}() in the {parent_operation} route, inside the request "
        "(the span must be started with the tracer of the configured provider).",
    ),
    "span_wrong_parent": Verdict(
        "app",
        False,
        "the span is not under the route",
        "The span {operation} is not a child of {parent_operation}: {detail}.",
        "Start the span inside the request handler, so the route's server span is the current span.",
    ),
    "span_too_short": Verdict(
        "app",
        False,
        "the span is too short",
        "The span {operation} is too short: {detail}.",
        "Keep a sleep of at least {min_duration_ms} ms inside the span (INVENTORY_CACHE_SLEEP_SECONDS, "
        "inventory_api_cache_sleep).",
        own_fix="Keep a sleep of at least {min_duration_ms} ms inside the span {operation} in your app's code (within "
        "the block that starts the span), rebuild and recreate the container, then send GET /api/v1/inventory again.",
    ),
    "span_too_long": Verdict(
        "app",
        False,
        "the span is too long",
        "The span {operation} is too long: {detail}.",
        "Check the sleep inside {operation} (the lab wants at least {min_duration_ms} ms).",
    ),
    "trace_mismatch": Verdict(
        "app",
        False,
        "the trace differs from the criteria",
        "The trace arrived but does not match: {detail}.",
        "Compare the trace with the lab's criteria (the doctor's evidence shows its spans).",
    ),
    "exported_login_required": Verdict(
        "jaeger_query",
        True,
        "export accepted, the query API wants a login",
        "The VM's side is healthy: the OTLP endpoint {endpoint} accepted an export (HTTP {status}). The trace was not "
        "looked up: Jaeger's query API wants a login ({login}).",
        "Nothing the doctor could check is wrong. Check the rest in the Jaeger UI, after logging in: the newest trace "
        "of GET /api/v1/inventory with validate_inventory_cache (~300 ms) under it: {search_url} -- for the doctor to "
        "check it too, give inventory_api_verify_bearer_token or a query URL without the login "
        "(inventory_api_jaeger_query_url).",
    ),
    "not_verified": Verdict(
        "jaeger_query",
        False,
        "the query API cannot be asked",
        "The VM's side looks healthy (the OTLP endpoint accepted an empty export), but Jaeger's query API could not "
        "be asked: {query_detail}.",
        "Give the query API's token (inventory_api_verify_bearer_token) or a reachable inventory_api_jaeger_query_url, "
        "or look for the trace in the Jaeger UI.",
    ),
}

# The grader's reasons (playbooks/grade.yml and class.yml: the class report), in the same vocabulary. A
# jaeger_trace reason that means what a doctor verdict means is not repeated here: JAEGER_TRACE_REASONS
# (doctor.verdict) maps it to that verdict (too_short -> span_too_short), so the report and the doctor
# say it in the same words. What remains: what Jaeger alone says about a service (the grader has no VM
# evidence), Jaeger's query API failing the grader (its class_* settings, not the student), and a class
# run's own states, which name no hop of the span's way. Extra facts: {service} {since} {step}.
GRADER_VERDICTS = {
    "service_unknown": Verdict(
        "sdk_export",
        False,
        "service unknown to Jaeger",
        "Jaeger has never seen the service {service}: {detail}.",
        "Set OTEL_SERVICE_NAME={service} on the inventory service, export over OTLP/HTTP (http/protobuf) to the "
        "course Jaeger and send GET /api/v1/inventory; playbooks/doctor.yml on the VM names the hop that loses "
        "the spans.",
    ),
    "no_traces": Verdict(
        "sdk_export",
        False,
        "no trace of the request",
        "Jaeger knows {service}, but holds no trace of {parent_operation} with {operation} since {since}: {detail}.",
        "Send GET /api/v1/inventory with the API token; if no trace follows, playbooks/doctor.yml on the VM names "
        "the hop that loses the spans.",
    ),
    "unreachable": Verdict(
        "jaeger_query",
        False,
        "Jaeger unreachable",
        "Jaeger's query API did not answer the grader: {detail}.",
        "Check class_jaeger_url; it is asked from class_delegate (the controller unless set).",
    ),
    "tls_failed": Verdict(
        "jaeger_query",
        False,
        "TLS to Jaeger failed",
        "TLS to Jaeger's query API failed: {detail}.",
        "Give class_jaeger_ca_path the CA that signs its certificate (or set class_jaeger_validate_certs: false).",
    ),
    "login_required": Verdict(
        "jaeger_query",
        False,
        "Jaeger wants a login",
        "Jaeger's query API wants a login and the grader sent no token: {detail}.",
        "Set class_jaeger_bearer_token (in a vault) to a token the query API accepts, or grade through the scoring "
        "server (class_delegate, class_jaeger_url: http://localhost:16686, class_jaeger_ui_url for the links).",
    ),
    "auth_failed": Verdict(
        "jaeger_query",
        False,
        "Jaeger refused the grader",
        "Jaeger's query API refused the grader's request: {detail}.",
        "Set class_jaeger_bearer_token (in a vault) to a token the query API accepts.",
    ),
    "http_error": Verdict(
        "jaeger_query",
        False,
        "Jaeger answered an HTTP error",
        "Jaeger's query API answered the grader with an HTTP error: {detail}.",
        "Check class_jaeger_url and Jaeger's log.",
    ),
    "unexpected_response": Verdict(
        "jaeger_query",
        False,
        "not Jaeger's query API",
        "The answer was not Jaeger's query API: {detail}.",
        "Point class_jaeger_url at Jaeger's query API (port 16686), not the OTLP port or another site.",
    ),
    "bad_parameter": Verdict(
        "jaeger_query",
        False,
        "grading call refused",
        "jaeger_trace refused the grading call: {detail}.",
        "Fix the class_* variable the message names (class_since, class_jaeger_url, ...).",
    ),
    "internal_error": Verdict(
        "jaeger_query",
        False,
        "grader error",
        "jaeger_trace failed: {detail}.",
        "Re-run with -vvv and report the traceback.",
    ),
    "vm_unreachable": Verdict(
        "",
        False,
        "VM unreachable",
        "The VM did not answer ({step}).",
        "Start the VM; check host, port and user in the roster and that it accepts your SSH key, "
        "then re-run with --limit @failed.txt.",
    ),
    "provision_failed": Verdict(
        "",
        False,
        "provisioning failed",
        "Provisioning stopped at the task {step}.",
        "Read the error and fix its cause, on the VM or in how Ansible reaches it (python3 on the VM, the become "
        "password: -K), then re-run with --limit @failed.txt (the role changed nothing after that task).",
    ),
    # A provisioning failure whose cause the error names (class_provision.CAUSES): its own words and fix.
    "host_key_unknown": Verdict(
        "",
        False,
        "VM's SSH host key not trusted yet",
        "The controller does not know the VM's SSH host key yet ({step}: Host key verification failed).",
        "Trust the class's VMs once, checking the fingerprints it shows: bin/lab10 trust -i <roster> "
        "(playbooks/trust.yml), then re-run with --limit @failed.txt.",
    ),
    "host_key_changed": Verdict(
        "",
        False,
        "VM's SSH host key changed",
        "The VM's SSH host key is not the one the controller trusted ({step}): a reinstalled VM, or someone in "
        "between.",
        "Ask the student whether the VM was reinstalled; if so, forget the old key (ssh-keygen -R <host>) and trust "
        "the new one (bin/lab10 trust -i <roster>), then re-run with --limit @failed.txt.",
    ),
    "ssh_key_refused": Verdict(
        "",
        False,
        "VM refused the SSH key",
        "The VM refused the SSH login ({step}: Permission denied).",
        "Log in as the roster's user (centos) with a key the VM accepts: add your public key to "
        "~centos/.ssh/authorized_keys on the VM (ssh-copy-id, or ask the student), or point "
        "ansible_ssh_private_key_file at the right key; then re-run with --limit @failed.txt.",
    ),
    "become_password_missing": Verdict(
        "",
        False,
        "sudo asks for a password",
        "sudo on the VM asks for a password and none was given ({step}).",
        "Re-run with -K (--ask-become-pass), or keep ansible_become_password in a vault, and --limit @failed.txt.",
    ),
    "become_password_wrong": Verdict(
        "",
        False,
        "sudo refused the password",
        "sudo on the VM refused the password given ({step}).",
        "Give the VM user's own sudo password with -K (or the vaulted ansible_become_password), then re-run with "
        "--limit @failed.txt.",
    ),
    "registry_rate_limited": Verdict(
        "",
        False,
        "registry pull limit reached",
        "The registry refused the VM's image pull: its rate limit is reached ({step}). Docker Hub allows 10 "
        "unauthenticated pulls an hour per address; a class behind one address meets it.",
        "When the image came from Docker Hub, set class_base_image once for the class to the course's mirror "
        "(-e class_base_image=registry.hpc.ut.ee/mirror/library/python:3.11-slim); when it already came from a "
        "mirror, run docker login on the VM (or wait for the limit to reset). Then re-run with --limit @failed.txt.",
    ),
    "not_graded": Verdict("", False, "not graded", "Not graded yet.", "Run grade.yml (or class.yml) without --limit."),
    "not_checked": Verdict("", False, "not checked", "Not checked: an earlier check failed.", "Fix that one first."),
}


class _Facts(dict):
    def __missing__(self, key):
        return "?"


_FORMATTER = string.Formatter()


def render(template, facts):
    """The template with every {name} from facts; unknown or empty names render as "?"."""
    known = _Facts({k: v for k, v in facts.items() if v not in (None, "", [])})
    return _FORMATTER.vformat(template, (), known)


def verdict(reason, facts, evidence):
    """The diagnosis dict of the contract: reason, hop, ok, verified, msg, fix, evidence."""
    entry = VERDICTS[reason]
    return {
        "reason": reason,
        "hop": entry.hop,
        "ok": entry.ok,
        "verified": entry.verified,
        "msg": render(entry.msg, facts),
        "fix": render(entry.fix, facts),
        "evidence": list(evidence),
    }
