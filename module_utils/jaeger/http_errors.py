# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A failed request to Jaeger's query API -> JaegerError with its reason: a transport exception, an HTTP
error status, a redirect, a login page. The HTTP layer (query) raises these; it never imports the layer
that explains a search (verdict), so the words about Jaeger's data stay above the transport.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import urllib.error
from urllib.parse import urljoin, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import SSLValidationError

from .model import JaegerError, snippet


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
