"""Every network hop's failure, told apart, against real local sockets (HTTP and TLS servers)."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from ansible.module_utils.jaeger import query as jaeger_query
from ansible.module_utils.jaeger.model import JaegerError
from ansible.module_utils.jaeger.query import Client, V1Api, V3Api, detect_api
from jaeger_replay import body, find, load_exchanges, load_scenario

V3_SERVICES = find("scenario", "v3", "/api/v3/services")
V1_SERVICES = find("scenario", "v1", "/api/services")
HTML = find("raw", "html", "/api/v3/no-such-endpoint")
# The service names the recorded answer lists.
SERVICE_NAMES = sorted(load_scenario()["services"])


def answer(ex):
    return ex["status"], ex["content_type"], body(ex)


class Server:
    """A real HTTP(S) server on 127.0.0.1; routes map a path to (status, content type, body)."""

    def __init__(self, routes, tls_context=None):
        self.routes = routes
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 -- http.server's naming
                server.requests.append((self.path, dict(self.headers)))
                path = self.path.split("?")[0]
                status, ctype, data = server.routes.get(path, (404, "text/plain", b"404 page not found"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def error_of(fn):
    with pytest.raises(JaegerError) as err:
        fn()
    assert "\n" not in err.value.msg
    return err.value


def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = error_of(lambda: Client(f"http://127.0.0.1:{port}").get("/api/services"))
    assert (err.reason, err.context["error"], err.retry) == ("unreachable", "refused", True)
    assert f"http://127.0.0.1:{port}" in err.msg and "connection refused" in err.msg and "url" in err.msg


def test_timeout_when_nobody_answers():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the TCP connection, never answers
        err = error_of(lambda: Client(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=0.3).get("/api/services"))
    assert (err.reason, err.context["error"]) == ("unreachable", "timeout")
    assert "no answer within 0.3s" in err.msg


def test_dns_failure():
    failure = urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    with mock.patch.object(jaeger_query, "Request") as request:
        request.return_value.open.side_effect = failure
        err = error_of(lambda: Client("http://jaeger.invalid:16686").get("/api/services"))
    request.return_value.open.assert_called_once()
    assert (err.reason, err.context["error"]) == ("unreachable", "dns")
    assert "cannot resolve host 'jaeger.invalid'" in err.msg


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("token", [None, "s3cret"])
def test_401_and_403_are_a_login_without_a_token_and_a_refusal_with_one(status, token):
    with Server({"/api/v3/services": (status, "text/plain", b"denied")}) as srv:
        err = error_of(lambda: V3Api(Client(srv.url, bearer_token=token)).services())
    assert err.reason == ("auth_failed" if token else "login_required")
    assert err.context["http_status"] == status
    assert f"HTTP {status}" in err.msg
    assert ("rejected bearer_token" if token else "set bearer_token (or headers)") in err.msg
    assert "s3cret" not in err.msg


def test_bearer_token_and_headers_are_sent():
    routes = {"/api/v3/services": answer(V3_SERVICES)}
    with Server(routes) as srv:
        client = Client(srv.url, headers={"X-Course": "lab10", "Authorization": "Basic eA=="}, bearer_token="tok")  # noqa: S106 -- a test value
        V3Api(client).services()
    _, headers = srv.requests[0]
    assert headers["Authorization"] == "Bearer tok"  # bearer_token wins over headers
    assert headers["X-Course"] == "lab10"
    assert headers["User-Agent"] == jaeger_query.USER_AGENT


def test_jaegers_500_is_final_and_quoted():
    raw = next(ex for ex in load_exchanges() if ex["stage"] == "raw" and ex["status"] == 500)
    with Server({"/api/v3/services": answer(raw)}) as srv:
        err = error_of(lambda: V3Api(Client(srv.url)).services())
    assert (err.reason, err.retry, err.context["http_status"]) == ("http_error", False, 500)
    assert "search depth" in err.msg


@pytest.mark.parametrize("status", [502, 503, 504])
def test_proxy_errors_are_worth_retrying(status):
    with Server({"/api/services": (status, "text/html", b"<h1>Bad gateway</h1>")}) as srv:
        err = error_of(lambda: V1Api(Client(srv.url)).services())
    assert (err.reason, err.retry) == ("http_error", True)
    assert "Bad gateway" in err.msg


def test_auto_prefers_v3():
    routes = {"/api/v3/services": answer(V3_SERVICES), "/api/services": answer(V1_SERVICES)}
    with Server(routes) as srv:
        assert detect_api(Client(srv.url)).name == "v3"
    assert [p for p, _ in srv.requests] == ["/api/v3/services"]


@pytest.mark.parametrize("v3_answer", [answer(HTML), (404, "text/plain", b"404 page not found")])
def test_auto_falls_back_to_v1_when_v3_is_not_there(v3_answer):
    routes = {"/api/v3/services": v3_answer, "/api/services": answer(V1_SERVICES)}
    with Server(routes) as srv:
        assert detect_api(Client(srv.url)).name == "v1"


def test_auto_with_no_jaeger_at_all():
    routes = {"/api/v3/services": answer(HTML), "/api/services": answer(HTML)}
    with Server(routes) as srv:
        err = error_of(lambda: detect_api(Client(srv.url)))
    assert err.reason == "unexpected_response"
    assert f"no Jaeger query API at url {srv.url}" in err.msg


def test_explicit_api_that_is_missing_suggests_the_other():
    with Server({"/api/v3/services": answer(HTML)}) as srv:
        err = error_of(lambda: detect_api(Client(srv.url), "v3"))
    assert err.reason == "unexpected_response"
    assert "api: v3" in err.msg and "try api: v1" in err.msg


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A private CA (like the course's Vault PKI) and a server certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject, issuer, key, signing_key, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = cert("lab10 test CA", "lab10 test CA", ca_key, ca_key, True)
    srv_cert = cert("127.0.0.1", "lab10 test CA", srv_key, ca_key, False)
    d = tmp_path_factory.mktemp("tls")
    pem = serialization.Encoding.PEM
    (d / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (d / "server.pem").write_bytes(srv_cert.public_bytes(pem))
    (d / "server.key").write_bytes(
        srv_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "server.pem", d / "server.key")
    return {"ca": str(d / "ca.pem"), "context": ctx}


def test_tls_with_an_unknown_ca_names_ca_path(tls):
    with Server({"/api/v3/services": answer(V3_SERVICES)}, tls["context"]) as srv:
        err = error_of(lambda: V3Api(Client(srv.url)).services())
    assert err.reason == "tls_failed"
    assert "certificate" in err.msg and "ca_path" in err.msg and "validate_certs" in err.msg


def test_tls_with_the_private_ca_works(tls):
    with Server({"/api/v3/services": answer(V3_SERVICES)}, tls["context"]) as srv:
        assert sorted(V3Api(Client(srv.url, ca_path=tls["ca"])).services()) == SERVICE_NAMES


def test_tls_without_validation_works(tls):
    with Server({"/api/v3/services": answer(V3_SERVICES)}, tls["context"]) as srv:
        assert sorted(V3Api(Client(srv.url, validate_certs=False)).services()) == SERVICE_NAMES


def test_https_to_a_plain_http_port(tls):
    with Server({"/api/v3/services": answer(V3_SERVICES)}) as srv:
        err = error_of(lambda: Client(srv.url.replace("http:", "https:")).get("/api/v3/services"))
    assert err.reason == "tls_failed"
    assert "scheme" in err.msg


def test_tls_with_another_ca_in_ca_path_fails(tls):
    """A loadable ca_path with the wrong CA: a TLS failure that names ca_path, not a parameter error."""
    import certifi

    with Server({"/api/v3/services": answer(V3_SERVICES)}, tls["context"]) as srv:
        err = error_of(lambda: V3Api(Client(srv.url, ca_path=certifi.where())).services())
    assert err.reason == "tls_failed" and "ca_path" in err.msg


def test_tls_checks_the_host_name(tls):
    with Server({"/api/v3/services": answer(V3_SERVICES)}, tls["context"]) as srv:
        url = srv.url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1 only
        err = error_of(lambda: V3Api(Client(url, ca_path=tls["ca"])).services())
        assert sorted(V3Api(Client(url, validate_certs=False)).services()) == SERVICE_NAMES
    assert err.reason == "tls_failed" and "localhost" in err.msg


@pytest.mark.parametrize("settings", ["ca_path", "validate_certs_false"])
def test_one_client_serves_many_tls_requests_from_threads(tls, settings):
    """Bulk mode's shape: one Client (one TLS context) shared by threads, each request its own connection."""
    kwargs = {"ca_path": tls["ca"]} if settings == "ca_path" else {"validate_certs": False}
    with Server({"/api/v3/services": answer(V3_SERVICES)}, tls["context"]) as srv:
        client = Client(srv.url, bearer_token="tok", **kwargs)  # noqa: S106 -- a test value
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: V3Api(client).services(), range(24)))
    assert [sorted(a) for a in answers] == [SERVICE_NAMES] * 24
    assert len(srv.requests) == 24
    assert {headers["Authorization"] for _, headers in srv.requests} == {"Bearer tok"}
