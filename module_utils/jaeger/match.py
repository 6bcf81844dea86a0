# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side matching of spans against the check's criteria, and the text waterfall.

Jaeger's search already filters by operation and duration, but its answer alone cannot say
*what was measured*; re-checking every returned span here is what lets a failure name the
duration it saw, or the parent the span really has (jaeger.verdict turns that into words).
"""

from __future__ import annotations

import json

from .model import rfc3339

# A span's criteria form three stages, checked in this order: a span that misses an earlier stage
# is further from matching than one that misses a later one (jaeger.verdict names the reasons).
STAGES = ("operation", "duration", "attributes")
MISS_STAGE = {"parent": 0, "min": 1, "max": 1, "attributes": 2}


class Criteria:
    def __init__(
        self,
        service,
        operation=None,
        parent_operation=None,
        min_ms=None,
        max_ms=None,
        attributes=None,
        min_traces=1,
    ):
        self.service = service
        self.operation = operation
        self.parent_operation = parent_operation
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.attributes = dict(attributes or {})
        self.min_traces = min_traces

    def attribute_ok(self, span, key):
        return key in span.attributes and canon(span.attributes[key]) == canon(self.attributes[key])


def canon(value):
    """Attribute values compared loosely: YAML's `200`, `"200"` and OTLP's intValue "200" agree."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.lower() if value.lower() in ("true", "false") else value
    if value is None:
        return ""
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return str(value)


def shown(value):
    """An attribute value as JSON would write it (true, 200, "text"): what the user typed in YAML."""
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def misses(span, by_id, c):
    """The criteria `span` misses ([] = it matches), in stage order: parent, min, max, attributes."""
    out = []
    if c.parent_operation is not None:
        parent = by_id.get(span.parent_id)
        if parent is None or parent.operation != c.parent_operation:
            out.append("parent")
    if c.min_ms is not None and span.duration_ms < c.min_ms:
        out.append("min")
    if c.max_ms is not None and span.duration_ms > c.max_ms:
        out.append("max")
    if any(not c.attribute_ok(span, key) for key in c.attributes):
        out.append("attributes")
    return out


def stages_passed(missed):
    """How many STAGES a span passes in a row."""
    return min((MISS_STAGE[m] for m in missed), default=len(STAGES))


class Evaluation:
    """What the fetched traces say about one criteria.

    matched: [(trace, span)], newest first, one per trace. closest: (trace, span, misses) of the
    span that got furthest without matching, or None. furthest: the most STAGES any candidate span
    passed (0 when there is none). parent_seen: a trace holds the service's parent_operation span.
    settled: the traces that hold their anchor span (a served parent_operation, see is_anchor),
    newest first: once such a trace is in Jaeger, its spans have all ended.
    """

    def __init__(self, matched, closest, durations, furthest, parent_seen, settled):
        self.matched = matched
        self.closest = closest
        # Durations (ms) of every span that had the right service and operation.
        self.durations = durations
        self.furthest = furthest
        self.parent_seen = parent_seen
        self.settled = settled


def of_service(span, c):
    # A trace can hold other services' spans; a span without service info is given the benefit.
    return span.service is None or span.service == c.service


def is_candidate(span, c):
    return of_service(span, c) and (c.operation is None or span.operation == c.operation)


# Where OpenTelemetry's HTTP instrumentation puts a server span's status (new, then old conventions).
STATUS_KEYS = ("http.response.status_code", "http.status_code")


def answered_ok(span):
    """A span of a request that got a 2xx answer (or one that says nothing about it)."""
    for key in STATUS_KEYS:
        if key in span.attributes:
            try:
                return 200 <= int(span.attributes[key]) < 300
            except (TypeError, ValueError):
                return False
    return True


def is_anchor(span, c):
    """The parent_operation span of a request that was served: once it is in, its trace is complete.

    A refused request (401, 403) or an error never reaches the operation, so it settles nothing."""
    return (
        c.parent_operation is not None
        and of_service(span, c)
        and span.operation == c.parent_operation
        and answered_ok(span)
    )


def evaluate(traces, c):
    matched, near, durations, settled = [], [], [], []
    furthest, parent_seen = 0, False
    for trace in traces:
        by_id = trace.by_id()
        best = None
        anchored = False
        for span in trace.spans:
            anchored = anchored or is_anchor(span, c)
            if c.parent_operation is not None and of_service(span, c) and span.operation == c.parent_operation:
                parent_seen = True
            if not is_candidate(span, c):
                continue
            durations.append(span.duration_ms)
            missed = misses(span, by_id, c)
            passed = stages_passed(missed)
            furthest = max(furthest, passed)
            if not missed:
                best = span if best is None or span.start_us > best.start_us else best
            else:
                near.append((passed, span.start_us, trace, span, missed))
        if best is not None:
            matched.append((trace, best))
        if anchored:
            settled.append(trace)
    matched.sort(key=lambda pair: -pair[1].start_us)
    settled.sort(key=lambda trace: -trace.start_us)
    closest = None
    if near:
        # Furthest first, then the newest.
        closest = max(near, key=lambda item: (item[0], item[1]))[2:]
    return Evaluation(matched, closest, durations, furthest, parent_seen, settled)


def merge_traces(*groups):
    """Traces of several searches, each trace once (first seen wins)."""
    seen, out = set(), []
    for group in groups:
        for trace in group:
            if trace.trace_id not in seen:
                seen.add(trace.trace_id)
                out.append(trace)
    return out


# --- presentation ------------------------------------------------------------------------------


def ordered(trace):
    """(depth, span) in tree order: children after their parent, siblings by start time."""
    by_id = trace.by_id()
    children = {}
    roots = []
    for span in sorted(trace.spans, key=lambda s: (s.start_us, s.span_id)):
        if span.parent_id in by_id and span.parent_id != span.span_id:
            children.setdefault(span.parent_id, []).append(span)
        else:
            roots.append(span)
    out, seen = [], set()
    # Iterative, with a seen-set: a malformed trace may nest deeply or even loop.
    stack = [(0, span) for span in reversed(roots)]
    while stack or len(seen) < len(trace.spans):
        if not stack:
            # Spans only reachable through a parent loop: show them as roots.
            stack = [(0, next(s for s in trace.spans if id(s) not in seen))]
        depth, span = stack.pop()
        if id(span) in seen:
            continue
        seen.add(id(span))
        out.append((depth, span))
        stack.extend((depth + 1, child) for child in reversed(children.get(span.span_id, [])))
    return out


def span_rows(trace):
    by_id = trace.by_id()
    t0 = trace.start_us
    rows = []
    for depth_and_span in ordered(trace):
        span = depth_and_span[1]
        parent = by_id.get(span.parent_id)
        rows.append(
            {
                "operation": span.operation,
                "service": span.service,
                "duration_ms": round(span.duration_ms, 3),
                "parent": parent.operation if parent else None,
                "span_id": span.span_id,
                "parent_span_id": span.parent_id,
                "start": rfc3339(span.start_us),
                "offset_ms": round((span.start_us - t0) / 1000.0, 3),
            }
        )
    return rows


def waterfall(trace, mark=None, width=30, max_rows=40):
    """A few lines of text: indentation = depth, offset and duration in ms, a bar on one scale."""
    rows = ordered(trace)
    t0 = trace.start_us
    end = max((s.start_us + s.duration_us for s in trace.spans), default=t0)
    total = max(end - t0, 1)
    name_width = min(48, max((2 * d + len(s.operation) for d, s in rows[:max_rows]), default=10))
    lines = [f"{'operation':<{name_width}} {'offset':>9} {'duration':>9}"]
    for depth, span in rows[:max_rows]:
        name = ("  " * depth + span.operation)[:name_width]
        left = min(width - 1, max(0, int((span.start_us - t0) * width / total)))
        size = max(1, min(width - left, int(round(span.duration_us * width / total))))
        drawn = " " * left + "#" * size + " " * (width - left - size)
        flag = " <" if span is mark else ""
        offset = (span.start_us - t0) / 1000.0
        lines.append(f"{name:<{name_width}} {offset:>7.1f}ms {span.duration_ms:>7.1f}ms |{drawn}|{flag}")
    if len(rows) > max_rows:
        lines.append(f"... {len(rows) - max_rows} more spans")
    return "\n".join(lines)
