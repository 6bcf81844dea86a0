# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of the doctor: how the SDK resolves its endpoint and CA bundle, what the compose
file and the running container disagree on, what an exporter log line or a probe outcome means.

No I/O here: doctor.evidence gathers, doctor.verdict decides, these helpers are shared
and unit-tested on recorded real outputs. Kept compatible with Python 3.8. Over 300 lines: one
section per thing the SDK resolves, each small.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit

from ..lab.redact import redact_userinfo

# --- what the SDK does with the environment (opentelemetry-exporter-otlp-proto-http 1.45) ------

DEFAULT_TRACES_ENDPOINT = "http://localhost:4318/v1/traces"


def _set(env, name):
    """The SDK reads os.environ.get(name) and treats "" like unset; it does not strip."""
    return env.get(name) or ""


def resolve_traces_endpoint(env):
    """(url, source): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT verbatim, else OTEL_EXPORTER_OTLP_ENDPOINT
    minus one trailing "/" plus "/v1/traces", else the SDK's default."""
    traces = _set(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    base = _set(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    if base:
        trimmed = base[:-1] if base.endswith("/") else base
        return trimmed + "/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces"
    return DEFAULT_TRACES_ENDPOINT, "the SDK's default (no OTEL_EXPORTER_OTLP_*ENDPOINT set)"


def resolve_ca_bundle(env):
    """(path or None, source) of the CA bundle the exporter's requests session verifies with.

    The exporter sets session.verify to OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE or
    OTEL_EXPORTER_OTLP_CERTIFICATE; requests then lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override
    it (merge_environment_settings). None means certifi's bundle, found inside the container.
    """
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"):
        if _set(env, name):
            return env[name], name
    if _set(env, "OTEL_EXPORTER_OTLP_CERTIFICATE"):
        return env["OTEL_EXPORTER_OTLP_CERTIFICATE"], "OTEL_EXPORTER_OTLP_CERTIFICATE"
    return None, "certifi"


def resolve_client_cert(env):
    """(certificate, key) for mutual TLS, as the exporter picks them; (None, None) without."""
    cert = _set(env, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE") or _set(
        env, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
    )
    key = _set(env, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY") or _set(env, "OTEL_EXPORTER_OTLP_CLIENT_KEY")
    return (cert or None), (key or None)


def effective_service_name(env):
    """The service.name the SDK's Resource.create() reads from the environment, or None."""
    name = _set(env, "OTEL_SERVICE_NAME").strip()
    if name:
        return name
    for item in _set(env, "OTEL_RESOURCE_ATTRIBUTES").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip() == "service.name" and value.strip():
            return unquote(value.strip())
    return None


def split_endpoint(url):
    """{scheme, host, port, path} of an endpoint URL; port defaults by scheme."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return {"scheme": "", "host": "", "port": None, "path": ""}
    scheme = parts.scheme.lower()
    return {
        "scheme": scheme,
        "host": parts.hostname or "",
        "port": port or {"https": 443, "http": 80}.get(scheme),
        "path": parts.path or "/",
    }


# --- environment: compose file vs running container ----------------------------------------------


def env_list_to_dict(items):
    """docker inspect's Config.Env (["K=V", ...]) as a dict."""
    env = {}
    for item in items or []:
        key, _sep, value = item.partition("=")
        env[key] = value
    return env


def shown_value(key, value):
    """What the doctor may print of a variable: OTEL settings (without a URL's credentials), never
    headers or anything else."""
    if value is None:
        return "(not set)"
    if key.startswith("OTEL_") and "HEADERS" not in key:
        return redact_userinfo(value)
    return "(value hidden)"


def env_differences(compose_env, container_env, image_env):
    """[(key, compose value, container value)] where the running container does not have what the
    compose file says; a variable the container has that neither the file nor the image sets was
    removed from the file. None stands for "not set" (compose resolves `- NAME` without a value in
    its environment to null, and then passes nothing)."""
    differences = []
    for key in sorted(compose_env):
        wanted = compose_env[key]
        if wanted is None:
            continue
        wanted = str(wanted)
        if container_env.get(key) != wanted:
            differences.append((key, wanted, container_env.get(key)))
    for key in sorted(set(container_env) - set(compose_env) - set(image_env)):
        differences.append((key, None, container_env[key]))
    return differences


# --- the clock the spans carry -----------------------------------------------------------------------


def reference_time(date_header, elapsed, fallback):
    """{epoch, source}: from when the request's trace and log lines count.

    The response's Date header is the app's clock, the one its spans and the container's log carry;
    the controller's clock (fallback) may be seconds off. Date is whole seconds, truncated, and so
    is the uri module's elapsed: the request started after Date - elapsed - 1 s."""
    try:
        moment = parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)  # noqa: UP017 -- Python 3.8 on the VM
        elapsed = float(elapsed or 0)
        return {
            "epoch": moment.timestamp() - elapsed - 1,
            "source": f"the response's Date header {date_header} (the app's clock), less {elapsed:g} s taken and 1 s",
        }
    source = "the controller's clock" + (f" (unreadable Date header {date_header!r})" if date_header else "")
    return {"epoch": fallback, "source": source}


# --- exporter log lines -----------------------------------------------------------------------------

# A log line concerns tracing when it matches this; only such lines are kept as evidence.
TRACING_LINE = re.compile(
    r"export|otlp|opentelemetry|HTTPS?ConnectionPool|requests\.exceptions|urllib3\.exceptions|tracing",
    re.IGNORECASE,
)
# The app's own start line (roles/inventory_api/files/app/tracing.py).
APP_START_LINE = re.compile(r"tracing: service (?P<service>\S+) exports to (?P<endpoint>\S+)")
TRACING_OFF_LINE = re.compile(r"tracing is off|OTEL_SDK_DISABLED=true|cannot build the OTLP exporter", re.IGNORECASE)
# The SDK's last word after retries; its cause is in the "Transient error" lines before it.
SUMMARY_LINE = re.compile(r"due to timeout, max retries or shutdown", re.IGNORECASE)
# Retries end within the export timeout (the SDK's default 10 s, the app's 3 s) after the first error.
SUMMARY_WINDOW_S = 15
HTTP_CODE = re.compile(r"batch code: (?P<status>\d{3})\b")

# First match wins: (pattern, reason). Written against the SDK's real lines (tests/fixtures/doctor).
LOG_PATTERNS = (
    (re.compile(r"batch code: 404\b"), "export_http_404"),
    (HTTP_CODE, "export_http_error"),
    (
        re.compile(
            r"NameResolutionError|Name or service not known|Temporary failure in name resolution|"
            r"nodename nor servname|No address associated|getaddrinfo failed|\[Errno -[235]\]"
        ),
        "export_dns",
    ),
    (re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|SSLCertVerificationError"), "export_tls"),
    (
        re.compile(r"WRONG_VERSION_NUMBER|wrong version number|record layer failure|packet length too long"),
        "export_not_tls",
    ),
    (re.compile(r"SSLError|\[SSL"), "export_tls"),
    (re.compile(r"Connection refused|\[Errno 111\]"), "export_refused"),
    (re.compile(r"No route to host|\[Errno 113\]|Network is unreachable|\[Errno 101\]"), "export_unreachable"),
    (re.compile(r"ConnectTimeout|ReadTimeout|timed out|TimeoutError", re.IGNORECASE), "export_timeout"),
    (re.compile(r"Too Many Requests|Bad Gateway|Service Unavailable|Gateway Timeout"), "export_http_error"),
    (re.compile(r"Failed to export|Exception while exporting|Transient error", re.IGNORECASE), "export_failed"),
)

DOCKER_TIMESTAMP = re.compile(r"^(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d\d:\d\d) ")


def classify_log_line(line):
    """The reason an exporter error line stands for, or None when it is none."""
    for pattern, reason in LOG_PATTERNS:
        if pattern.search(line):
            return reason
    return None


def split_timestamp(line):
    """(epoch seconds or None, text) of a `docker logs --timestamps` line."""
    match = DOCKER_TIMESTAMP.match(line)
    if not match:
        return None, line
    offset = "+00:00" if match.group("tz") == "Z" else match.group("tz")
    frac = (match.group("frac") or "0")[:6].ljust(6, "0")
    moment = datetime.strptime(match.group("stamp") + "." + frac + offset.replace(":", ""), "%Y-%m-%dT%H:%M:%S.%f%z")
    return moment.astimezone(timezone.utc).timestamp(), line[match.end() :]  # noqa: UP017 -- Python 3.8 on the VM


def scan_logs(lines, keep=5, since=None):
    """What the container's log says about tracing.

    lines: `docker logs --timestamps` lines, oldest first. Returns kept (the last `keep` tracing
    lines, verbatim), errors ([{at, reason, line}] every classified exporter error), errors_since
    (those at or after `since`, an epoch), app_service/app_endpoint (the app's start line) and
    tracing_off (the line that says so).
    """
    kept, errors = [], []
    found = {"app_service": None, "app_endpoint": None, "tracing_off": None}
    for raw in lines:
        at, text = split_timestamp(raw.rstrip("\n"))
        start = APP_START_LINE.search(text)
        if start:
            found.update(app_service=start.group("service"), app_endpoint=start.group("endpoint"), tracing_off=None)
        if TRACING_OFF_LINE.search(text):
            found["tracing_off"] = text.strip()
        if not TRACING_LINE.search(text):
            continue
        kept.append(raw.rstrip("\n"))
        reason = classify_log_line(text)
        if SUMMARY_LINE.search(text):
            # The SDK's last word after its retries: the "Transient error" lines before it name the
            # cause. Alone, the only attempt used up the whole export timeout.
            if errors and (at is None or errors[-1]["at"] is None or at - errors[-1]["at"] <= SUMMARY_WINDOW_S):
                continue
            reason = "export_timeout"
        if reason:
            errors.append({"at": at, "reason": reason, "line": text.strip()})
    since_trigger = [e for e in errors if since is not None and e["at"] is not None and e["at"] >= since]
    return dict(found, kept=kept[-keep:] if keep else [], errors=errors, errors_since=since_trigger)


# --- the probe from inside the container -----------------------------------------------------------

PROBE_NETWORK_OUTCOMES = {
    "dns_failed": "export_dns",
    "refused": "export_refused",
    "unreachable": "export_unreachable",
    "timeout": "export_timeout",
}
PROBE_TLS_OUTCOMES = {
    "tls_verify": "export_tls",
    "tls_error": "export_tls",
    "ca_unreadable": "export_tls",
    "not_tls": "export_not_tls",
}


def classify_probe(probe):
    """The reason a probe result stands for: None when the endpoint took the export like an OTLP
    receiver, "" when the probe says nothing (it did not run or failed itself)."""
    if not probe or not probe.get("ran"):
        return ""
    outcome = probe.get("outcome")
    if outcome in PROBE_NETWORK_OUTCOMES:
        return PROBE_NETWORK_OUTCOMES[outcome]
    if outcome in PROBE_TLS_OUTCOMES:
        return PROBE_TLS_OUTCOMES[outcome]
    if outcome == "no_response":
        return "export_http_error"
    if outcome != "http":
        return ""
    status = probe.get("status") or 0
    content_type = (probe.get("content_type") or "").lower()
    if 200 <= status < 300:
        return "export_not_otlp" if content_type.startswith("text/html") else None
    if 300 <= status < 400:
        return "export_redirect"
    if status == 404:
        return "export_http_404"
    return "export_http_error"


def is_network_failure(reason):
    """A failure Jaeger being down would also explain: worth asking its query API once."""
    return reason in PROBE_NETWORK_OUTCOMES.values()
