# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side matching of spans against the check's criteria, the explanation of a miss, and
the text waterfall.

Jaeger's search already filters by operation and duration, but its answer alone cannot say
*what was measured*; re-checking every returned span here is what lets a failure name the
duration it saw, or the parent the span really has.
"""

from __future__ import annotations

import json

from ansible.module_utils.jaeger_model import format_ms, rfc3339

# Order of the checks when the closest span misses several: the one graders ask about first.
CHECKS = ("too_short", "too_long", "parent_mismatch", "attributes_mismatch")


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


def failures(span, by_id, c):
    """The checks `span` fails ([] = it matches), in CHECKS order."""
    out = []
    if c.min_ms is not None and span.duration_ms < c.min_ms:
        out.append("too_short")
    if c.max_ms is not None and span.duration_ms > c.max_ms:
        out.append("too_long")
    if c.parent_operation is not None:
        parent = by_id.get(span.parent_id)
        if parent is None or parent.operation != c.parent_operation:
            out.append("parent_mismatch")
    for key, want in c.attributes.items():
        if key not in span.attributes or canon(span.attributes[key]) != canon(want):
            out.append("attributes_mismatch")
            break
    return out


class Evaluation:
    """matched: [(trace, span)], newest first, one per trace. closest: (trace, span, failures)."""

    def __init__(self, matched, closest, durations):
        self.matched = matched
        self.closest = closest
        # Durations (ms) of every span that had the right service and operation.
        self.durations = durations


def is_candidate(span, c):
    # A trace can hold other services' spans; a span without service info is given the benefit.
    if span.service is not None and span.service != c.service:
        return False
    return c.operation is None or span.operation == c.operation


def evaluate(traces, c):
    matched, near, durations = [], [], []
    for trace in traces:
        by_id = trace.by_id()
        best = None
        for span in trace.spans:
            if not is_candidate(span, c):
                continue
            durations.append(span.duration_ms)
            fails = failures(span, by_id, c)
            if not fails:
                best = span if best is None or span.start_us > best.start_us else best
            else:
                near.append((len(fails), -span.start_us, trace, span, fails))
        if best is not None:
            matched.append((trace, best))
    matched.sort(key=lambda pair: -pair[1].start_us)
    closest = None
    if near:
        _, _, trace, span, fails = min(near, key=lambda item: (item[0], item[1]))
        closest = (trace, span, fails)
    return Evaluation(matched, closest, durations)


def explain(ev, c, since_text):
    """Why the check failed although service and operation exist -> (reason, msg, context)."""
    found = len(ev.matched)
    if found:
        return (
            "too_few_traces",
            f"found {found} matching trace(s) of {c.service!r} in the last {since_text}, min_traces is {c.min_traces}",
            {},
        )
    if ev.closest is None:
        what = f"with operation {c.operation!r} " if c.operation else ""
        return (
            "no_traces",
            f"no trace of {c.service!r} {what}in the last {since_text} (raise since, or send a request first)",
            {},
        )
    trace, span, fails = ev.closest
    reason = fails[0]
    label = f"span {span.operation!r} of {c.service!r}"
    ctx = {"measured_ms": round(span.duration_ms, 3)}
    seen = len(ev.durations)
    if reason == "too_short":
        longest = max(ev.durations, default=span.duration_ms)
        extra = f" (longest of {seen} seen: {format_ms(longest)})" if seen > 1 else ""
        msg = f"{label} lasted {format_ms(span.duration_ms)}, below min_duration {format_ms(c.min_ms)}{extra}"
    elif reason == "too_long":
        shortest = min(ev.durations, default=span.duration_ms)
        extra = f" (shortest of {seen} seen: {format_ms(shortest)})" if seen > 1 else ""
        msg = f"{label} lasted {format_ms(span.duration_ms)}, above max_duration {format_ms(c.max_ms)}{extra}"
    elif reason == "parent_mismatch":
        parent = trace.by_id().get(span.parent_id)
        ctx["parent_seen"] = parent.operation if parent else None
        if parent is not None:
            where = f"sits under {parent.operation!r}"
        elif span.parent_id:
            where = f"has parent span {span.parent_id} that is not in the trace"
        else:
            where = "is a root span"
        msg = f"{label} {where}, not under parent_operation {c.parent_operation!r}"
    else:
        key = next(
            k for k in c.attributes if k not in span.attributes or canon(span.attributes[k]) != canon(c.attributes[k])
        )
        ctx["attributes_seen"] = {k: span.attributes.get(k) for k in c.attributes}
        seen = f"{key}={shown(span.attributes[key])}" if key in span.attributes else f"no attribute {key!r}"
        msg = f"{label} has {seen}, attributes wants {key}={shown(c.attributes[key])}"
    return reason, msg, ctx


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
    for _, span in ordered(trace):
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
        bar = " " * left + "#" * size + " " * (width - left - size)
        flag = " <" if span is mark else ""
        offset = (span.start_us - t0) / 1000.0
        lines.append(f"{name:<{name_width}} {offset:>7.1f}ms {span.duration_ms:>7.1f}ms |{bar}|{flag}")
    if len(rows) > max_rows:
        lines.append(f"... {len(rows) - max_rows} more spans")
    return "\n".join(lines)
