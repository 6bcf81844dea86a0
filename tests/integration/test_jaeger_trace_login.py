"""jaeger_trace against the test bed's real Jaeger behind its real login gate (scripts/testbed_lib/gate.py):
without a token `login_required` (the redirect not followed), a wrong token `auth_failed`, the right one the
full check, and every link built on ui_url. One run goes through `ansible localhost -m jaeger_trace`, so the
ansiballz packaging and Ansible's own handling of the module's arguments are proven on it.
"""

from __future__ import annotations

import uuid

import pytest
from otlp import INVENTORY_ROUTE, SLOW_SPAN, emit_trace
from test_jaeger_trace_module import run_ansible, run_module

pytestmark = pytest.mark.docker

UI = "https://jaeger.sysadm.ee"


@pytest.fixture
def gated(gated_jaeger):
    """A good trace sent through the gate's open OTLP ingest (no token, as the course's)."""
    service = f"inventory.login-{uuid.uuid4().hex[:6]}.sysadm.ee"
    trace_id = emit_trace(gated_jaeger.otlp_url, service, child_ms=320)
    return gated_jaeger, service, trace_id


def check(gate, service, **overrides):
    args = {"url": gate.url, "ui_url": UI, "service": service, "operation": SLOW_SPAN, "min_duration": "300ms",
            "parent_operation": INVENTORY_ROUTE, "timeout": 20, "interval": "250ms"}  # fmt: skip
    return run_module({**args, **overrides})


@pytest.mark.parametrize("api", ["auto", "v3", "v1"])
def test_without_a_token_the_answer_is_login_required_with_the_login_page(gated, api):
    gate, service, _ = gated
    res = check(gate, service, api=api, timeout=0)
    assert (res["failed"], res["reason"], res["http_status"]) == (True, "login_required", 302)
    assert res["location"] == f"{gate.url}/oauth2/start"
    assert res["search_url"] == f"{UI}/search?service={service}"
    assert "set bearer_token" in res["msg"]


def test_a_login_is_final_not_retried_until_the_timeout(gated):
    gate, service, _ = gated
    res = check(gate, service, timeout=5)
    assert (res["reason"], res["attempts"]) == ("login_required", 1)
    assert res["elapsed"] < 2


def test_a_wrong_token_is_auth_failed(gated):
    gate, service, _ = gated
    res = check(gate, service, bearer_token="not-the-gate-token", timeout=0)
    assert (res["failed"], res["reason"], res["http_status"]) == (True, "auth_failed", 401)
    assert "rejected bearer_token" in res["msg"] and "not-the-gate-token" not in str(res)


def test_the_right_token_finds_the_trace_and_links_to_the_ui(gated):
    gate, service, trace_id = gated
    res = check(gate, service, bearer_token=gate.token)
    assert res.get("failed") is not True, res["msg"]
    assert (res["reason"], res["trace_id"]) == ("ok", trace_id)
    assert res["trace_url"] == f"{UI}/trace/{trace_id}"
    assert res["search_url"] == f"{UI}/search?service={service}"


def test_through_ansible_a_bulk_check_behind_the_login(gated):
    gate, service, _ = gated
    res = run_ansible({"url": gate.url, "ui_url": "https://student:pw@jaeger.sysadm.ee", "timeout": 0,
                       "services": [service, "inventory.absent.sysadm.ee"]})  # fmt: skip
    assert (res["failed"], res["reason"]) == (True, "login_required")
    assert [(r["reason"], r["search_url"]) for r in res["results"]] == [
        ("login_required", f"https://***@jaeger.sysadm.ee/search?service={service}"),
        ("login_required", "https://***@jaeger.sysadm.ee/search?service=inventory.absent.sysadm.ee"),
    ]
    assert "pw@" not in str(res)
