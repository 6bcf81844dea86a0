# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP to Jaeger's query service and the two API adapters (stable v3 and the internal /api/).

Only ansible.module_utils.urls does HTTP; jaeger.http_errors says which hop a failure belongs to
(network, TLS, a login, authentication or Jaeger itself). Redirects are never followed: the one a query API
behind a login sends leads into the identity provider's pages, whose HTML would read as "not Jaeger".

The TLS settings (an ssl context from urls.make_context) are built once per Client, i.e. once per
module run, and every request reuses them: loading the system CA store costs ~20 ms of CPU, and
open_url would pay that on every request -- serialised by the GIL across bulk mode's threads.
"""

from __future__ import annotations

import ssl
import urllib.error
from http.cookiejar import CookieJar
from urllib.parse import quote, urlencode, urlsplit

from ansible.module_utils.urls import Request, make_context

from .http_errors import TRANSPORT_ERRORS, http_error, is_login_page, login_answer, redirect_error, transport_error
from .model import JaegerError, go_duration, loads, rfc3339, snippet, unexpected
from .parse import v1_names, v1_traces, v3_error, v3_operations, v3_services, v3_traces

USER_AGENT = "ansible-jaeger_trace"


def check_url(url, name="url"):
    """A base URL (the query API's, or the UI's), without a trailing slash; JaegerError(bad_parameter) when unusable."""
    text = (url or "").strip().rstrip("/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as exc:
        raise JaegerError("bad_parameter", f"{name}: {url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JaegerError("bad_parameter", f"{name}: {url!r} must look like http://jaeger.example:16686")
    return text


def credentials_sent(base_url, headers, bearer_token):
    """What a request carries to log in, for the messages: a login answered to it means they were refused."""
    if bearer_token:
        return "bearer_token"
    if headers:
        # Documented as secret: such headers usually carry credentials (a cookie, an API key).
        return "the credentials in headers"
    if urlsplit(base_url).username is not None:
        return "the url's credentials"
    return ""


def check_headers(headers, name="headers"):
    """Header values as text HTTP can carry; otherwise http.client fails deep inside urls."""
    out = {}
    for key, value in headers.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(key, str) or not isinstance(value, str):
            raise JaegerError("bad_parameter", f"{name}: {key!r} must have a text value")
        try:
            (key + value).encode("latin-1")
        except UnicodeEncodeError:
            raise JaegerError("bad_parameter", f"{name}: {key!r} must be plain (latin-1) text") from None
        if any(c in key + value for c in "\r\n\0") or not key.strip():
            raise JaegerError("bad_parameter", f"{name}: {key!r} must be one line and have a name")
        out[key] = value
    return out


def tls_context(validate_certs=True, ca_path=None):
    """The one ssl context of a module run, as open_url would make it for every request.

    The CA file is loaded here, up front: a wrong path should not read as a network or TLS failure.
    """
    try:
        return make_context(cafile=ca_path, validate_certs=validate_certs)
    except (OSError, ssl.SSLError, ValueError) as exc:
        if ca_path:
            raise JaegerError("bad_parameter", f"ca_path: cannot load {ca_path!r} ({snippet(str(exc), 80)})") from None
        raise JaegerError("tls_failed", f"cannot set up TLS ({snippet(str(exc), 120)})", error=str(exc)) from None


class Client:
    """GET + JSON with the hops told apart, through one urls.Request holding the TLS context.

    make_context and Request are looked up when the Client is made, so tests can patch them.
    """

    def __init__(self, base_url, headers=None, bearer_token=None, validate_certs=True, ca_path=None, timeout=10):
        self.base_url = check_url(base_url)
        self.headers = {"Accept": "application/json"}
        self.headers.update(check_headers(headers or {}))
        self.credentials = credentials_sent(self.base_url, headers, bearer_token)
        if bearer_token:
            self.headers.update(check_headers({"Authorization": "Bearer " + bearer_token}, "bearer_token"))
        self.validate_certs = validate_certs
        self.ca_path = ca_path or None
        self.timeout = timeout
        self.tls = tls_context(validate_certs, self.ca_path)
        # Request only reads its settings, so the threads of bulk mode can share it. With context
        # set, urls ignores validate_certs/ca_path; they are passed for whoever reads the Request.
        self.request = Request(
            headers=self.headers,
            timeout=timeout,
            validate_certs=validate_certs,
            ca_path=self.ca_path,
            http_agent=USER_AGENT,
            context=self.tls,
            follow_redirects="none",
        )

    def url(self, path, params=None):
        query = ("?" + urlencode(params, quote_via=quote)) if params else ""
        return self.base_url + path + query

    def get(self, path, params=None, accept=()):
        """(status, body bytes) for 2xx and for the statuses in `accept`; JaegerError otherwise."""
        url = self.url(path, params)
        try:
            # A fresh cookie jar per request, as open_url had: requests stay independent.
            resp = self.request.open("GET", url, cookies=CookieJar())
            try:
                status, body = resp.getcode() or 200, resp.read()
                content_type = resp.headers.get("Content-Type", "")
            finally:
                resp.close()
        except urllib.error.HTTPError as exc:
            body = _read_error_body(exc)
            if exc.code in accept:
                return exc.code, body
            if 300 <= exc.code < 400:
                location = exc.headers.get("Location") if exc.headers is not None else None
                raise redirect_error(self.base_url, exc.code, url, location, path, self.credentials) from None
            raise http_error(self.base_url, exc.code, path, _error_detail(body), self.credentials) from None
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.base_url, self.timeout) from None
        if is_login_page(content_type, body):
            answer = f"HTTP {status}, a login page"
            raise login_answer(self.base_url, path, answer, self.credentials, http_status=status)
        return status, body


def _read_error_body(exc):
    try:
        return exc.read() or b""
    except Exception:  # noqa: BLE001 -- the body only decorates the message
        return b""


def _error_detail(body):
    """Jaeger's own words from an error body (either API's shape), else the start of the body."""
    try:
        doc = loads(body, "")
    except JaegerError:
        return snippet(body) or "empty body"
    err = v3_error(doc)
    if err:
        return snippet(err[1], 200)
    if isinstance(doc, dict) and isinstance(doc.get("errors"), list):
        msgs = [str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in doc["errors"]]
        return snippet("; ".join(msgs), 200)
    return snippet(body)


class Query:
    """One trace search. Times in epoch microseconds, durations in ms (None: no bound)."""

    def __init__(self, service, operation=None, start_us=0, end_us=0, min_ms=None, max_ms=None, limit=100):
        self.service = service
        self.operation = operation
        self.start_us = start_us
        self.end_us = end_us
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.limit = limit


class V3Api:
    """Jaeger v2's stable API: /api/v3/... answering OTLP JSON."""

    name = "v3"

    def __init__(self, client):
        self.client = client

    def _json(self, path, params=None, accept=()):
        status, body = self.client.get(path, params, accept)
        return status, loads(body, path)

    def services(self):
        return v3_services(self._json("/api/v3/services")[1], "/api/v3/services")

    def operations(self, service):
        return v3_operations(self._json("/api/v3/operations", {"service": service})[1], "/api/v3/operations")

    def search(self, q):
        params = {"query.service_name": q.service}
        if q.operation:
            params["query.operation_name"] = q.operation
        params["query.start_time_min"] = rfc3339(q.start_us)
        params["query.start_time_max"] = rfc3339(q.end_us)
        if q.min_ms is not None:
            params["query.duration_min"] = go_duration(q.min_ms)
        if q.max_ms is not None:
            params["query.duration_max"] = go_duration(q.max_ms)
        # Jaeger <= 2.13 reads num_traces and answers 500 "search depth must be greater than 0" without it;
        # the current API definition (jaeger-idl v0.14, query_service.proto field 8) calls it search_depth.
        params["query.num_traces"] = q.limit
        params["query.search_depth"] = q.limit
        status, doc = self._json("/api/v3/traces", params, accept=(404,))
        if status == 404:
            # "No traces found" is a 404 with Jaeger's JSON error; any other 404 is not Jaeger.
            if v3_error(doc):
                return []
            raise unexpected("/api/v3/traces", f"404 without Jaeger's error body: {snippet(str(doc))}")
        return v3_traces(doc, "/api/v3/traces")


class V1Api:
    """The internal JSON API the Jaeger UI uses (/api/...), present in Jaeger v1 and v2."""

    name = "v1"

    def __init__(self, client):
        self.client = client

    def _json(self, path, params=None):
        return loads(self.client.get(path, params)[1], path)

    def services(self):
        return v1_names(self._json("/api/services"), "/api/services")

    def operations(self, service):
        path = "/api/services/" + quote(service, safe="") + "/operations"
        return v1_names(self._json(path), "/api/services/{service}/operations")

    def search(self, q):
        params = {"service": q.service}
        if q.operation:
            params["operation"] = q.operation
        params["start"] = int(q.start_us)
        params["end"] = int(q.end_us)
        if q.min_ms is not None:
            params["minDuration"] = go_duration(q.min_ms)
        if q.max_ms is not None:
            params["maxDuration"] = go_duration(q.max_ms)
        params["limit"] = q.limit
        return v1_traces(self._json("/api/traces", params), "/api/traces")


APIS = {"v3": V3Api, "v1": V1Api}


def detect_api(client, preferred="auto"):
    """The adapter to use. auto: v3 when /api/v3/services answers like v3, else the internal API.

    The probe doubles as the reachability check, so auth/TLS/network failures surface here, once.
    """
    if preferred in APIS:
        api = APIS[preferred](client)
        try:
            api.services()
        except JaegerError as exc:
            if _not_this_api(exc):
                other = "v1" if preferred == "v3" else "v3"
                raise JaegerError(
                    exc.reason, f"api: {preferred} -- {exc.msg}; try api: {other} or auto", **exc.context
                ) from None
            raise
        return api
    tried = []
    for name in ("v3", "v1"):
        api = APIS[name](client)
        try:
            api.services()
            return api
        except JaegerError as exc:
            # Only "this is not that API" moves on; network, TLS, login and auth failures and a redirect go up
            # as they are (jaeger_trace.connect asks again on those that may clear: unreachable, 502/503/504).
            if not _not_this_api(exc):
                raise
            tried.append(f"{name}: {exc.msg}")
    raise JaegerError("unexpected_response", f"no Jaeger query API at url {client.base_url} ({'; '.join(tried)})")


def _not_this_api(exc):
    """The answer says "not this API" (another one may be there), rather than naming another problem."""
    return exc.reason in ("unexpected_response", "http_error") and not exc.retry and "location" not in exc.context
