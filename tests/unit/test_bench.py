"""The bench's own arithmetic and its open-loop scheduler (benchmarks/loadgen.py, run.py, bench_stack.py).

No Docker: these are the parts whose mistakes would quietly skew every figure of `make bench`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_class_ssh  # noqa: E402
import loadgen  # noqa: E402
import run as bench_run  # noqa: E402
import stack  # noqa: E402


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([7.0], 99, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),  # unsorted input
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        (list(map(float, range(1, 101))), 99, 99.01),
        (list(map(float, range(1, 101))), 90, 90.1),
    ],
)
def test_percentile_interpolates_between_ranks(values, q, expected):
    result = loadgen.percentile(values, q)
    assert result == pytest.approx(expected) if expected is not None else result is None


def test_arrivals_are_a_fixed_rate():
    assert loadgen.arrival_offsets(4, 1) == [0.0, 0.25, 0.5, 0.75]
    assert len(loadgen.arrival_offsets(50, 60)) == 3000


def test_random_arrivals_keep_the_mean_rate_and_vary_the_gaps():
    offsets = loadgen.arrival_offsets(2, 20, seed=7)
    assert len(offsets) == 40
    assert offsets == sorted(offsets) and offsets[0] == 0.0
    gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
    assert len({round(gap, 6) for gap in gaps}) == len(gaps)  # no fixed period to meet a batch timer in phase
    assert offsets[-1] < 20
    assert loadgen.arrival_offsets(2, 20, seed=7) == offsets  # reproducible


@pytest.mark.parametrize(("rate", "duration"), [(0, 10), (10, 0), (-1, 5)])
def test_arrivals_need_a_positive_rate_and_duration(rate, duration):
    with pytest.raises(ValueError):
        loadgen.arrival_offsets(rate, duration)


def record(offset, latency, status=200, error="", lag=0.0):
    return {"offset": offset, "lag": lag, "latency": latency, "status": status, "error": error}


def test_summary_counts_errors_by_kind_and_excludes_them_from_latency():
    records = [record(0.0, 0.3), record(0.5, 0.4), record(1.0, 30.0, 0, "timeout"), record(1.5, 0.01, 503)]
    summary = loadgen.summarize(records, duration=2.0)
    assert summary["requests"] == 4
    assert summary["ok"] == 2
    assert summary["errors"] == 2
    assert summary["error_kinds"] == {"timeout": 1, "http_503": 1}
    assert summary["p50_s"] == pytest.approx(0.35)
    assert summary["max_s"] == pytest.approx(0.4)


def test_achieved_rate_runs_until_the_last_answer():
    # 10 requests offered in 1 s, the last answered at 4.9 s: the server managed 2/s, not 10/s.
    records = [record(i / 10, 4.0) for i in range(10)]
    assert loadgen.summarize(records, duration=1.0)["achieved_rps"] == pytest.approx(10 / 4.9, abs=0.01)
    quick = [record(i / 10, 0.01) for i in range(10)]
    assert loadgen.summarize(quick, duration=1.0)["achieved_rps"] == 10.0


def test_open_loop_sends_on_schedule_while_earlier_requests_are_still_open():
    """The defining property: a slow server does not slow the offered load down."""
    started: list[float] = []

    async def slow_send(i: int) -> int:
        started.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.5)  # far longer than the 20 ms between arrivals
        return 200

    async def scenario():
        begin = asyncio.get_running_loop().time()
        records = await loadgen.open_loop(loadgen.arrival_offsets(50, 0.2), slow_send)
        return begin, records

    begin, records = asyncio.run(scenario())
    assert len(records) == 10
    # every request went out before the first one answered, each close to its own arrival time
    assert max(started) - begin < 0.5
    assert max(r["lag"] for r in records) < 0.1
    assert all(0.5 <= r["latency"] < 0.7 for r in records)


def test_open_loop_records_failures_as_errors():
    async def send(i: int) -> int:
        if i == 0:
            raise ConnectionRefusedError
        if i == 1:
            raise TimeoutError
        return 503

    records = asyncio.run(loadgen.open_loop([0.0, 0.0, 0.0], send))
    assert [(r["status"], r["error"]) for r in records] == [(0, "ConnectionRefusedError"), (0, "timeout"), (503, "")]


def test_open_loop_really_talks_http():
    """Against a real local server: the status line is read and the traceparent header sent."""
    seen: list[str] = []

    async def scenario():
        async def handle(reader, writer):
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            seen.append(head)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        trace_ids = [""] * 3
        send = loadgen._sender({"url": f"http://127.0.0.1:{port}/api/v1/inventory", "token": "t0k"}, trace_ids)
        records = await loadgen.open_loop([0.0, 0.01, 0.02], send)
        server.close()
        return records, trace_ids

    records, trace_ids = asyncio.run(scenario())
    assert [r["status"] for r in records] == [200, 200, 200]
    assert all(len(t) == 32 for t in trace_ids)
    assert any(f"traceparent: 00-{trace_ids[0]}-" in head for head in seen)
    assert all("GET /api/v1/inventory HTTP/1.1" in head and "Authorization: Bearer t0k" in head for head in seen)


def trace(trace_id: str, *names: str) -> dict:
    return {"traceID": trace_id, "spans": [{"operationName": name} for name in names]}


def test_counting_matches_trace_ids_and_needs_both_spans():
    ours = ["0" * 31 + "1", "0" * 31 + "2", "0" * 31 + "3"]
    traces = [
        trace("1", loadgen.SERVER_SPAN, loadgen.SLOW_SPAN),  # Jaeger may drop leading zeros
        trace("0" * 31 + "2", loadgen.SERVER_SPAN),  # the child span is still on its way
        trace("ff", loadgen.SERVER_SPAN, loadgen.SLOW_SPAN),  # someone else's
    ]
    assert loadgen.count_in_traces(traces, ours) == {"requests": 3, "traces": 2, "complete_traces": 1, "spans": 3}


PROFILE_OUTPUT = """\
PLAY RECAP *********************************************************************
labvm-bench                : ok=28   changed=0    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0

TASKS RECAP ********************************************************************
Wednesday 25 November 2026  13:06:21 +0000 (0:00:00.036)       0:00:08.344 ****
===============================================================================
inventory_api : Build and start the inventory service ------------------- 0.98s
inventory_api : Write the merged compose file --------------------------- 0.86s
inventory_api : Send the request(s) that produce a trace ---------------- 0.84s
inventory_api : Wait until /health answers ------------------------------ 0.63s
inventory_api : Enable and start the Docker engine ---------------------- 0.62s
inventory_api : Check that docker compose is available ------------------ 0.58s
inventory_api : Merge the inventory service into the compose file (in memory) --- 0.11s
"""


def test_profile_tasks_output_gives_time_changes_and_the_slowest_five():
    result = stack.parse_profile(PROFILE_OUTPUT)
    assert result["seconds"] == 8.34
    assert result["changed"] == 0
    assert result["slowest"] == [
        ("Build and start the inventory service", 0.98),
        ("Write the merged compose file", 0.86),
        ("Send the request(s) that produce a trace", 0.84),
        ("Wait until /health answers", 0.63),
        ("Enable and start the Docker engine", 0.62),
    ]


def test_the_table_shows_every_figure_and_a_failed_script():
    results = [
        {"script": "a.py", "rc": 0, "seconds": 1.0, "title": "stack", "figures": [
            {"section": "load", "name": "p99", "value": 0.3123, "unit": "s", "target": "<= 0.6", "ok": True},
            {"section": "load", "name": "errors", "value": 2, "unit": "", "target": "0", "ok": False, "note": "x"},
        ]},
        {"script": "b.py", "rc": 3, "seconds": 2.0},
    ]  # fmt: skip
    lines = bench_run.table(results).splitlines()
    header = [cell.strip() for cell in lines[0].split("|")[1:-1]]
    assert header == ["section", "figure", "value", "target", "met", "note"]
    assert set(lines[1]) == {"|", "-"}
    assert "| load    | p99         | 0.312 s | <= 0.6 | yes |" in lines[2]
    assert "| load    | errors      | 2       | 0      | NO  | x" in lines[3]
    assert "| b.py    | exit status | 3       | 0      | NO  | b.py (2.0 s)" in lines[4]


RECAP_OUTPUT = """\
PLAY RECAP *********************************************************************
lab10-test-vm-cbf70cf4     : ok=59   changed=8    unreachable=0    failed=0    skipped=15   rescued=0    ignored=0
localhost                  : ok=12   changed=2    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
"""


def test_the_recap_gives_each_hosts_counts():
    recap = bench_class_ssh.parse_recap(RECAP_OUTPUT)
    assert recap["lab10-test-vm-cbf70cf4"] == {"ok": 59, "changed": 8, "unreachable": 0, "failed": 0,
                                               "skipped": 15, "rescued": 0, "ignored": 0}  # fmt: skip
    assert recap["localhost"]["ok"] == 12


def test_proc_stat_gives_the_parent_and_cpu_seconds_also_with_spaces_in_the_name():
    ticks = bench_class_ssh.TICKS
    fields = ["S", "41", "1", "1", "0", "-1", "4194560", "0", "0", "0", "0", str(3 * ticks), str(ticks)]
    assert bench_class_ssh.parse_stat("123 (ssh: /tmp/cp/x [mux]) " + " ".join(fields)) == (41, 4.0)


def test_descendants_follow_the_tree_and_leave_out_the_rest():
    parents = {10: 1, 11: 10, 12: 11, 13: 10, 20: 1, 21: 20}
    assert bench_class_ssh.descendants(10, parents) == {10, 11, 12, 13}
