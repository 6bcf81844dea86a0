"""The test bed's Jaeger behind a login answers as the course's does (an OIDC front end): no token, a login
redirect; a wrong one, 401; the right one, Jaeger. OTLP ingest stays open. The recorded answers in
tests/fixtures/jaeger/gate_* are what the gate answers today."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
from pathlib import Path

import pytest
from labvms import LABEL
from otlp import emit_trace
from polling import get_json, poll
from testbed_lib.gate import GatedJaeger, ask

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "jaeger"


@pytest.fixture(scope="module")
def gate(docker_client, images):
    with GatedJaeger(labels=LABEL) as gate:
        yield gate


def test_no_token_is_sent_to_the_login_page(gate):
    answer = ask(f"{gate.url}/api/services")
    assert answer.status == 302
    assert answer.headers["Location"] == "/oauth2/start?rd=/api/services"

    login = ask(gate.url + answer.headers["Location"])
    assert login.status == 200
    assert login.content_type.startswith("text/html")
    assert b"<form" in login.body
    assert b'type="password"' in login.body


def test_the_ui_without_a_token_is_sent_to_the_login_page_too(gate):
    answer = ask(f"{gate.url}/search?service=x")
    assert (answer.status, answer.headers["Location"]) == (302, "/oauth2/start?rd=/search?service=x")


@pytest.mark.parametrize("authorization", ["Bearer not-the-token", "Basic Y2VudG9zOmNlbnRvcw==", "Bearer"])
def test_a_wrong_token_gets_401(gate, authorization):
    answer = ask(f"{gate.url}/api/services", authorization)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "Location" not in answer.headers


def test_the_right_token_reaches_jaeger(gate):
    answer = ask(f"{gate.url}/api/services", f"Bearer {gate.token}")
    assert answer.status == 200, answer.body[:300]
    assert json.loads(answer.body) == get_json(f"{gate.query_url}/api/services")


def test_otlp_ingest_is_open_and_the_trace_is_visible_through_the_gate(gate):
    service = "inventory.gate-probe.sysadm.ee"
    trace_id = emit_trace(gate.otlp_url, service, child_ms=20)  # no token: the SDK's plain export

    def traces():
        answer = ask(f"{gate.url}/api/traces?service={urllib.parse.quote(service)}", f"Bearer {gate.token}")
        assert answer.status == 200, answer.status
        return json.loads(answer.body)["data"]

    found = poll(traces)
    assert [trace["traceID"] for trace in found] == [trace_id]
    assert ask(f"{gate.url}/api/traces?service={urllib.parse.quote(service)}").status == 302


def test_a_bad_token_setting_stops_the_gate_with_its_name(docker_client, images):
    # Labelled: a gate that starts anyway (the check broken) is removed at the session's end.
    label = [arg for key, value in LABEL.items() for arg in ("--label", f"{key}={value}")]
    result = subprocess.run(
        ["docker", "run", "--rm", *label, "-e", "GATE_TOKEN=two words", images["GATE_IMAGE"]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "GATE_TOKEN may hold only" in result.stderr


def test_tls_with_the_private_ca(docker_client, images):
    with GatedJaeger(labels=LABEL, tls=True) as gate:
        trusted = ssl.create_default_context(cadata=gate.ca_pem)
        assert ask(f"{gate.https_url}/api/services", context=trusted).status == 302
        answer = ask(f"{gate.https_url}/api/services", f"Bearer {gate.token}", context=trusted)
        assert answer.status == 200
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            ask(f"{gate.https_url}/api/services", context=ssl.create_default_context())


def recorded_requests(directory: Path) -> list[tuple]:
    """What identifies each recorded exchange and how the gate answered it (times in a Location differ)."""
    index = json.loads((directory / "gate_exchanges.json").read_text())
    return sorted(
        (ex["api"], ex["case"], ex["auth"], ex["method"], ex["path"], ex["status"], *sorted(ex["headers"]))
        for ex in index
    )


def test_recorder_records_what_the_fixtures_hold(tmp_path, docker_client):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "record_gate_fixtures.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert recorded_requests(tmp_path) == recorded_requests(FIXTURES), "the gate answers differently: re-record"


@pytest.mark.parametrize("authorization", [None, "Bearer not-the-token"])
def test_the_replay_answers_as_the_live_gate(gate, authorization):
    """tests/fixtures/jaeger/gate_replay.FakeGate, which unit tests use, answers as the gate does."""
    from gate_replay import FakeGate

    path = "/api/v3/operations?service=inventory.vm1.sysadm.ee"
    live = ask(gate.url + path, authorization)
    fake = FakeGate()
    with pytest.raises(urllib.error.HTTPError) as replayed:
        fake(fake.base + path, headers={"Authorization": authorization} if authorization else {})
    assert replayed.value.code == live.status
    for name in ("Location", "WWW-Authenticate", "Content-Type"):
        assert replayed.value.headers.get(name) == live.headers.get(name), name
