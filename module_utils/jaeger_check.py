# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling and bulk orchestration: search every pending service each round until all pass or the
deadline comes, then explain each one still failing.

Rounds (not one long-lived poller per service) keep a bulk run bounded by `timeout` plus one
diagnosis pass, however many services fail and whatever `concurrency` is.
"""

from __future__ import annotations

import difflib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.jaeger_match import evaluate, explain, span_rows, waterfall
from ansible.module_utils.jaeger_model import JaegerError
from ansible.module_utils.jaeger_query import Query

# Span clocks (the app's host) and ours may disagree a little; search a bit into the "future".
CLOCK_SKEW_US = 60 * 1_000_000


class _State:
    def __init__(self, criteria):
        self.c = criteria
        self.polls = 0
        self.done = False
        self.error = None
        self.traces = []
        self.ev = None
        self.result = None
        self.elapsed = 0.0


class _Once:
    """A value fetched at most once, shared by the threads (the service list for diagnosis)."""

    def __init__(self, fetch):
        self._fetch = fetch
        self._lock = threading.Lock()
        self._done = False
        self._value = None
        self._error = None

    def get(self):
        with self._lock:
            if not self._done:
                try:
                    self._value = self._fetch()
                except JaegerError as exc:
                    self._error = exc
                self._done = True
        if self._error is not None:
            raise self._error
        return self._value


class Checker:
    def __init__(
        self,
        api,
        base_url,
        since_ms,
        since_text,
        limit=100,
        clock=time.time,
        monotonic=time.monotonic,
        sleep=time.sleep,
    ):
        self.api = api
        self.base_url = base_url
        self.since_ms = since_ms
        self.since_text = since_text
        self.limit = limit
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep

    def query(self, c, with_durations=True):
        now_us = int(self.clock() * 1_000_000)
        return Query(
            c.service,
            c.operation,
            start_us=now_us - int(self.since_ms * 1000),
            end_us=now_us + CLOCK_SKEW_US,
            min_ms=c.min_ms if with_durations else None,
            max_ms=c.max_ms if with_durations else None,
            limit=max(self.limit, c.min_traces),
        )

    def run(self, criteria_list, timeout_s, interval_s, concurrency, deadline=None):
        """One result dict per criteria, in order. `deadline` (monotonic) may have been started earlier."""
        started = self.monotonic()
        deadline = started + timeout_s if deadline is None else deadline
        states = [_State(c) for c in criteria_list]
        pending = list(states)
        workers = max(1, min(concurrency, len(states)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while pending:
                list(pool.map(self._poll, pending))
                pending = [s for s in pending if not s.done]
                remaining = deadline - self.monotonic()
                if not pending or remaining <= 0:
                    break
                self.sleep(min(interval_s, remaining))
            services = _Once(self.api.services)
            list(pool.map(lambda s: self._diagnose(s, services), pending))
        for state in states:
            state.result.update(polls=state.polls, elapsed=round(state.elapsed - started, 3))
        return [s.result for s in states]

    def _poll(self, state):
        state.polls += 1
        try:
            traces = self.api.search(self.query(state.c))
        except JaegerError as exc:
            state.error = exc
            if not exc.retry:
                self._fail(state, exc.reason, exc.msg, exc.context)
            return
        state.error = None
        state.traces = traces
        state.ev = evaluate(traces, state.c)
        if len(state.ev.matched) >= state.c.min_traces:
            self._pass(state)

    def _diagnose(self, state, services):
        c = state.c
        if state.error is not None:
            # The last poll failed on the network (or a 5xx): that is the answer, not the data.
            self._fail(state, state.error.reason, state.error.msg, state.error.context)
            return
        try:
            known = services.get()
            if c.service not in known:
                self._fail(state, "service_unknown", *_unknown_service(c.service, known))
                return
            if c.operation:
                ops = self.api.operations(c.service)
                if c.operation not in ops:
                    self._fail(state, "operation_unknown", *_unknown_operation(c, ops))
                    return
            if c.min_ms is not None or c.max_ms is not None:
                # The poll let Jaeger filter by duration; ask again without, to see what was measured.
                state.traces = self.api.search(self.query(c, with_durations=False))
                state.ev = evaluate(state.traces, c)
        except JaegerError as exc:
            self._fail(state, exc.reason, exc.msg, exc.context)
            return
        if len(state.ev.matched) >= c.min_traces:
            # Arrived between the last poll and now.
            self._pass(state)
            return
        reason, msg, ctx = explain(state.ev, c, self.since_text)
        if state.ev.closest is not None:
            ctx.update(self._trace_info(state.ev.closest[0], state.ev.closest[1]))
        ctx["traces_found"] = len(state.ev.matched)
        self._fail(state, reason, msg, ctx)

    def _trace_info(self, trace, span):
        return {
            "trace_id": trace.trace_id,
            "trace_url": f"{self.base_url}/trace/{trace.trace_id}",
            "spans": span_rows(trace),
            "waterfall": waterfall(trace, mark=span),
        }

    def _pass(self, state):
        c = state.c
        trace, span = state.ev.matched[0]
        found = len(state.ev.matched)
        detail = f" with {span.operation!r} ({span.duration_ms:.1f} ms)" if c.operation else ""
        result = {
            "service": c.service,
            "ok": True,
            "reason": "ok",
            "msg": f"found {found} matching trace(s) of {c.service!r}{detail}",
            "traces_found": found,
            "measured_ms": round(span.duration_ms, 3),
        }
        result.update(self._trace_info(trace, span))
        state.result = result
        state.done = True
        state.elapsed = self.monotonic()

    def _fail(self, state, reason, msg, context):
        result = {"service": state.c.service, "ok": False, "reason": reason, "msg": msg, "traces_found": 0}
        result.update(context)
        state.result = result
        state.done = True
        state.elapsed = self.monotonic()


def nearest(name, names, n=5):
    """The names most like `name` (difflib); the first few names when nothing is alike."""
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    return close or sorted(names)[:n]


def _unknown_service(service, known):
    near = nearest(service, known)
    seen = ", ".join(near) if near else "none: Jaeger has no services yet"
    msg = f"service {service!r} is not in Jaeger (nearest of {len(known)} seen: {seen})"
    return msg, {"services_seen": near, "services_count": len(known)}


def _unknown_operation(c, ops):
    # Nearest first, then the rest: a typo's fix leads, and a short list is shown whole.
    near = difflib.get_close_matches(c.operation, ops, n=5, cutoff=0.6)
    listed = near + [op for op in sorted(ops) if op not in near]
    shown = ", ".join(repr(op) for op in listed[:8]) + (f" and {len(listed) - 8} more" if len(listed) > 8 else "")
    msg = f"service {c.service!r} has no operation {c.operation!r} (it has: {shown or 'none'})"
    return msg, {"operations_seen": sorted(ops)}
