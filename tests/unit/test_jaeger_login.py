"""A query API behind a login (the course's Jaeger behind OIDC), on the test bed gate's recorded real answers.

Without a token the gate redirects to its login page, a wrong token gets 401, the right one passes. The client
never follows the redirect (it would end on the login page's HTML), says `login_required` with where it was sent,
and keeps `auth_failed` for credentials that were sent and refused.
"""

from __future__ import annotations

import json
from unittest import mock

import pytest
from ansible.module_utils.jaeger.http_errors import is_login_page, redirect_error
from ansible.module_utils.jaeger.model import JaegerError
from ansible.module_utils.jaeger.query import Client, V1Api, V3Api, detect_api
from ansible.module_utils.testing import patch_module_args
from ansible.modules import jaeger_trace
from gate_replay import gate_body, load_gate_scenario
from jaeger_replay import body, find
from login_replay import GateReplay, gate_exchange

SCENARIO = load_gate_scenario()
APIS = pytest.mark.parametrize(("api", "path"), [(V3Api, "/api/v3/services"), (V1Api, "/api/services")])


def error_of(fn):
    with pytest.raises(JaegerError) as err:
        fn()
    assert "\n" not in err.value.msg
    return err.value


# --- the HTTP layer on the gate's answers -----------------------------------------------------------


@APIS
def test_without_a_token_the_redirect_is_login_required_and_not_followed(api, path):
    with GateReplay() as gate:
        err = error_of(lambda: api(Client(gate.url)).services())
    assert err.reason == "login_required"
    assert (err.context["http_status"], err.context["location"]) == (302, f"{gate.url}/oauth2/start")
    assert err.context["login"] == f"HTTP 302, a redirect to {gate.url}/oauth2/start"
    assert f"wants a login: {path} answered HTTP 302" in err.msg and "set bearer_token" in err.msg
    # Never followed into the login page; its query (the login's state, this request's URI) is not shown.
    assert gate.requests == [(path, "none")]
    assert "rd=" not in err.msg


@APIS
def test_a_wrong_token_is_auth_failed(api, path):
    with GateReplay() as gate:
        err = error_of(lambda: api(Client(gate.url, bearer_token=SCENARIO["wrong_token"])).services())
    assert (err.reason, err.context["http_status"]) == ("auth_failed", 401)
    assert f"rejected bearer_token: {path} answered HTTP 401" in err.msg
    assert SCENARIO["wrong_token"] not in err.msg


@APIS
def test_the_right_token_passes(api, path):
    with GateReplay() as gate:
        services = api(Client(gate.url, bearer_token=SCENARIO["token"])).services()
    assert SCENARIO["service"] in services
    assert gate.requests == [(path, "bearer")]


def test_auto_detection_stops_at_the_login():
    """A login is no "this is not API v3": the internal API is not tried, the login is the answer."""
    with GateReplay() as gate:
        err = error_of(lambda: detect_api(Client(gate.url)))
    assert err.reason == "login_required"
    assert gate.requests == [("/api/v3/services", "none")]


@pytest.mark.parametrize(
    ("client", "words"),
    [
        ({"headers": {"Cookie": "_oauth2_proxy=expired"}}, "rejected the credentials in headers"),
        ({"url_userinfo": "student:pw@"}, "rejected the url's credentials"),
    ],
)
def test_a_login_answered_to_credentials_is_auth_failed(client, words):
    with GateReplay() as gate:
        url = gate.url.replace("//", "//" + client.get("url_userinfo", ""))
        err = error_of(lambda: V3Api(Client(url, headers=client.get("headers"))).services())
    assert err.reason == "auth_failed"
    assert words in err.msg and "HTTP 302, a redirect to http://127.0.0.1:" in err.msg
    assert "expired" not in err.msg and "pw@" not in err.context["location"]


@pytest.mark.parametrize("token", [None, SCENARIO["token"]])
def test_a_login_page_served_in_place_of_the_api_is_a_login(token):
    """A front end that answers the API's URL with its sign-in form (200 HTML): the gate's own page, recorded."""
    with GateReplay(overrides={"/api/v3/services": gate_exchange("login_page")}) as gate:
        err = error_of(lambda: V3Api(Client(gate.url, bearer_token=token)).services())
    assert err.reason == ("auth_failed" if token else "login_required")
    assert "HTTP 200, a login page" in err.msg


# --- pure helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "login"),
    [
        (lambda: gate_body(gate_exchange("login_page")), True),
        # The gate's own 302 body, the Jaeger UI behind it, and Jaeger's catch-all page: no login form.
        (lambda: gate_body(gate_exchange("v3_none")), False),
        (lambda: gate_body(gate_exchange("ui_bearer")), False),
        (lambda: body(find("raw", "html", "/api/v3/no-such-endpoint")), False),
    ],
    ids=["gate_login_page", "gate_302_body", "jaeger_ui_through_the_gate", "jaeger_catch_all_page"],
)
def test_is_login_page_on_recorded_pages(page, login):
    assert is_login_page("text/html", page()) is login


def test_a_login_form_that_is_not_html_is_no_login_page():
    assert is_login_page("text/plain", gate_body(gate_exchange("login_page"))) is False


BASE = "http://jaeger.test:16686"
ASKED = BASE + "/api/v3/services"


@pytest.mark.parametrize(
    ("location", "reason", "words"),
    [
        # The same request elsewhere: the query API moved (http -> https, another host or prefix).
        ("https://jaeger.test/api/v3/services", "http_error", "set url to https://jaeger.test"),
        ("/jaeger/api/v3/services", "http_error", "set url to http://jaeger.test:16686/jaeger"),
        # Anywhere else is a login, shown without the query (the login's state).
        ("/oauth2/start?rd=/api/v3/services", "login_required", "a redirect to http://jaeger.test:16686/oauth2/start;"),
        (
            "https://idp.example/realms/ut/auth?client_id=jaeger&state=abc",
            "login_required",
            "a redirect to https://idp.example/realms/ut/auth;",
        ),
        (None, "http_error", "a redirect without a Location"),
    ],
)
def test_redirect_error(location, reason, words):
    err = redirect_error(BASE, 302, ASKED, location, "/api/v3/services")
    assert err.reason == reason
    assert words in err.msg
    assert "state=" not in err.msg and "client_id" not in err.msg


def test_a_moved_query_api_is_said_once_not_taken_for_another_api():
    """detect_api does not go on to the internal API after a redirect of the same request elsewhere."""
    moved = redirect_error(BASE, 301, ASKED, "https://jaeger.test/api/v3/services", "/api/v3/services")
    client = mock.Mock(base_url=BASE)
    client.get.side_effect = moved
    err = error_of(lambda: detect_api(client))
    assert err is moved and client.get.call_count == 1


# --- the module: what a grader or the doctor gets behind the login ---------------------------------------


def run_module(params):
    """jaeger_trace in-process, as Ansible runs it; (exit code, result)."""
    import contextlib
    import io

    out = io.StringIO()
    with patch_module_args(params), contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exc:
        jaeger_trace.main()
    return exc.value.code, json.loads(out.getvalue())


UI = "https://jaeger.example"


def test_the_module_behind_the_login_says_login_required_with_the_search_link():
    service = SCENARIO["service"]
    with GateReplay() as gate:
        rc, result = run_module({"url": gate.url, "ui_url": UI, "service": service, "timeout": 0})
    assert (rc, result["reason"], result["polls"]) == (1, "login_required", 0)
    assert result["search_url"] == f"{UI}/search?service={service}"
    assert result["login"] == f"HTTP 302, a redirect to {gate.url}/oauth2/start"
    assert [c["ok"] for c in result["checks"]] == [None]


def test_bulk_behind_the_login_gives_every_service_its_reason_and_link():
    services = [SCENARIO["service"], "inventory.other vm.sysadm.ee"]
    with GateReplay() as gate:
        rc, result = run_module({"url": gate.url, "ui_url": UI + "/", "services": services, "timeout": 0})
    assert (rc, result["reason"]) == (1, "login_required")
    assert [(r["reason"], r["search_url"]) for r in result["results"]] == [
        ("login_required", f"{UI}/search?service={SCENARIO['service']}"),
        ("login_required", f"{UI}/search?service=inventory.other%20vm.sysadm.ee"),
    ]
