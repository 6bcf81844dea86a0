"""The probe script for real: this Python runs it, as `docker exec` would, against servers on loopback."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import ssl
import subprocess
import sys
import threading

import pytest
from ansible.module_utils.doctor.probe import PROBE
from selfsigned import self_signed


def probe(url, env=None, **args):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps({"url": url, "timeout": 2, **args})],
        capture_output=True,
        text=True,
        env=env or {},
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


class Receiver(http.server.BaseHTTPRequestHandler):
    status, content_type, seen = 200, "application/x-protobuf", []

    def do_POST(self):
        Receiver.seen.append((self.path, self.headers, self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        if self.status == 302:
            self.send_header("Location", "https://otlp.example/v1/traces")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(request, tmp_path):
    """A loopback HTTP server; request.param: (status, content type, tls)."""
    status, content_type, tls = getattr(request, "param", (200, "application/x-protobuf", False))
    handler = type("Handler", (Receiver,), {"status": status, "content_type": content_type})
    Receiver.seen = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    ca = None
    if tls:
        ca = write_self_signed(tmp_path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    yield f"{scheme}://localhost:{httpd.server_address[1]}", ca
    httpd.shutdown()
    httpd.server_close()


def write_self_signed(directory):
    cert, key = self_signed("localhost")
    (directory / "cert.pem").write_text(cert)
    (directory / "key.pem").write_text(key)
    return str(directory / "cert.pem")


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_otlp_receiver_takes_an_empty_protobuf_export(server):
    url, _ = server
    result = probe(url + "/v1/traces")
    assert (result["outcome"], result["status"], result["content_type"]) == ("http", 200, "application/x-protobuf")
    path, headers, body = Receiver.seen[0]
    assert (path, headers["Content-Type"], body) == ("/v1/traces", "application/x-protobuf", b"")


def test_a_closed_port_is_refused_at_connect():
    result = probe(f"http://127.0.0.1:{closed_port()}/v1/traces")
    assert (result["phase"], result["outcome"]) == ("connect", "refused")


@pytest.mark.parametrize("server", [(404, "text/plain", False)], indirect=True)
def test_a_wrong_path_gives_its_http_status(server):
    result = probe(server[0] + "/otlp/v1/traces")
    assert (result["outcome"], result["status"]) == ("http", 404)


@pytest.mark.parametrize("server", [(302, "text/html", False)], indirect=True)
def test_a_redirect_is_reported_with_its_target(server):
    result = probe(server[0] + "/v1/traces")
    assert (result["status"], result["location"]) == (302, "https://otlp.example/v1/traces")


@pytest.mark.parametrize("server", [(200, "application/x-protobuf", True)], indirect=True)
def test_an_untrusted_certificate_fails_verification(server):
    result = probe(server[0] + "/v1/traces", ca_source="certifi")
    assert (result["phase"], result["outcome"], result["ca_source"]) == ("tls", "tls_verify", "certifi")
    assert "CERTIFICATE_VERIFY_FAILED" in result["detail"]


@pytest.mark.parametrize("server", [(200, "application/x-protobuf", True)], indirect=True)
def test_the_containers_ca_bundle_makes_it_trusted(server):
    url, ca = server
    result = probe(url + "/v1/traces", ca=ca, ca_source="OTEL_EXPORTER_OTLP_CERTIFICATE")
    assert (result["outcome"], result["status"], result["ca"]) == ("http", 200, ca)
    assert result["tls"].startswith("TLS")


@pytest.mark.parametrize("server", [(200, "application/x-protobuf", False)], indirect=True)
def test_https_to_a_plain_http_port_is_not_tls(server):
    result = probe(server[0].replace("http:", "https:") + "/v1/traces", ca_source="certifi")
    assert (result["phase"], result["outcome"]) == ("tls", "not_tls")


def test_an_unreadable_ca_bundle_stops_before_the_network():
    result = probe("https://127.0.0.1:1/v1/traces", ca="/nonexistent/ca.pem", ca_source="REQUESTS_CA_BUNDLE")
    assert (result["phase"], result["outcome"]) == ("setup", "ca_unreadable")


def test_otlp_headers_are_sent_but_only_their_names_printed(server):
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20s3cr3t,x-tenant=lab"}
    result = probe(server[0] + "/v1/traces", env=env)
    _, headers, _ = Receiver.seen[0]
    assert headers["authorization"] == "Bearer s3cr3t"
    assert result["header_names"] == ["authorization", "x-tenant"]
    assert "s3cr3t" not in json.dumps(result)


def test_a_urls_credentials_are_sent_as_basic_auth_over_a_header_like_requests_does(server):
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20other"}
    probe(server[0].replace("://", "://lab:s3cr%40t@") + "/v1/traces", env=env)
    _, headers, _ = Receiver.seen[0]
    assert headers.get_all("Authorization") == ["Basic " + base64.b64encode(b"lab:s3cr@t").decode()]


def test_the_traces_headers_variable_wins(server):
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=2"}
    assert probe(server[0] + "/v1/traces", env=env)["header_names"] == ["b"]


def test_a_proxy_that_applies_is_named_without_its_credentials(server):
    env = {"http_proxy": "http://user:pw@proxy.example:3128"}
    assert probe(server[0] + "/v1/traces", env=env)["proxy"] == "proxy.example:3128"
