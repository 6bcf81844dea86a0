"""jaeger_trace as a whole (AnsibleModule in, JSON out), on recorded Jaeger answers.

In the style of ansible-core's test_uri.py: the HTTP call (urls.Request, which jaeger_query makes
once per run) is patched, the module args are set with patch_module_args, and the result is read
from stdout after SystemExit.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import urllib.error
from unittest import mock

import certifi
import pytest
from ansible.module_utils.jaeger import query as jaeger_query
from ansible.module_utils.jaeger.verdict import REASONS
from ansible.module_utils.testing import patch_module_args
from ansible.modules import jaeger_trace
from jaeger_replay import FakeJaeger, load_exchanges, load_scenario, requests_to

SCENARIO = load_scenario()
SERVICES = SCENARIO["services"]
CASES = SCENARIO["cases"]
BASE = "http://jaeger.test:16686"


def run(params, fake, capsys, request_class=None):
    """(exit code, result) of one module run whose requests go to `fake` (open_url-like)."""
    request_class = request_class or requests_to(fake)
    with mock.patch.object(jaeger_query, "Request", request_class), patch_module_args({"url": BASE, **params}):
        with pytest.raises(SystemExit) as exc:
            jaeger_trace.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    assert "Traceback" not in out
    assert "\n" not in result.get("msg", "")
    return exc.value.code, result


def case(name, api):
    return next(c for c in CASES if c["name"] == name and c["api"] == api)


def replay(name, api, capsys, **extra):
    c = case(name, api)
    fake = FakeJaeger(api=api, base=BASE)
    rc, result = run({**c["params"], **extra}, fake, capsys)
    assert fake.misses == []
    return rc, result, c


APIS = pytest.mark.parametrize("api", ["v3", "v1"])


@pytest.mark.parametrize(("name", "api"), [(c["name"], c["api"]) for c in CASES])
def test_every_recorded_case_gives_its_reason(name, api, capsys):
    rc, result, c = replay(name, api, capsys)
    assert result["reason"] == c["expect"]
    assert rc == (0 if c["expect"] == "ok" else 1)
    assert result["changed"] is False
    assert result["api"] == api
    assert result["polls"] == 1


@APIS
def test_success_returns_the_trace(api, capsys):
    rc, result, c = replay("ok", api, capsys)
    spec = SERVICES[c["params"]["service"]]
    assert rc == 0
    assert result["trace_id"] in spec["trace_ids"]
    assert result["trace_url"] == f"{BASE}/trace/{result['trace_id']}"
    assert result["traces_found"] == spec["traces"]
    assert spec["child_ms"] <= result["measured_ms"] < spec["child_ms"] + 100
    assert [(s["operation"], s["parent"]) for s in result["spans"]] == [
        (spec["parent"], None),
        (spec["child"], spec["parent"]),
    ]
    assert set(result["spans"][0]) >= {"operation", "duration_ms", "parent", "span_id", "start"}
    assert result["waterfall"].count("\n") == len(result["spans"])
    assert isinstance(result["elapsed"], float)


@APIS
def test_service_unknown_lists_nearest_services(api, capsys):
    _, result, c = replay("service_unknown", api, capsys)
    asked = c["params"]["service"]
    assert 0 < len(result["services_seen"]) <= 5
    assert set(result["services_seen"]) <= set(SERVICES)
    # difflib: a name differing by one character comes before an unrelated one.
    assert not any(s.startswith("minio") for s in result["services_seen"])
    assert result["services_count"] == len(SERVICES)
    assert f"service {asked!r} is not in Jaeger" in result["msg"]
    assert result["services_seen"][0] in result["msg"]


@APIS
def test_operation_unknown_lists_the_operations(api, capsys):
    _, result, c = replay("operation_unknown", api, capsys)
    spec = SERVICES[c["params"]["service"]]
    assert result["operations_seen"] == sorted(op for op in (spec["parent"], spec["child"]) if op)
    assert f"no operation {c['params']['operation']!r}" in result["msg"]
    assert spec["parent"] in result["msg"]


@APIS
@pytest.mark.parametrize("name", ["too_short", "too_long"])
def test_duration_failures_give_the_measured_duration(api, name, capsys):
    _, result, c = replay(name, api, capsys)
    spec = SERVICES[c["params"]["service"]]
    assert spec["child_ms"] <= result["measured_ms"] < spec["child_ms"] + 100
    assert f"lasted {result['measured_ms']:.1f} ms" in result["msg"]
    word = "min_duration" if name == "too_short" else "max_duration"
    assert word in result["msg"]
    # The closest miss is shown, so one can open it in the UI.
    assert result["trace_id"] in spec["trace_ids"]


@APIS
def test_parent_mismatch_says_the_real_parent(api, capsys):
    _, result, c = replay("parent_mismatch", api, capsys)
    spec = SERVICES[c["params"]["service"]]
    assert result["parent_seen"] == spec["parent"]
    assert "parent_operation" in result["msg"] and spec["parent"] in result["msg"]


@APIS
def test_too_few_traces_counts(api, capsys):
    _, result, c = replay("too_few_traces", api, capsys)
    spec = SERVICES[c["params"]["service"]]
    assert result["traces_found"] == spec["traces"] < c["params"]["min_traces"]
    assert "min_traces" in result["msg"]


# The per-check breakdown of each recorded case: service, parent_trace, operation, duration, then the
# extra criteria of the case. True/False decided, None not checked (an earlier check failed).
T, F, N = True, False, None
CHECKS = {
    "ok": [T, T, T, T, T],
    "service_unknown": [F, N, N, N],
    "operation_unknown": [T, T, F, N],
    "too_short": [T, T, T, F],
    "too_long": [T, T, T, F],
    "parent_mismatch": [T, F, F, N],
    "attributes_mismatch": [T, T, T, T, F],
    "too_few_traces": [T, T, T, T, F],
    "no_traces": [T, F, F, N],
    "fail_fast_span_missing": [T, T, F, N],
    "fail_fast_too_short": [T, T, T, F],
}


@APIS
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_checks_give_partial_credit(api, name, capsys):
    _, result, c = replay(name, api, capsys)
    assert [check["ok"] for check in result["checks"]] == CHECKS[name]
    names = [check["name"] for check in result["checks"]]
    assert names[:4] == ["service", "parent_trace", "operation", "duration"]
    failed = [check["msg"] for check in result["checks"] if check["ok"] is False]
    # The check the reason names carries the module's own message.
    assert failed == [] or result["msg"] in failed


@APIS
def test_duration_check_carries_the_measured_duration(api, capsys):
    _, result, _ = replay("too_short", api, capsys)
    duration = next(check for check in result["checks"] if check["name"] == "duration")
    assert duration["measured_ms"] == result["measured_ms"]


def test_bulk_entries_carry_their_checks(capsys):
    names = [case(n, "v3")["params"]["service"] for n in ("ok", "too_short", "service_unknown")]
    params = {k: v for k, v in case("ok", "v3")["params"].items() if k not in ("service", "attributes")}
    fake = FakeJaeger(api="v3", base=BASE)
    _, result = run({**params, "services": names}, fake, capsys)
    assert [[c["ok"] for c in r["checks"]] for r in result["results"]] == [
        [T, T, T, T],
        [T, T, T, F],
        [F, N, N, N],
    ]


def test_bulk_bad_parameter_fails_every_service_it_names(capsys):
    fake = failing_open_url(AssertionError("no request expected"))
    rc, result = run({"services": ["a", "b", "a"], "min_duration": "fast"}, fake, capsys)
    assert (rc, result["reason"]) == (1, "bad_parameter")
    assert result["summary"] == {"total": 2, "passed": 0, "failed": 2, "failed_services": ["a", "b"]}
    assert [(r["service"], r["reason"], r["msg"]) for r in result["results"]] == [
        ("a", "bad_parameter", result["msg"]),
        ("b", "bad_parameter", result["msg"]),
    ]
    assert fake.calls == []


def test_unreachable_leaves_every_check_undecided(capsys):
    fake = failing_open_url(urllib.error.URLError(ConnectionRefusedError(111, "refused")))
    _, result = run({"services": ["a", "b"], "operation": "op", "timeout": 0}, fake, capsys)
    assert [[c["ok"] for c in r["checks"]] for r in result["results"]] == [[N, N], [N, N]]


def test_v3_searches_send_num_traces_and_search_depth():
    """Jaeger <= 2.13 reads query.num_traces, the current API definition query.search_depth: both go out."""
    searches = [ex for ex in load_exchanges() if ex["stage"] == "scenario" and ex["path"] == "/api/v3/traces"]
    assert searches
    assert all(ex["params"]["query.num_traces"] == ex["params"]["query.search_depth"] for ex in searches)


def test_jaeger_2_13_ignores_search_depth_alone():
    """Recorded: 2.13 does not know search_depth, so sending only it fails; that is why num_traces stays."""
    only_depth = [ex for ex in load_exchanges() if ex["stage"] == "raw" and "query.search_depth" in ex["params"]]
    assert [ex["status"] for ex in only_depth] == [500]


def test_documented_reasons_are_the_vocabulary():
    documented = re.findall(r"V\((\w+)\)", jaeger_trace.RETURN.split("reason:", 1)[1].split("returned:", 1)[0])
    assert sorted(documented) == sorted(REASONS)


def test_absolute_since_becomes_the_search_window(capsys):
    fake = FakeJaeger(api="v3", base=BASE)
    run({"service": "s", "since": "@1700000000.5", "timeout": 0}, fake, capsys)
    search = next(call["url"] for call in fake.calls if "/api/v3/traces" in call["url"])
    assert "query.start_time_min=2023-11-14T22%3A13%3A20.500000Z" in search


@pytest.mark.parametrize(
    ("api", "end"),
    [("v3", "query.start_time_max=2023-11-14T22%3A13%3A20.000000Z"), ("v1", "end=1700000000000000")],
)
def test_until_becomes_the_search_windows_end(api, end, capsys):
    fake = FakeJaeger(api=api, base=BASE)
    run({"service": "s", "since": "@1699990000", "until": "2023-11-14T23:13:20+01:00", "timeout": 0, "api": api},
        fake, capsys)  # fmt: skip
    searches = [call["url"] for call in fake.calls if "/traces?" in call["url"]]
    assert searches and all(end in url for url in searches)


@pytest.mark.parametrize("until", ["tomorrow", "2023-11-14T22:13:20", "2000-01-01T00:00:00Z"])
def test_an_unusable_until_is_a_bad_parameter_naming_it(until, capsys):
    fake = failing_open_url(AssertionError("no request expected"))
    rc, result = run({"service": "s", "since": "@1699990000", "until": until}, fake, capsys)
    assert (rc, result["reason"]) == (1, "bad_parameter")
    assert result["msg"].startswith(f"until: {until!r}") or result["msg"].startswith(f"until: cannot parse {until!r}")
    assert fake.calls == []


@APIS
def test_check_mode_runs_the_same_read_only_check(api, capsys):
    rc, result, _ = replay("ok", api, capsys, _ansible_check_mode=True)
    assert (rc, result["reason"], result["changed"]) == (0, "ok", False)


def test_auto_detects_v3(capsys):
    c = case("ok", "v3")
    rc, result = run({**c["params"], "api": "auto"}, FakeJaeger(base=BASE), capsys)
    assert (rc, result["api"]) == (0, "v3")


def test_auto_falls_back_to_v1(capsys):
    c = case("ok", "v1")
    fake = FakeJaeger(api=None, base=BASE)
    html = next(ex for ex in json.loads((jaeger_replay_dir() / "exchanges.json").read_text()) if ex["api"] == "html")
    # The UI's own page, as Jaeger v1 answers /api/v3/... (routes hold status, body, content type).
    fake.routes["/api/v3/"] = (200, (jaeger_replay_dir() / html["body_file"]).read_bytes(), html["content_type"])
    rc, result = run({**c["params"], "api": "auto"}, fake, capsys)
    assert (rc, result["api"], result["reason"]) == (0, "v1", "ok")


def jaeger_replay_dir():
    import jaeger_replay

    return jaeger_replay.HERE


def test_bulk_reports_each_service(capsys):
    good = case("ok", "v3")["params"]
    wanted = ["inventory.vm1.sysadm.ee", "inventory.vm2.sysadm.ee", "inventory.vm4.sysadm.ee",
              "inventory.vm9.sysadm.ee", "inventory.vm5.sysadm.ee"]  # fmt: skip
    params = {k: v for k, v in good.items() if k not in ("service", "attributes")}
    fake = FakeJaeger(api="v3", base=BASE)
    rc, result = run({**params, "services": wanted, "concurrency": 3}, fake, capsys)
    assert fake.misses == []
    assert rc == 1
    reasons = {r["service"]: r["reason"] for r in result["results"]}
    assert [r["service"] for r in result["results"]] == wanted
    assert reasons == {
        wanted[0]: "ok",
        wanted[1]: "too_short",
        wanted[2]: "parent_mismatch",
        wanted[3]: "service_unknown",
        wanted[4]: "operation_unknown",
    }
    failed = wanted[1:]
    assert result["summary"] == {"total": 5, "passed": 1, "failed": 4, "failed_services": failed}
    assert result["msg"].startswith("4 of 5 services failed: inventory.vm2.sysadm.ee (too_short), ")
    assert result["polls"] == sum(r["polls"] for r in result["results"])
    ok = result["results"][0]
    assert ok["ok"] is True and ok["trace_id"] in SERVICES[wanted[0]]["trace_ids"]


def test_bulk_all_passing_exits_ok(capsys):
    good = case("ok_min_traces", "v1")["params"]
    params = {k: v for k, v in good.items() if k != "service"}
    rc, result = run({**params, "services": [good["service"], good["service"]]}, FakeJaeger(api="v1", base=BASE),
                     capsys)  # fmt: skip
    assert rc == 0
    assert result["summary"] == {"total": 1, "passed": 1, "failed": 0, "failed_services": []}  # repeats dropped


def test_bulk_message_names_the_first_few():
    results = [{"service": f"s{i}", "ok": i % 2 == 0, "reason": "ok" if i % 2 == 0 else "no_traces"} for i in range(20)]
    msg = jaeger_trace.bulk_message(results)
    assert msg == ("10 of 20 services failed: s1 (no_traces), s3 (no_traces), s5 (no_traces), s7 (no_traces), "
                   "s9 (no_traces) and 5 more")  # fmt: skip


def failing_open_url(exc):
    calls = []

    def fake(url, *args, **kwargs):
        calls.append(url)
        raise exc

    fake.calls = calls
    return fake


@pytest.mark.parametrize(
    ("exc", "error", "words"),
    [
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "refused", "connection refused"),
        # A Compose network's name (http://jaeger:16686) resolves only once Jaeger's container runs.
        (urllib.error.URLError(socket.gaierror(-2, "Name or service not known")), "dns", "DNS"),
    ],
)
def test_unreachable_is_retried_until_timeout(exc, error, words, capsys):
    fake = failing_open_url(exc)
    rc, result = run({"service": "s", "timeout": "0.3s", "interval": "50ms"}, fake, capsys)
    assert (rc, result["reason"], result["error"]) == (1, "unreachable", error)
    assert words in result["msg"]
    assert len(fake.calls) >= 3 and result["attempts"] == len(fake.calls)
    assert result["elapsed"] >= 0.3


@pytest.mark.parametrize(
    ("userinfo", "secret"),
    [("grader:pa55word", "pa55word"), ("pa55word", "pa55word"), ("grader:sysadm", "grader:sysadm"),
     ("inventory", "inventory@")],
)  # fmt: skip
def test_a_urls_credentials_never_reach_the_result(userinfo, secret, capsys):
    fake = failing_open_url(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))
    url = f"http://{userinfo}@jaeger.test:16686"
    services = ["inventory.a.sysadm.ee", "inventory.b.sysadm.ee"]
    rc, result = run({"url": url, "services": services, "timeout": 0, "bearer_token": "t0ken-s3cret"}, fake, capsys)
    assert rc == 1 and fake.calls and all(call.startswith(url) for call in fake.calls)
    assert secret not in json.dumps(result)  # module_args included
    assert "http://***@jaeger.test:16686" in result["msg"]
    # Only the URL's userinfo: a password that is also a word of a service name leaves the name alone.
    assert [r["service"] for r in result["results"]] == services
    assert "t0ken-s3cret" not in json.dumps(result)  # a no_log parameter stays masked


def test_unreachable_in_bulk_fails_every_service(capsys):
    fake = failing_open_url(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))
    rc, result = run({"services": ["a", "b"], "timeout": 0}, fake, capsys)
    assert rc == 1
    assert result["summary"] == {"total": 2, "passed": 0, "failed": 2, "failed_services": ["a", "b"]}
    assert {r["reason"] for r in result["results"]} == {"unreachable"}


@pytest.mark.parametrize(
    ("exc", "reason", "words"),
    [
        (urllib.error.HTTPError(BASE, 401, "Unauthorized", {}, None), "login_required", "bearer_token"),
        (urllib.error.HTTPError(BASE, 403, "Forbidden", {}, None), "login_required", "headers"),
        (urllib.error.HTTPError(BASE, 302, "Found", {"Location": "/login"}, None), "login_required", "/login"),
        (urllib.error.URLError(ssl.SSLCertVerificationError(1, "certificate verify failed")), "tls_failed", "ca_path"),
    ],
)
def test_final_failures_are_not_retried(exc, reason, words, capsys):
    fake = failing_open_url(exc)
    rc, result = run({"service": "s", "timeout": 5, "interval": "10ms"}, fake, capsys)
    assert (rc, result["reason"]) == (1, reason)
    assert words in result["msg"]
    assert len(fake.calls) == 1 and result["elapsed"] < 1


@pytest.mark.parametrize(
    ("ui_url", "links"),
    [
        (None, BASE),
        ("https://jaeger.example/", "https://jaeger.example"),
        # A URL's credentials never reach a link (a browser would send the redacted ones).
        ("https://student:pw@jaeger.example/ui", "https://***@jaeger.example/ui"),
    ],
)
def test_links_are_built_on_ui_url(ui_url, links, capsys):
    extra = {"ui_url": ui_url} if ui_url else {}
    rc, result, c = replay("ok", "v3", capsys, **extra)
    assert rc == 0
    assert result["trace_url"] == f"{links}/trace/{result['trace_id']}"
    assert result["search_url"] == f"{links}/search?service={c['params']['service']}"
    assert "pw@" not in json.dumps(result)


@APIS
def test_a_failed_check_keeps_its_search_link(api, capsys):
    rc, result, c = replay("too_short", api, capsys, ui_url="https://jaeger.example")
    assert (rc, result["reason"]) == (1, "too_short")
    assert result["search_url"] == f"https://jaeger.example/search?service={c['params']['service']}"


@pytest.mark.parametrize("ui_url", ["jaeger.example", "ftp://jaeger.example", "http://:80", ""])
def test_an_unusable_ui_url_is_a_bad_parameter_naming_it(ui_url, capsys):
    fake = FakeJaeger(api="v3", base=BASE)
    rc, result = run({"service": "s", "ui_url": ui_url, "timeout": 0}, fake, capsys)
    assert (rc, result["reason"]) == (1, "bad_parameter")
    assert result["msg"].startswith("ui_url: ")
    assert fake.calls == []


def test_bearer_token_is_sent_and_never_shown(capsys):
    c = case("ok", "v3")
    fake = FakeJaeger(api="v3", base=BASE)
    rc, result = run({**c["params"], "bearer_token": "s3cret-token"}, fake, capsys)
    assert rc == 0
    assert all(call["headers"]["Authorization"] == "Bearer s3cret-token" for call in fake.calls)
    assert "s3cret-token" not in json.dumps(result)


def test_tls_options_reach_the_request(capsys):
    c = case("ok", "v3")
    fake = FakeJaeger(api="v3", base=BASE)
    bundle = certifi.where()  # any loadable CA file
    run({**c["params"], "validate_certs": False, "ca_path": bundle}, fake, capsys)
    assert {(call["validate_certs"], call["ca_path"]) for call in fake.calls} == {(False, bundle)}
    # urls ignores both once it has a context, so the context itself must not validate.
    [context] = {id(call["context"]): call["context"] for call in fake.calls}.values()
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)


@pytest.mark.parametrize("ca_path", [None, "bundle"])
def test_bulk_run_builds_its_tls_settings_once(ca_path, capsys):
    """Loading CAs costs ~20 ms of CPU under the GIL; per request it dominated bulk mode."""
    good = case("ok", "v3")["params"]
    params = {k: v for k, v in good.items() if k not in ("service", "attributes")}
    wanted = ["inventory.vm1.sysadm.ee", "inventory.vm2.sysadm.ee", "inventory.vm4.sysadm.ee"]
    if ca_path:
        params["ca_path"] = certifi.where()
    fake = FakeJaeger(api="v3", base=BASE)
    request_class = requests_to(fake)
    contexts, real = [], jaeger_query.make_context

    def make_context(**kwargs):
        contexts.append((kwargs, real(**kwargs)))
        return contexts[-1][1]

    with mock.patch.object(jaeger_query, "make_context", make_context):
        rc, result = run({**params, "services": wanted, "concurrency": 3}, fake, capsys, request_class)
    assert fake.misses == [] and result["summary"]["total"] == 3
    assert len(fake.calls) > len(wanted)
    [(kwargs, context)] = contexts
    assert kwargs == {"cafile": params.get("ca_path"), "validate_certs": True}
    assert len(request_class.made) == 1
    assert {id(call["context"]) for call in fake.calls} == {id(context)}
    # Still one request's cookies never reach another, as with open_url.
    assert len({id(call["cookies"]) for call in fake.calls}) == len(fake.calls)


def test_polls_until_the_trace_arrives(capsys):
    c = case("ok", "v1")
    fake = FakeJaeger(api="v1", base=BASE, timeout_s=10)
    real, searches = fake.__call__, []

    def late(url, *args, **kwargs):
        # The first two searches come before the SDK's batch was exported: empty answers.
        if "/api/traces?" in url:
            searches.append(url)
            if len(searches) <= 2:
                return jaeger_query_empty_v1()
        return real(url, *args, **kwargs)

    rc, result = run({**c["params"], "timeout": 10, "interval": "10ms"}, late, capsys)
    assert (rc, result["reason"], result["polls"]) == (0, "ok", 3)


def jaeger_query_empty_v1():
    from jaeger_replay import Response

    return Response(200, b'{"data":[],"total":0,"limit":0,"offset":0,"errors":null}', "application/json")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"service": "s", "min_duration": "soon"}, "min_duration: cannot parse"),
        ({"service": "s", "max_duration": "-1ms"}, "max_duration: cannot parse"),
        ({"service": "s", "min_duration": "2s", "max_duration": "1s"}, "min_duration is longer than max_duration"),
        ({"service": "s", "timeout": "forever"}, "timeout: cannot parse"),
        ({"service": "s", "since": 0}, "since must be longer than 0"),
        ({"service": "s", "min_traces": 0}, "min_traces must be at least 1"),
        ({"service": "s", "concurrency": 0}, "concurrency must be at least 1"),
        ({"services": []}, "services must not be empty"),
        ({"services": ["a", " "]}, "services: service names must not be empty"),
        ({"service": " "}, "service: service names must not be empty"),
        ({"service": "s", "interval": 0}, "interval must be at least 10ms"),
        ({"service": "s", "operation": ""}, "operation must not be empty"),
        ({"service": "s", "fail_fast": True, "operation": "op"}, "fail_fast needs operation and parent_operation"),
        (
            {"service": "s", "fail_fast": True, "parent_operation": "p"},
            "fail_fast needs operation and parent_operation",
        ),
        (
            {"service": "s", "fail_fast": True, "operation": "o", "parent_operation": "p", "min_traces": 2},
            "fail_fast needs min_traces 1",
        ),
        ({"service": "s", "url": "jaeger:16686"}, "url: 'jaeger:16686' must look like"),
        (
            {"service": "s", "headers": {"X-Course": "t\u00e4\u4e2d"}},
            "headers: 'X-Course' must be plain (latin-1) text",
        ),
        ({"service": "s", "headers": {"X-Course": "a\r\nX-Evil: 1"}}, "headers: 'X-Course' must be one line"),
        ({"service": "s", "headers": {"X-List": [1]}}, "headers: 'X-List' must have a text value"),
        ({"service": "s", "bearer_token": "t\u00f6k\u4e2d"}, "bearer_token: 'Authorization' must be plain"),
    ],
)
def test_bad_parameters(params, words, capsys):
    fake = failing_open_url(AssertionError("no request expected"))
    rc, result = run(params, fake, capsys)
    assert (rc, result["reason"]) == (1, "bad_parameter")
    assert words in result["msg"]
    assert fake.calls == []


@pytest.mark.parametrize("content", [None, b"not a certificate"])
def test_unusable_ca_path_is_a_parameter_error(content, tmp_path, capsys):
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_bytes(content)
    rc, result = run({"service": "s", "ca_path": str(ca)}, failing_open_url(AssertionError("no request")), capsys)
    assert (rc, result["reason"]) == (1, "bad_parameter")
    assert result["msg"].startswith(f"ca_path: cannot load '{ca}'")


def test_numeric_header_values_are_sent_as_text(capsys):
    fake = FakeJaeger(api="v3", base=BASE)
    rc, _ = run({**case("ok", "v3")["params"], "headers": {"X-Course-Year": 2026}}, fake, capsys)
    assert rc == 0
    assert {call["headers"]["X-Course-Year"] for call in fake.calls} == {"2026"}


@pytest.mark.parametrize(
    ("params", "words"),
    [({}, "one of the following is required: service, services"),
     ({"service": "a", "services": ["b"]}, "mutually exclusive"),
     ({"service": "a", "api": "v2"}, "value of api must be one of")],
)  # fmt: skip
def test_argument_spec_rejects(params, words, capsys):
    rc, result = run(params, failing_open_url(AssertionError("no request expected")), capsys)
    assert rc == 1 and result["failed"] is True
    assert words in result["msg"]


def test_internal_errors_become_a_one_line_failure(capsys):
    with mock.patch.object(jaeger_trace.Checker, "run", side_effect=RuntimeError("boom")):
        rc, result = run(case("ok", "v3")["params"], FakeJaeger(api="v3", base=BASE), capsys)
    assert (rc, result["reason"]) == (1, "internal_error")
    assert result["msg"] == "jaeger_trace internal error: RuntimeError: boom"


def test_a_broken_test_double_is_not_mistaken_for_the_network(capsys):
    """Only transport errors become reasons: an assertion inside a replay surfaces as an internal error."""
    rc, result = run({"service": "s"}, FakeJaeger(api="v3", base="http://elsewhere:1"), capsys)
    assert (rc, result["reason"]) == (1, "internal_error")
    assert result["msg"].startswith("jaeger_trace internal error: AssertionError")
