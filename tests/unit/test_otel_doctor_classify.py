"""The doctor's pure helpers: the SDK's resolution rules, the environment comparison, log lines, probes."""

from __future__ import annotations

import pytest
from ansible.module_utils.doctor.classify import (
    classify_probe,
    effective_service_name,
    env_differences,
    env_list_to_dict,
    reference_time,
    resolve_ca_bundle,
    resolve_client_cert,
    resolve_traces_endpoint,
    scan_logs,
    shown_value,
    split_endpoint,
    split_timestamp,
)


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://jaeger.sysadm.ee"}, "https://jaeger.sysadm.ee/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://jaeger.sysadm.ee/"}, "https://jaeger.sysadm.ee/v1/traces"),
        # removesuffix("/") drops one slash only, like the SDK.
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4318//"}, "http://h:4318//v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:4318/otlp"}, "http://h:4318/otlp/v1/traces"),
        # The signal's variable is used verbatim and wins.
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://b"},
            "http://t:4318/custom",
        ),
        # Empty counts as unset.
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://b"}, "http://b/v1/traces"),
        ({}, "http://localhost:4318/v1/traces"),
    ],
)
def test_traces_endpoint_is_resolved_like_the_sdk(env, url):
    assert resolve_traces_endpoint(env)[0] == url


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (None, "certifi")),
        ({"OTEL_EXPORTER_OTLP_CERTIFICATE": "/c.pem"}, ("/c.pem", "OTEL_EXPORTER_OTLP_CERTIFICATE")),
        (
            {"OTEL_EXPORTER_OTLP_CERTIFICATE": "/c.pem", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": "/t.pem"},
            ("/t.pem", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"),
        ),
        # requests' environment settings override the session's verify.
        (
            {"OTEL_EXPORTER_OTLP_CERTIFICATE": "/c.pem", "REQUESTS_CA_BUNDLE": "/r.pem"},
            ("/r.pem", "REQUESTS_CA_BUNDLE"),
        ),
        ({"CURL_CA_BUNDLE": "/curl.pem"}, ("/curl.pem", "CURL_CA_BUNDLE")),
    ],
)
def test_ca_bundle_is_the_one_the_exporter_verifies_with(env, expected):
    assert resolve_ca_bundle(env) == expected


def test_client_certificate_prefers_the_traces_variables():
    env = {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/a", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": "/b"}
    assert resolve_client_cert(env) == ("/b", None)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"OTEL_SERVICE_NAME": "inventory.vm.sysadm.ee"}, "inventory.vm.sysadm.ee"),
        ({"OTEL_SERVICE_NAME": "a", "OTEL_RESOURCE_ATTRIBUTES": "service.name=b"}, "a"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=lab,service.name=inv%2Ex"}, "inv.x"),
        ({"OTEL_SERVICE_NAME": " "}, None),
        ({}, None),
    ],
)
def test_service_name_as_the_sdk_reads_it(env, name):
    assert effective_service_name(env) == name


def test_env_differences_name_changed_missing_and_removed_variables():
    compose = {"A": "1", "B": "2", "C": "3", "UNSET": None, "SAME": "x"}
    container = {"A": "1", "B": "3", "SAME": "x", "OLD": "y", "PATH": "/bin"}
    image = {"PATH": "/bin"}
    assert env_differences(compose, container, image) == [("B", "2", "3"), ("C", "3", None), ("OLD", None, "y")]


def test_env_list_keeps_values_with_equal_signs():
    assert env_list_to_dict(["A=b=c", "EMPTY="]) == {"A": "b=c", "EMPTY": ""}


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("OTEL_SERVICE_NAME", "inv", "inv"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer x", "(value hidden)"),
        ("INVENTORY_API_TOKEN", "secret", "(value hidden)"),
        ("OTEL_SERVICE_NAME", None, "(not set)"),
    ],
)
def test_only_otel_settings_are_shown(key, value, shown):
    assert shown_value(key, value) == shown


def test_an_endpoint_variable_is_shown_without_its_credentials():
    assert shown_value("OTEL_EXPORTER_OTLP_ENDPOINT", "https://u:p@j.example") == "https://***@j.example"


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://jaeger.sysadm.ee/v1/traces", ("https", "jaeger.sysadm.ee", 443)),
        ("http://10.0.0.1:4318/v1/traces", ("http", "10.0.0.1", 4318)),
        ("http://[::1]:4318/v1/traces", ("http", "::1", 4318)),
        ("http://h:notaport/", ("", "", None)),
    ],
)
def test_split_endpoint(url, parts):
    found = split_endpoint(url)
    assert (found["scheme"], found["host"], found["port"]) == parts


def test_docker_timestamps_are_read_to_the_microsecond():
    at, text = split_timestamp("2026-11-25T13:14:30.698123456Z 2026-11-25 13:14:30,698 [8] WARNING x")
    assert (round(at, 6), text) == (1795612470.698123, "2026-11-25 13:14:30,698 [8] WARNING x")
    assert split_timestamp("no stamp") == (None, "no stamp")


DATE = "Wed, 25 Nov 2026 13:14:30 GMT"  # 1795612470


@pytest.mark.parametrize(
    ("date", "elapsed", "epoch"),
    [
        # Both whole seconds, truncated: the request began after Date - elapsed - 1.
        (DATE, 0, 1795612469),
        (DATE, 2, 1795612467),
        ("Wed, 25 Nov 2026 15:14:30 +0200", 0, 1795612469),
        # Unreadable or absent: the controller's clock.
        ("yesterday", 0, 1000.5),
        (None, 0, 1000.5),
    ],
)
def test_the_request_is_dated_by_the_apps_clock(date, elapsed, epoch):
    found = reference_time(date, elapsed, 1000.5)
    assert found["epoch"] == epoch
    assert ("(the app's clock)" in found["source"]) is (epoch != 1000.5)


STAMP = "2026-11-25T13:15:{:02d}.000000000Z "
SUMMARY = STAMP + "ERROR exporter: Failed to export spans batch due to timeout, max retries or shutdown."
TRANSIENT = STAMP + "WARNING exporter: Transient error ... [Errno 111] Connection refused ..."


def test_the_sdks_summary_line_keeps_the_cause_of_the_retries_before_it():
    found = scan_logs([TRANSIENT.format(40), SUMMARY.format(43)])
    assert [e["reason"] for e in found["errors"]] == ["export_refused"]


def test_a_summary_line_alone_is_a_timeout():
    assert [e["reason"] for e in scan_logs([SUMMARY.format(43)])["errors"]] == ["export_timeout"]


@pytest.mark.parametrize(
    ("lines", "reasons"),
    [
        # Within the export timeout (SUMMARY_WINDOW_S) of the transient error: its summary.
        ([TRANSIENT.format(0), SUMMARY.format(15)], ["export_refused"]),
        # Longer after: another export that used up its whole timeout.
        ([TRANSIENT.format(0), SUMMARY.format(16)], ["export_refused", "export_timeout"]),
        # Without timestamps nothing tells them apart: the summary follows its cause.
        ([TRANSIENT.format(0)[31:], SUMMARY.format(59)[31:]], ["export_refused"]),
    ],
)
def test_a_summary_line_belongs_to_the_error_before_it_only_within_the_export_timeout(lines, reasons):
    assert [e["reason"] for e in scan_logs(lines)["errors"]] == reasons


def test_errors_since_the_request_are_told_apart():
    at, _ = split_timestamp(TRANSIENT.format(41))
    found = scan_logs([TRANSIENT.format(40), TRANSIENT.format(50)], since=at)
    assert len(found["errors"]) == 2 and len(found["errors_since"]) == 1


def test_the_apps_start_line_names_service_and_endpoint_and_clears_tracing_off():
    lines = [
        "2026-11-25T13:00:00.0Z ERROR tracing: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported. Tracing is OFF",
        "2026-11-25T13:01:00.0Z INFO tracing: service inv.x exports to http://j:4318/v1/traces (OTLP http/protobuf)",
    ]
    assert scan_logs(lines[:1])["tracing_off"]
    found = scan_logs(lines)
    assert (found["app_service"], found["app_endpoint"], found["tracing_off"]) == (
        "inv.x",
        "http://j:4318/v1/traces",
        None,
    )


def test_only_tracing_lines_are_kept_and_only_the_newest():
    lines = [f"2026-11-25T13:00:{i:02d}.0Z export line {i}" for i in range(8)] + ["GET /health 200"]
    assert scan_logs(lines, keep=3)["kept"] == lines[5:8]


@pytest.mark.parametrize(
    ("probe", "reason"),
    [
        ({"ran": True, "outcome": "http", "status": 200, "content_type": "application/x-protobuf"}, None),
        ({"ran": True, "outcome": "http", "status": 200, "content_type": "text/html"}, "export_not_otlp"),
        ({"ran": True, "outcome": "http", "status": 301, "location": "https://j/v1/traces"}, "export_redirect"),
        ({"ran": True, "outcome": "http", "status": 404}, "export_http_404"),
        ({"ran": True, "outcome": "http", "status": 401}, "export_http_error"),
        ({"ran": True, "outcome": "no_response"}, "export_http_error"),
        ({"ran": True, "outcome": "ca_unreadable"}, "export_tls"),
        ({"ran": True, "outcome": "unreachable"}, "export_unreachable"),
        ({"ran": True, "outcome": "error"}, ""),
        ({"ran": False, "error": "no interpreter ran it"}, ""),
        (None, ""),
    ],
)
def test_probe_outcomes(probe, reason):
    assert classify_probe(probe) == reason
