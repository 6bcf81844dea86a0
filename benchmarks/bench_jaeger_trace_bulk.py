#!/usr/bin/env python3
"""Time one bulk jaeger_trace run over N services (an instructor grading a class) on a real Jaeger.

Starts its own Jaeger (the test bed's binary, else JAEGER_IMAGE with docker; see
scripts/record_jaeger_fixtures.py) unless --query-url/--otlp-url are given, sends one inventory
trace per service with the OpenTelemetry SDK (tests/support/otlp.py), then runs
`ansible localhost -M library -m jaeger_trace` once over all of them, per query API. Prints numbers.

    .venv/bin/python benchmarks/bench_jaeger_trace_bulk.py [-n 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "scripts"))

from otlp import INVENTORY_ROUTE, SLOW_SPAN, emit_trace  # noqa: E402
from testbed_lib.local_jaeger import LocalJaeger  # noqa: E402


def send(otlp_url: str, services: list[str]) -> float:
    """One trace per service; emit_trace sleeps through the 320 ms span, so send in parallel."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda s: emit_trace(otlp_url, s, child_ms=320), services))
    return time.monotonic() - started


def wait_ingested(query_url: str, services: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    wanted = set(services)
    while True:
        with urlopen(f"{query_url}/api/services", timeout=10) as resp:  # noqa: S310 -- our local Jaeger
            if wanted <= set(json.loads(resp.read())["data"] or []):
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"Jaeger did not list all {len(wanted)} services within {timeout}s")
        time.sleep(0.5)


def run_ansible(args: dict) -> tuple[float, dict]:
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "json",
    }
    ansible = Path(sys.executable).with_name("ansible")
    started = time.monotonic()
    proc = subprocess.run(
        [str(ansible), "localhost", "-M", "library", "-m", "jaeger_trace", "-a", json.dumps(args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    wall = time.monotonic() - started
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise SystemExit(
            f"ansible gave no result (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr}"
        ) from None
    return wall, result


def bench(query_url: str, otlp_url: str, n: int, concurrency: int) -> int:
    run_id = uuid.uuid4().hex[:6]
    services = [f"inventory.bench{run_id}-vm{i:03d}.sysadm.ee" for i in range(n)]
    print(f"jaeger query {query_url}, otlp {otlp_url}")
    print(f"sent {n} traces in {send(otlp_url, services):.1f}s")
    wait_ingested(query_url, services)

    common = {"url": query_url, "operation": SLOW_SPAN, "parent_operation": INVENTORY_ROUTE,
              "min_duration": "300ms", "max_duration": "2s", "timeout": 60}  # fmt: skip
    wall1, _ = run_ansible({**common, "service": services[0], "api": "v3"})
    print(f"baseline: one service through ansible: {wall1:.2f}s wall (ansible start-up + ansiballz)")
    section = f"bulk jaeger_trace, {n} services"
    figures = [{"section": section, "name": "one service, through ansible", "value": round(wall1, 2), "unit": "s"}]
    failed = 0
    print(f"{'api':4} {'services':>8} {'passed':>6} {'failed':>6} {'polls':>5} {'module_s':>9} {'wall_s':>7}")
    for api in ("v3", "v1"):
        wall, res = run_ansible({**common, "services": services, "api": api, "concurrency": concurrency})
        summary = res.get("summary") or {}
        print(f"{api:4} {summary.get('total', 0):>8} {summary.get('passed', 0):>6} {summary.get('failed', 0):>6} "
              f"{res.get('polls', 0):>5} {res.get('elapsed', 0):>9.2f} {wall:>7.2f}")  # fmt: skip
        if res.get("failed"):
            failed += 1
            print(f"  {res.get('msg')}")
        note = f"{wall:.2f} s with ansible's start-up; {summary.get('passed', 0)} passed, {res.get('polls', 0)} polls"
        figures.append({"section": section, "name": f"API {api}: time in the module", "unit": "s",
                        "value": round(res.get("elapsed", 0), 2), "target": f"{n} passed",
                        "ok": summary.get("passed") == n, "note": note})  # fmt: skip
    if os.environ.get("LAB10_BENCH_JSON"):  # benchmarks/run.py (`make bench`) puts this in its table
        Path(os.environ["LAB10_BENCH_JSON"]).write_text(json.dumps({"title": section, "figures": figures}))
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--services", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--query-url", help="use this Jaeger instead of starting one")
    parser.add_argument("--otlp-url", help="its OTLP/HTTP base, e.g. http://127.0.0.1:4318")
    parser.add_argument("--docker", action="store_true", help="start JAEGER_IMAGE rather than the binary")
    args = parser.parse_args()
    if args.query_url:
        if not args.otlp_url:
            parser.error("--query-url needs --otlp-url")
        return bench(args.query_url.rstrip("/"), args.otlp_url.rstrip("/"), args.services, args.concurrency)
    with LocalJaeger("docker" if args.docker else "binary") as jaeger:
        print(f"started {jaeger.version}")
        return bench(jaeger.query_url, jaeger.otlp_url, args.services, args.concurrency)


if __name__ == "__main__":
    sys.exit(main())
