#!/usr/bin/env python3
"""Open-loop load, trace-latency probes, Jaeger span counts and memory samples for `make bench`.

Standard library only: bench_stack.py copies this file into the lab VM and runs it there
(`docker exec -i VM python3 loadgen.py < SPEC`), so requests take the same hop as the course's Apache
(127.0.0.1:5000 -> docker-proxy -> the app) and Jaeger is asked at the address the VM uses. SPEC is one
JSON object (on stdin, or as the only argument); the result is one JSON object on stdout.

Open loop: request i is sent at start + i / rate whether or not earlier ones have returned, so a slow
server cannot slow the offered load down (no coordinated omission); latency is measured from the
scheduled send time. Every request carries its own W3C `traceparent`, so each request is matched to
its trace in Jaeger by id.

One file, over 300 lines, because it is copied into the lab VM alone.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request

SERVER_SPAN = "GET /api/v1/inventory"
SLOW_SPAN = "validate_inventory_cache"


# --- pure helpers (unit-tested in tests/unit/test_bench.py) ------------------------------------
def arrival_offsets(rate: float, duration: float, seed: int | None = None) -> list[float]:
    """Send times in seconds from the start, round(rate * duration) of them: a fixed arrival rate, or with
    a seed, Poisson arrivals of that mean rate (random gaps; their mean is exactly 1 / rate)."""
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    count = round(rate * duration)
    if seed is None:
        return [i / rate for i in range(count)]
    rng = random.Random(seed)  # noqa: S311 -- arrival times, not secrets
    gaps = [rng.expovariate(1.0) for _ in range(count)]
    scale = count / rate / sum(gaps)
    offsets, now = [], 0.0
    for gap in gaps:
        offsets.append(now)
        now += gap * scale
    return offsets


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(records: list[dict], duration: float) -> dict:
    """Rate, latency percentiles and errors of a run. A record: offset, lag, latency, status, error."""
    ok = [r for r in records if r["status"] == 200]
    latencies = [r["latency"] for r in ok]
    errors: dict[str, int] = {}
    for r in records:
        if r["status"] != 200:
            kind = r["error"] or f"http_{r['status']}"
            errors[kind] = errors.get(kind, 0) + 1
    finished = max((r["offset"] + r["latency"] for r in ok), default=duration)
    return {
        "requests": len(records),
        "ok": len(ok),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        # Completed per second over the whole run, until the last answer: under overload this is the capacity.
        "achieved_rps": round(len(ok) / max(duration, finished), 2),
        "p50_s": _round(percentile(latencies, 50)),
        "p90_s": _round(percentile(latencies, 90)),
        "p99_s": _round(percentile(latencies, 99)),
        "max_s": _round(max(latencies, default=None)),
        "max_send_lag_s": _round(max((r["lag"] for r in records), default=0.0)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def new_traceparent() -> tuple[str, str]:
    """(trace id, traceparent header) for a sampled trace with a random id."""
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    return trace_id, f"00-{trace_id}-{span_id}-01"


def count_in_traces(traces: list[dict], trace_ids: list[str]) -> dict:
    """How many of trace_ids Jaeger holds with both spans, and how many spans those traces have."""
    wanted = {int(t, 16) for t in trace_ids}
    found = complete = spans = 0
    for trace in traces:
        if int(trace["traceID"], 16) not in wanted:
            continue
        found += 1
        names = [s["operationName"] for s in trace["spans"]]
        spans += len(names)
        complete += SERVER_SPAN in names and SLOW_SPAN in names
    return {"requests": len(wanted), "traces": found, "complete_traces": complete, "spans": spans}


# --- HTTP -------------------------------------------------------------------------------------------------
async def http_get(host: str, port: int, path: str, headers: dict[str, str]) -> int:
    """One GET on a new connection (as a reverse proxy does); the status code."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}Connection: close\r\n\r\n".encode())
        await writer.drain()
        body = await reader.read()  # until the server closes
    finally:
        writer.close()
    if not body.startswith(b"HTTP/"):
        raise ConnectionError("no HTTP answer")
    return int(body.split(b" ", 2)[1])


def fetch_json(url: str, timeout: float = 30) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 -- the bench's own Jaeger
        return json.loads(resp.read())


def jaeger_traces(jaeger: str, service: str, start: float, limit: int) -> list[dict]:
    """Traces of the service that started after `start` (epoch seconds), v1 JSON API."""
    query = urllib.parse.urlencode({"service": service, "start": int(start * 1e6), "limit": limit})
    return fetch_json(f"{jaeger}/api/traces?{query}", timeout=60).get("data") or []


# --- open loop ----------------------------------------------------------------------------------------------
async def open_loop(offsets: list[float], send, on_done=None) -> list[dict]:
    """Call `send(i)` at each offset from now, never waiting for earlier calls; one record per call.

    `send` returns an HTTP status; an exception (or the timeout inside it) is an error record.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    records: list[dict] = [{}] * len(offsets)

    async def one(i: int, offset: float) -> None:
        sent = loop.time() - start
        status, error = 0, ""
        try:
            status = await send(i)
        except TimeoutError:
            error = "timeout"
        except OSError as exc:
            error = type(exc).__name__
        done = loop.time() - start
        records[i] = {
            "offset": offset,
            "lag": sent - offset,
            "latency": done - offset,
            "status": status,
            "error": error,
        }
        if on_done is not None:
            on_done(i, status)

    tasks = []
    for i, offset in enumerate(offsets):
        delay = start + offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i, offset)))
    await asyncio.gather(*tasks)
    return records


def _target(spec: dict) -> tuple[str, int, str, dict[str, str]]:
    url = urllib.parse.urlsplit(spec["url"])
    headers = {"Authorization": f"Bearer {spec['token']}"} if spec.get("token") else {}
    return url.hostname or "127.0.0.1", url.port or 80, url.path or "/", headers


def _sender(spec: dict, trace_ids: list[str]):
    host, port, path, headers = _target(spec)
    timeout = float(spec.get("timeout", 30))

    async def send(i: int) -> int:
        trace_id, header = new_traceparent()
        trace_ids[i] = trace_id
        return await asyncio.wait_for(http_get(host, port, path, {**headers, "traceparent": header}), timeout)

    return send


# --- modes ------------------------------------------------------------------------------------------------
async def mode_load(spec: dict) -> dict:
    """Fixed arrival rate for a duration; optional memory samples of a container meanwhile."""
    offsets = arrival_offsets(spec["rate"], spec["duration"])
    trace_ids = [""] * len(offsets)
    samples: list[dict] = []
    sampler = None
    if spec.get("memory_of"):
        sampler = asyncio.ensure_future(_sample_memory(spec["memory_of"], spec.get("memory_every", 2.0), samples))
    cpu_before = container_cpu(spec["cpu_of"]) if spec.get("cpu_of") else None
    started = time.time()
    records = await open_loop(offsets, _sender(spec, trace_ids))
    if sampler is not None:
        sampler.cancel()
    cpu = None if cpu_before is None else round(container_cpu(spec["cpu_of"]) - cpu_before, 2)
    result = {
        "started": started,
        "rate": spec["rate"],
        "duration": spec["duration"],
        **summarize(records, spec["duration"]),
    }
    result["trace_ids"] = [t for t, r in zip(trace_ids, records, strict=True) if r["status"] == 200]
    if cpu is not None:
        result["app_cpu_s"] = cpu
    if samples:
        result["memory_samples"] = samples
    return result


async def mode_probe(spec: dict) -> dict:
    """Request returned -> trace with both spans queryable in Jaeger, per request (polled every `poll` s)."""
    loop = asyncio.get_running_loop()
    # Random (Poisson) arrivals: requests at a fixed period would meet the batch timers (the SDK's and
    # Jaeger's) always at the same phase and measure one delay instead of their spread.
    offsets = arrival_offsets(spec["rate"], spec["count"] / spec["rate"], seed=spec.get("seed", 10))
    trace_ids = [""] * len(offsets)
    returned: dict[str, float] = {}
    visible: dict[str, float] = {}
    started = time.time()

    def on_done(i: int, status: int) -> None:
        if status == 200:
            returned[trace_ids[i]] = time.time()

    all_sent = asyncio.Event()

    async def poll() -> None:
        deadline = None
        while True:
            if all_sent.is_set() and deadline is None:
                deadline = time.time() + spec["give_up_after"]
            waiting = {t for t in returned if t not in visible}
            if deadline is not None and (not waiting or time.time() > deadline):
                return
            asked = time.time()
            if waiting:
                traces = await loop.run_in_executor(
                    None, jaeger_traces, spec["jaeger"], spec["service"], started - 5, 10 * len(offsets)
                )
                answered = time.time()
                for trace in traces:
                    names = {s["operationName"] for s in trace["spans"]}
                    tid = format(int(trace["traceID"], 16), "032x")
                    if {SERVER_SPAN, SLOW_SPAN} <= names and tid in waiting:
                        visible[tid] = answered  # conservative: up to one poll late
            await asyncio.sleep(max(0.0, spec["poll"] - (time.time() - asked)))

    poller = asyncio.ensure_future(poll())
    records = await open_loop(offsets, _sender(spec, trace_ids), on_done)
    all_sent.set()
    await poller
    delays = [visible[t] - returned[t] for t in returned if t in visible]
    return {
        "requests": len(records),
        "returned": len(returned),
        "visible": len(delays),
        "lost": len(returned) - len(delays),
        "p50_s": _round(percentile(delays, 50)),
        "p90_s": _round(percentile(delays, 90)),
        "max_s": _round(max(delays, default=None)),
        "poll_s": spec["poll"],
    }


async def mode_first_trace(spec: dict) -> dict:
    """A request every `every` s until one's trace is in Jaeger: seconds from now to that moment."""
    loop = asyncio.get_running_loop()
    host, port, path, headers = _target(spec)
    start = time.time()
    sent: list[str] = []
    while time.time() - start < spec["give_up_after"]:
        trace_id, header = new_traceparent()
        try:
            await asyncio.wait_for(http_get(host, port, path, {**headers, "traceparent": header}), 10)
            sent.append(trace_id)
        except (TimeoutError, OSError):
            pass
        traces = await loop.run_in_executor(None, jaeger_traces, spec["jaeger"], spec["service"], start - 1, 1000)
        found = count_in_traces(traces, sent) if sent else {"complete_traces": 0}
        if found["complete_traces"]:
            return {"first_trace_s": round(time.time() - start, 3), "requests": len(sent)}
        await asyncio.sleep(spec["every"])
    return {"first_trace_s": None, "requests": len(sent)}


def mode_count(spec: dict) -> dict:
    """Wait until Jaeger holds every trace (or nothing more arrives for `settle` s), then count."""
    deadline = time.time() + spec["give_up_after"]
    last, last_change = -1, time.time()
    while True:
        traces = jaeger_traces(spec["jaeger"], spec["service"], spec["since"], spec["limit"])
        counts = count_in_traces(traces, spec["trace_ids"])
        if counts["complete_traces"] != last:
            last, last_change = counts["complete_traces"], time.time()
        if counts["complete_traces"] == counts["requests"] or time.time() > deadline:
            return counts
        if time.time() - last_change > spec["settle"]:
            return counts
        time.sleep(1)


def container_pid(name: str) -> str:
    return subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Pid}}", name], capture_output=True, text=True, check=True
    ).stdout.strip()


def container_memory(name: str) -> dict:
    """RSS and PSS (kB) and CPU seconds of a container's main process (gunicorn's master) and each child
    (a worker)."""
    pid = container_pid(name)
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            children += handle.read().split()
    return {"master": _process(pid), "workers": [_process(child) for child in children]}


def cpu_seconds(pid: str | int) -> float:
    """User + system CPU time of a process (all its threads) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process(pid: str) -> dict:
    values: dict = {"pid": int(pid)}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss"):
                    values[key.lower() + "_kb"] = int(rest.split()[0])
        values["cpu_s"] = cpu_seconds(pid)
    except OSError:
        pass
    return values


def container_cpu(name: str) -> float:
    memory = container_memory(name)
    return memory["master"].get("cpu_s", 0.0) + sum(w.get("cpu_s", 0.0) for w in memory["workers"])


async def _sample_memory(name: str, every: float, samples: list[dict]) -> None:
    loop = asyncio.get_running_loop()
    start = time.time()
    while True:
        try:
            memory = await loop.run_in_executor(None, container_memory, name)
        except (OSError, subprocess.CalledProcessError):
            memory = None
        if memory is not None:
            total = memory["master"].get("rss_kb", 0) + sum(w.get("rss_kb", 0) for w in memory["workers"])
            samples.append({"t": round(time.time() - start, 1), "rss_kb": total})
        await asyncio.sleep(every)


MODES = {"load": mode_load, "probe": mode_probe, "first_trace": mode_first_trace}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1] if len(argv) > 1 else sys.stdin.read())
    mode = spec["mode"]
    if mode in MODES:
        result = asyncio.run(MODES[mode](spec))
    elif mode == "count":
        result = mode_count(spec)
    elif mode == "memory":
        result = container_memory(spec["container"])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
