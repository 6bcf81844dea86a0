# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe the doctor runs inside the app's container with the app's own Python.

PROBE is a standalone script (stdlib only, Python 3.6+, any image): it POSTs an empty OTLP/HTTP
protobuf export (zero bytes: an ExportTraceServiceRequest without spans) to the endpoint it is
given, step by step, and prints one JSON object saying where it stopped: DNS, connect, TLS or the
HTTP answer. It runs under `docker exec`, so it sees the container's environment, files and user:
the OTLP headers are read from there and sent, but only their names are printed.
"""

from __future__ import annotations

PROBE = r"""
import base64, errno, json, os, socket, ssl, sys, time
import http.client
from urllib.parse import unquote, urlsplit
try:
    from urllib.request import getproxies, proxy_bypass
except ImportError:
    getproxies = proxy_bypass = None

NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure", "packet length too long",
           "unknown protocol", "http request")
UNREACHABLE = (errno.EHOSTUNREACH, errno.ENETUNREACH)


def text(exc):
    return ("%s: %s" % (type(exc).__name__, exc))[:300]


def main():
    args = json.loads(sys.argv[1])
    out = {"python": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3], "url": args["url"],
           "timeout": args["timeout"], "outcome": "error", "phase": "setup"}
    started = time.time()
    try:
        run(args, out)
    except Exception as exc:
        out["detail"] = text(exc)
    out["ms"] = int((time.time() - started) * 1000)
    print(json.dumps(out))


def stop(out, phase, outcome, exc):
    out.update(phase=phase, outcome=outcome, detail=text(exc))


def run(args, out):
    timeout = float(args["timeout"])
    parts = urlsplit(args["url"])
    https = parts.scheme == "https"
    host, port = parts.hostname, parts.port or (443 if https else 80)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    headers = {"Content-Type": "application/x-protobuf", "User-Agent": "lab10-otel-doctor"}
    raw = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS") or ""
    for item in raw.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            headers[unquote(name.strip())] = unquote(value.strip())
    if parts.username is not None:
        # requests (the SDK's session) sends a URL's credentials as Basic auth, over any header.
        pair = "%s:%s" % (unquote(parts.username), unquote(parts.password or ""))
        for name in [h for h in headers if h.lower() == "authorization"]:
            del headers[name]
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("latin1")).decode("ascii")
    out["header_names"] = sorted(h for h in headers if h not in ("Content-Type", "User-Agent"))
    if getproxies is not None:
        proxy = getproxies().get(parts.scheme)
        if proxy and not proxy_bypass(host):
            out["proxy"] = proxy.rsplit("@", 1)[-1]
    context = None
    if https:
        ca, out["ca_source"] = args.get("ca"), args.get("ca_source")
        if not ca:
            try:
                import certifi
                ca = certifi.where()
            except ImportError:
                out["ca_source"] = "the system's CAs (certifi is not installed)"
        out["ca"] = ca
        try:
            context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
            if args.get("client_cert"):
                context.load_cert_chain(args["client_cert"], args.get("client_key") or None)
        except (OSError, ssl.SSLError) as exc:
            return stop(out, "setup", "ca_unreadable", exc)
    out["phase"] = "dns"
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return stop(out, "dns", "dns_failed", exc)
    out["addresses"] = sorted(set(info[4][0] for info in infos))
    sock, failure = None, None
    for family, kind, proto, _, address in infos:
        candidate = socket.socket(family, kind, proto)
        candidate.settimeout(timeout)
        try:
            candidate.connect(address)
            sock = candidate
            break
        except socket.timeout as exc:
            failure = ("timeout", exc)
        except ConnectionRefusedError as exc:
            failure = ("refused", exc)
        except OSError as exc:
            failure = ("unreachable" if exc.errno in UNREACHABLE else "connect_error", exc)
        candidate.close()
    if sock is None:
        return stop(out, "connect", failure[0], failure[1])
    if https:
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except socket.timeout as exc:
            return stop(out, "tls", "timeout", exc)
        except ssl.SSLError as exc:
            verify = getattr(ssl, "SSLCertVerificationError", ())
            if verify and isinstance(exc, verify) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
                return stop(out, "tls", "tls_verify", exc)
            outcome = "not_tls" if any(mark in str(exc) for mark in NOT_TLS) else "tls_error"
            return stop(out, "tls", outcome, exc)
        except OSError as exc:
            return stop(out, "tls", "tls_error", exc)
        out["tls"] = sock.version()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.sock = sock
    try:
        connection.request("POST", path, body=b"", headers=headers)
        response = connection.getresponse()
        body = response.read(200)
    except socket.timeout as exc:
        return stop(out, "http", "timeout", exc)
    except (OSError, http.client.HTTPException) as exc:
        return stop(out, "http", "no_response", exc)
    finally:
        connection.close()
    out.update(phase="http", outcome="http", status=response.status, reason=response.reason,
               content_type=response.getheader("Content-Type") or "", location=response.getheader("Location"),
               detail=body.decode("utf-8", "replace").strip()[:120])


main()
"""
