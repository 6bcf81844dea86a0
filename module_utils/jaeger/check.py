# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The query plan and the one poll loop: search every pending service each round until all are
decided or the deadline comes, then look closer at each one still failing.

Rounds (not one long-lived poller per service) keep a bulk run bounded by `timeout` plus one
diagnosis pass, however many services fail and whatever `concurrency` is. The window is resolved
once, before the first search, so every poll asks about the same absolute times.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .match import evaluate, merge_traces, span_rows, waterfall
from .model import JaegerError, search_link, trace_link
from .query import Query
from .verdict import checks, explain, missing_in_trace, unknown_operation, unknown_service

# Span clocks (the app's host) and ours may disagree a little; search a bit into the "future".
CLOCK_SKEW_US = 60 * 1_000_000


class Plan:
    """What the module asks Jaeger, decided up front from the parameters.

    start_us/end_us: the absolute window. It ends when the polling does (timeout after the module
    started) plus clock skew, so a trace that starts while the module waits counts as much as one
    sent before the check; or at until_us (a deadline) when that is earlier: Jaeger then returns no
    trace that started later.
    fail_fast: decide a service as soon as a settled trace misses (see jaeger.match.Evaluation).
    """

    def __init__(
        self,
        criteria,
        start_us,
        window_text,
        timeout_s,
        interval_s,
        concurrency=16,
        limit=100,
        fail_fast=False,
        now_us=None,
        until_us=None,
    ):
        self.criteria = criteria
        self.start_us = start_us
        now_us = int(time.time() * 1_000_000) if now_us is None else now_us
        self.end_us = now_us + int(timeout_s * 1_000_000) + CLOCK_SKEW_US
        if until_us is not None:
            self.end_us = min(self.end_us, until_us)
        self.window_text = window_text
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.concurrency = concurrency
        self.limit = limit
        self.fail_fast = fail_fast

    def search(self, c, operation, with_durations):
        return Query(
            c.service,
            operation,
            start_us=self.start_us,
            end_us=self.end_us,
            min_ms=c.min_ms if with_durations else None,
            max_ms=c.max_ms if with_durations else None,
            limit=max(self.limit, c.min_traces),
        )

    def poll_query(self, c):
        """The search of each round. Normally Jaeger pre-filters by operation and duration; fail_fast
        asks for the anchor's traces unfiltered, since a miss is what it must see."""
        if self.fail_fast:
            return self.search(c, c.parent_operation, with_durations=False)
        return self.search(c, c.operation, with_durations=True)


class _State:
    def __init__(self, criteria):
        self.c = criteria
        self.polls = 0
        self.error = None
        self.traces = []
        self.ev = None
        self.result = None
        self.finished = 0.0


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
    def __init__(self, api, ui_base, monotonic=time.monotonic, sleep=time.sleep):
        """ui_base: the Jaeger UI's base URL, for the links (the query URL unless the UI is elsewhere)."""
        self.api = api
        self.ui_base = ui_base
        self.monotonic = monotonic
        self.sleep = sleep

    def run(self, plan, deadline=None):
        """One result dict per criteria, in order. `deadline` (monotonic) may have been started earlier."""
        started = self.monotonic()
        deadline = started + plan.timeout_s if deadline is None else deadline
        states = [_State(c) for c in plan.criteria]
        pending = list(states)
        workers = max(1, min(plan.concurrency, len(states)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while pending:
                list(pool.map(lambda s: self._poll(plan, s), pending))
                pending = [s for s in pending if s.result is None]
                remaining = deadline - self.monotonic()
                if not pending or remaining <= 0:
                    break
                self.sleep(min(plan.interval_s, remaining))
            services = _Once(self.api.services)
            list(pool.map(lambda s: self._diagnose(plan, s, services), pending))
        for state in states:
            state.result.update(polls=state.polls, elapsed=round(state.finished - started, 3))
        return [s.result for s in states]

    def _poll(self, plan, state):
        state.polls += 1
        try:
            traces = self.api.search(plan.poll_query(state.c))
        except JaegerError as exc:
            state.error = exc
            if not exc.retry:
                self._fail(plan, state, exc.reason, exc.msg, exc.context)
            return
        state.error = None
        state.traces = traces
        state.ev = evaluate(traces, state.c)
        if len(state.ev.matched) >= state.c.min_traces:
            self._pass(plan, state)
        elif plan.fail_fast and state.ev.settled:
            self._settle(plan, state)

    def _settle(self, plan, state):
        """fail_fast: a settled trace is in Jaeger and nothing matches -> the verdict, now."""
        c = state.c
        # Only the settled traces speak: a span elsewhere may still be waiting for its parent.
        ev = evaluate(state.ev.settled, c)
        if ev.closest is not None:
            reason, msg, ctx = explain(ev, c, plan.window_text)
            ctx.update(self._trace_info(ev.closest[0], ev.closest[1]))
        else:
            trace = ev.settled[0]
            reason, msg, ctx = missing_in_trace(c, trace)
            ctx.update(self._trace_info(trace, None))
        self._fail(plan, state, reason, msg, ctx, ev)

    def _diagnose(self, plan, state, services):
        c = state.c
        if state.error is not None:
            # The last poll failed on the network (or a 5xx): that is the answer, not the data.
            self._fail(plan, state, state.error.reason, state.error.msg, state.error.context)
            return
        try:
            known = services.get()
            if c.service not in known:
                self._fail(plan, state, *unknown_service(c.service, known))
                return
            ops = self.api.operations(c.service) if c.operation else []
            # Unfiltered, to see what was measured: the span's own search, and its parent's for the checks.
            groups = [state.traces]
            if c.operation in ops or not c.operation:
                groups.append(self.api.search(plan.search(c, c.operation, with_durations=False)))
            if c.parent_operation and not (state.ev and state.ev.parent_seen):
                groups.append(self.api.search(plan.search(c, c.parent_operation, with_durations=False)))
        except JaegerError as exc:
            self._fail(plan, state, exc.reason, exc.msg, exc.context)
            return
        state.traces = merge_traces(*groups)
        state.ev = ev = evaluate(state.traces, c)
        if len(ev.matched) >= c.min_traces:
            # Arrived between the last poll and now.
            self._pass(plan, state)
            return
        if c.operation and c.operation not in ops:
            reason, msg, ctx = unknown_operation(c, ops)
        else:
            reason, msg, ctx = explain(ev, c, plan.window_text)
            if ev.closest is not None:
                ctx.update(self._trace_info(ev.closest[0], ev.closest[1]))
        ctx["traces_found"] = len(ev.matched)
        self._fail(plan, state, reason, msg, ctx, ev)

    def _trace_info(self, trace, span):
        return {
            "trace_id": trace.trace_id,
            "trace_url": trace_link(self.ui_base, trace.trace_id),
            "spans": span_rows(trace),
            "waterfall": waterfall(trace, mark=span),
        }

    def _pass(self, plan, state):
        c, ev = state.c, state.ev
        trace, span = ev.matched[0]
        found = len(ev.matched)
        detail = f" with {span.operation!r} ({span.duration_ms:.1f} ms)" if c.operation else ""
        msg = f"found {found} matching trace(s) of {c.service!r}{detail}"
        result = {
            "service": c.service,
            "ok": True,
            "reason": "ok",
            "msg": msg,
            "search_url": search_link(self.ui_base, c.service),
            "traces_found": found,
            "measured_ms": round(span.duration_ms, 3),
            "checks": checks(c, "ok", msg, ev, plan.window_text),
        }
        result.update(self._trace_info(trace, span))
        state.result = result
        state.finished = self.monotonic()

    def _fail(self, plan, state, reason, msg, context, ev=None):
        result = {"service": state.c.service, "ok": False, "reason": reason, "msg": msg, "traces_found": 0}
        result["search_url"] = search_link(self.ui_base, state.c.service)
        result.update(context)
        result["checks"] = checks(state.c, reason, msg, ev, plan.window_text)
        state.result = result
        state.finished = self.monotonic()
