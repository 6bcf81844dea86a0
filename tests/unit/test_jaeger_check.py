"""The query plan and the poll loop (jaeger.check.Plan, Checker) with an in-memory API and a fake clock."""

from __future__ import annotations

import threading
import time

import pytest
from ansible.module_utils.jaeger.check import CLOCK_SKEW_US, Checker, Plan
from ansible.module_utils.jaeger.match import Criteria
from ansible.module_utils.jaeger.model import JaegerError, Span, Trace

CHILD, PARENT = "validate_inventory_cache", "GET /api/v1/inventory"


def trace(service, child_ms=320, n=0, parent=PARENT, start_us=0):
    tid = f"{abs(hash((service, n))):032x}"[:32]
    return Trace(tid, [
        Span(tid, "p" + str(n), None, parent, service, start_us + 1_000 + n, int(child_ms * 1000) + 10_000, {}),
        Span(tid, "c" + str(n), "p" + str(n), CHILD, service, start_us + 2_000 + n, int(child_ms * 1000), {}),
    ])  # fmt: skip


class FakeApi:
    """Traces per service; `arrive_after` hides a service's traces for its first N searches."""

    name = "fake"

    def __init__(self, traces=None, arrive_after=None, errors=None, search_delay=0.0):
        self.traces = traces or {}
        self.arrive_after = arrive_after or {}
        self.errors = errors or {}
        self.search_delay = search_delay
        self.searches = []
        self.service_calls = 0
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def services(self):
        with self.lock:
            self.service_calls += 1
        return sorted(self.traces)

    def operations(self, service):
        return sorted({s.operation for t in self.traces.get(service, []) for s in t.spans})

    def search(self, q):
        with self.lock:
            self.searches.append(q)
            n = sum(1 for s in self.searches if s.service == q.service)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.search_delay:
                time.sleep(self.search_delay)
            errors = self.errors.get(q.service, [])
            if n <= len(errors) and errors[n - 1] is not None:
                raise errors[n - 1]
            if n <= self.arrive_after.get(q.service, 0):
                return []
            found = self.traces.get(q.service, [])
            if q.min_ms is not None:
                found = [t for t in found if any(s.duration_ms >= q.min_ms for s in t.spans if s.operation == CHILD)]
            return found
        finally:
            with self.lock:
                self.active -= 1


class WindowedApi(FakeApi):
    """Like Jaeger's search: only traces that started inside the query's window."""

    def search(self, q):
        return [t for t in super().search(q) if q.start_us <= t.start_us <= q.end_us]


class Clock:
    def __init__(self):
        self.t = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.t += seconds


NOW_US = 1_700_000_000 * 1_000_000
SINCE_US = 15 * 60 * 1_000_000


def run(api, criteria, clock=None, timeout_s=30, interval_s=1, concurrency=4, **kw):
    """Checker.run over a plan of `criteria` made at NOW_US with a 15 minute window."""
    clock = clock or Clock()
    made = Plan(criteria, NOW_US - SINCE_US, "in the last 15m", timeout_s, interval_s, concurrency, now_us=NOW_US, **kw)
    return Checker(api, "http://j", monotonic=clock.monotonic, sleep=clock.sleep).run(made)


def good(service, **kw):
    return Criteria(service, operation=CHILD, parent_operation=PARENT, min_ms=300, **kw)


def test_first_poll_finds_it_and_nothing_sleeps():
    api, clock = FakeApi({"a": [trace("a")]}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=30, concurrency=4)
    assert (res["ok"], res["polls"], clock.sleeps) == (True, 1, [])
    assert api.service_calls == 0  # the service list is only needed to explain a failure


def test_polls_until_the_trace_arrives():
    api, clock = FakeApi({"a": [trace("a")]}, arrive_after={"a": 5}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=30, concurrency=4)
    assert (res["ok"], res["polls"]) == (True, 6)
    assert clock.sleeps == [1] * 5
    assert res["elapsed"] == 5


def test_a_trace_that_starts_while_the_module_waits_is_in_the_window():
    # The request is sent 90 s after the module started (async use, a slow first request).
    late = trace("a", start_us=NOW_US + 90 * 1_000_000)
    api, clock = WindowedApi({"a": [late]}, arrive_after={"a": 90}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=120, concurrency=1)
    assert (res["ok"], res["reason"], res["polls"]) == (True, "ok", 91)
    assert res["trace_id"] == late.trace_id


def test_deadline_bounds_the_polling_then_explains():
    api, clock = FakeApi({"a": [trace("a", child_ms=120)]}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=2.5, concurrency=4)
    # Polls at 0, 1, 2 and, after a shortened sleep, at the deadline itself.
    assert clock.sleeps == [1, 1, 0.5]
    assert res["polls"] == 4
    assert (res["ok"], res["reason"]) == (False, "too_short")
    assert res["measured_ms"] == 120
    # The last search (for the diagnosis) drops the duration filter to see what was measured.
    assert api.searches[-1].min_ms is None and api.searches[0].min_ms == 300


def test_zero_timeout_is_a_single_poll():
    api, clock = FakeApi({}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=0, concurrency=1)
    assert (res["polls"], res["reason"], clock.sleeps) == (1, "service_unknown", [])


def test_search_window_and_limit():
    api = FakeApi({"a": [trace("a")]})
    run(api, [good("a", min_traces=50)], timeout_s=10, concurrency=1, limit=20)
    q = api.searches[0]
    # Resolved once, before the first search; it ends when the polling does, plus clock skew.
    assert (q.start_us, q.end_us) == (NOW_US - SINCE_US, NOW_US + 10 * 1_000_000 + CLOCK_SKEW_US)
    assert q.limit == 50  # never fewer than min_traces
    assert (q.service, q.operation, q.min_ms, q.max_ms) == ("a", CHILD, 300, None)


@pytest.mark.parametrize(
    ("until_us", "end_us"),
    [
        (NOW_US - 60 * 1_000_000, NOW_US - 60 * 1_000_000),  # a deadline past: the window ends there
        (NOW_US + 3600 * 1_000_000, NOW_US + 10 * 1_000_000 + CLOCK_SKEW_US),  # ahead: when the polling ends
    ],
)
def test_until_ends_the_search_window_at_the_deadline(until_us, end_us):
    api = FakeApi({"a": [trace("a")]})
    run(api, [good("a")], timeout_s=10, concurrency=1, until_us=until_us)
    assert {(q.start_us, q.end_us) for q in api.searches} == {(NOW_US - SINCE_US, end_us)}


def test_a_trace_started_after_until_does_not_count_and_hides_no_earlier_one():
    deadline = NOW_US - 60 * 1_000_000
    early, late = trace("a", start_us=deadline - 5_000_000), trace("a", n=1, start_us=deadline + 1_000_000)
    api = WindowedApi({"a": [late, early], "b": [trace("b", start_us=deadline + 1_000_000)]})
    a, b = run(api, [good("a"), good("b")], timeout_s=0, concurrency=1, until_us=deadline)
    assert (a["ok"], a["trace_id"]) == (True, early.trace_id)
    assert (b["ok"], b["reason"]) == (False, "no_traces")


def test_network_trouble_is_retried_and_can_clear():
    down = JaegerError("unreachable", "down", retry=True)
    api, clock = FakeApi({"a": [trace("a")]}, errors={"a": [down, down]}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=30, concurrency=1)
    assert (res["ok"], res["polls"]) == (True, 3)


def test_network_trouble_until_the_deadline_is_the_answer():
    down = JaegerError("unreachable", "Jaeger is down", retry=True, error="refused")
    api, clock = FakeApi({"a": [trace("a")]}, errors={"a": [down] * 100}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=3, concurrency=1)
    assert (res["ok"], res["reason"], res["msg"], res["error"]) == (False, "unreachable", "Jaeger is down", "refused")
    assert api.service_calls == 0


def test_a_final_error_stops_that_service_only():
    denied = JaegerError("auth_failed", "HTTP 403", http_status=403)
    api, clock = FakeApi({"a": [trace("a")], "b": [trace("b")]}, errors={"a": [denied]}, arrive_after={"b": 2}), Clock()
    res_a, res_b = run(api, [good("a"), good("b")], clock, timeout_s=30, concurrency=2)
    assert (res_a["reason"], res_a["polls"], res_a["http_status"]) == ("auth_failed", 1, 403)
    assert (res_b["ok"], res_b["polls"]) == (True, 3)


def test_late_arrival_during_diagnosis_passes():
    # Not there for the only poll, there for the diagnosis search.
    api = FakeApi({"a": [trace("a")]}, arrive_after={"a": 1})
    [res] = run(api, [good("a")], timeout_s=0, concurrency=1)
    assert res["ok"] is True


def test_bulk_diagnosis_fetches_the_service_list_once():
    known = {f"inventory.vm{i}.sysadm.ee": [trace(f"inventory.vm{i}.sysadm.ee", child_ms=100)] for i in range(30)}
    api = FakeApi(known)
    wanted = [*known, "inventory.vm99.sysadm.ee"]
    results = run(api, [good(s) for s in wanted], timeout_s=0, concurrency=8)
    assert [r["service"] for r in results] == wanted
    assert {r["reason"] for r in results[:-1]} == {"too_short"}
    assert results[-1]["reason"] == "service_unknown"
    assert api.service_calls == 1


def test_bulk_runs_concurrently_up_to_the_limit():
    services = [f"s{i}" for i in range(40)]
    api = FakeApi({s: [trace(s)] for s in services}, search_delay=0.02)
    started = time.monotonic()
    made = Plan([good(s) for s in services], NOW_US - SINCE_US, "in the last 15m", 5, 0.1, concurrency=8)
    results = Checker(api, "http://j").run(made)
    took = time.monotonic() - started
    assert all(r["ok"] for r in results)
    assert api.max_active == 8
    assert took < 40 * 0.02  # serial would take at least this long


def test_polling_rounds_only_search_pending_services():
    api, clock = FakeApi({"a": [trace("a")], "b": [trace("b")]}, arrive_after={"b": 3}), Clock()
    run(api, [good("a"), good("b")], clock, timeout_s=30, concurrency=2)
    assert [q.service for q in api.searches].count("a") == 1
    assert [q.service for q in api.searches].count("b") == 4


def partial(service, n=0):
    """Only the child span of a trace: its parent (which ends last) is not exported yet."""
    whole = trace(service, n=n)
    return Trace(whole.trace_id, [s for s in whole.spans if s.operation == CHILD])


def without_child(service, n=0):
    whole = trace(service, n=n)
    return Trace(whole.trace_id, [s for s in whole.spans if s.operation != CHILD])


@pytest.mark.parametrize(
    ("traces", "reason"),
    [
        ([without_child("a")], "operation_unknown"),
        ([trace("a", child_ms=120)], "too_short"),
        ([trace("a", parent="GET /health"), without_child("a", n=1)], "operation_unknown"),
    ],
)
def test_fail_fast_decides_at_the_first_settled_miss(traces, reason):
    api, clock = FakeApi({"a": traces}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=60, fail_fast=True)
    assert (res["ok"], res["reason"], res["polls"], clock.sleeps) == (False, reason, 1, [])
    # The trace that settled it is shown.
    assert res["trace_id"] == traces[-1].trace_id


def test_fail_fast_searches_the_parents_traces_unfiltered():
    api = FakeApi({"a": [trace("a")]})
    run(api, [good("a")], timeout_s=0, fail_fast=True)
    q = api.searches[0]
    assert (q.operation, q.min_ms, q.max_ms) == (PARENT, None, None)


def test_fail_fast_waits_while_the_parent_span_is_not_in():
    # The child arrived, its parent not yet: nothing is settled, so polling goes on until it is.
    api, clock = FakeApi({"a": [partial("a")]}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=5, fail_fast=True)
    assert res["polls"] == 6 and clock.sleeps == [1] * 5


def test_without_fail_fast_a_miss_waits_for_the_deadline():
    api, clock = FakeApi({"a": [without_child("a")]}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=5)
    assert res["polls"] == 6 and res["reason"] == "operation_unknown"


def test_a_bad_old_trace_does_not_hide_a_good_new_one():
    api = FakeApi({"a": [trace("a", child_ms=120, n=1), trace("a", n=2)]})
    [res] = run(api, [good("a")], timeout_s=0, fail_fast=True)
    assert res["ok"] is True


def refused(service, status, n=0):
    """A request the app turned away: its server span, no child, an HTTP status attribute."""
    whole = without_child(service, n=n)
    root = whole.spans[0]
    root.attributes = {"http.response.status_code": status}
    return whole


@pytest.mark.parametrize("status", [401, 403, 500, "503"])
def test_fail_fast_is_not_settled_by_a_refused_request(status):
    # A 401 (no token) lands before the trigger's own trace: it says nothing about the span.
    api, clock = FakeApi({"a": [refused("a", status)]}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=3, fail_fast=True)
    assert res["polls"] == 4 and clock.sleeps == [1, 1, 1]


def test_fail_fast_settles_on_a_served_request_without_the_span():
    api, clock = FakeApi({"a": [refused("a", 200)]}), Clock()
    [res] = run(api, [good("a")], clock, timeout_s=30, fail_fast=True)
    assert (res["reason"], res["polls"]) == ("operation_unknown", 1)


def test_without_parent_operation_nothing_settles():
    api, clock = FakeApi({"a": [without_child("a")]}), Clock()
    c = Criteria("a", operation=CHILD, min_ms=300)
    [res] = run(api, [c], clock, timeout_s=2, fail_fast=True)
    assert res["polls"] == 3
