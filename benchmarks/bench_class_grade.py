#!/usr/bin/env python3
"""Time playbooks/grade.yml for a class of N services on one real Jaeger: the whole run, the bulk query, the report.

Starts its own Jaeger (the test bed's binary, else JAEGER_IMAGE with docker; see
scripts/testbed_lib/local_jaeger.py) unless --query-url/--otlp-url are given, sends one trace per service with
the OpenTelemetry SDK (tests/otlp.py; one in ten planted too short, one in twenty never sent), writes a roster
whose hosts are a closed port (grading contacts no VM), runs grade.yml and prints numbers per class size.

    .venv/bin/python benchmarks/bench_class_grade.py [-n 50 -n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_jaeger_trace_bulk import wait_ingested  # noqa: E402
from otlp import emit_trace  # noqa: E402
from testbed_lib.local_jaeger import LocalJaeger  # noqa: E402

# The role's tasks: "the query" is grade.yml's jaeger_trace task, "the report step" all of report.yml's.
TASKS = ROOT / "roles" / "class" / "tasks"
GRADE_TASK = next(t["name"] for t in yaml.safe_load((TASKS / "grade.yml").read_text()) if "jaeger_trace" in t)
REPORT_TASKS = tuple(t["name"] for t in yaml.safe_load((TASKS / "report.yml").read_text()))


def plant(i: int) -> dict | None:
    if i % 20 == 19:
        return None  # never sent: service_unknown
    return {"child_ms": 60 if i % 10 == 3 else 320}


def send(otlp_url: str, vms: list[str]) -> float:
    started = time.monotonic()
    jobs = [(vm, plant(i)) for i, vm in enumerate(vms) if plant(i) is not None]
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda job: emit_trace(otlp_url, f"inventory.{job[0]}.sysadm.ee", **job[1]), jobs))
    return time.monotonic() - started


def seconds(task: dict) -> float:
    duration = task["task"]["duration"]
    parse = datetime.fromisoformat
    return (
        parse(duration["end"].replace("Z", "+00:00")) - parse(duration["start"].replace("Z", "+00:00"))
    ).total_seconds()


def grade(query_url: str, vms: list[str], work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    roster = work / f"roster-{len(vms)}.csv"
    roster.write_text("vm_name,student,host,port\n" + "".join(f"{vm},Student {vm},127.0.0.1,1\n" for vm in vms))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "json",
           "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}  # fmt: skip
    command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(roster),
               str(ROOT / "playbooks" / "grade.yml"), "-e", f"class_jaeger_url={query_url}",
               "-e", f"class_report_dir={work / 'reports'}"]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"grade.yml failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    report = json.loads((work / "reports" / "latest" / "report.json").read_text())
    html = (work / "reports" / "latest" / "report.html").stat().st_size
    return {
        "wall": wall,
        "grade": sum(seconds(t) for t in tasks if t["task"]["name"].endswith(GRADE_TASK)),
        "report": sum(seconds(t) for t in tasks if any(n in t["task"]["name"] for n in REPORT_TASKS)),
        "passed": report["summary"]["passed"],
        "failed": report["summary"]["failed"],
        "html_kb": html / 1024,
    }


def bench(query_url: str, otlp_url: str, sizes: list[int]) -> int:
    run_id = uuid.uuid4().hex[:6]
    vms = [f"bench{run_id}-vm{i:03d}" for i in range(max(sizes))]
    print(f"jaeger query {query_url}, otlp {otlp_url}")
    print(f"sent {sum(1 for i in range(len(vms)) if plant(i))} traces in {send(otlp_url, vms):.1f}s")
    wait_ingested(query_url, [f"inventory.{vm}.sysadm.ee" for i, vm in enumerate(vms) if plant(i)])
    print(
        f"{'services':>8} {'passed':>6} {'failed':>6} {'grade.yml_s':>11} {'query_s':>7} {'report_s':>8} {'html_kB':>7}"
    )
    figures = []
    with tempfile.TemporaryDirectory(prefix="lab10-bench-class-") as tmp:
        for size in sizes:
            r = grade(query_url, vms[:size], Path(tmp) / str(size))
            print(f"{size:>8} {r['passed']:>6} {r['failed']:>6} {r['wall']:>11.2f} {r['grade']:>7.2f} "
                  f"{r['report']:>8.2f} {r['html_kb']:>7.0f}")  # fmt: skip
            note = (f"query {r['grade']:.2f} s, report {r['report']:.2f} s; {r['passed']} passed, "
                    f"{r['failed']} failed (planted); HTML {r['html_kb']:.0f} kB")  # fmt: skip
            figures.append({"section": "grade.yml", "name": f"{size} services: the whole run", "unit": "s",
                            "value": round(r["wall"], 2), "note": note})  # fmt: skip
    if os.environ.get("LAB10_BENCH_JSON"):  # benchmarks/run.py (`make bench`) puts these in its table
        Path(os.environ["LAB10_BENCH_JSON"]).write_text(json.dumps({"title": "grade.yml", "figures": figures}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--services", type=int, action="append", help="class size (repeatable; 50 and 200)")
    parser.add_argument("--query-url", help="use this Jaeger instead of starting one")
    parser.add_argument("--otlp-url", help="its OTLP/HTTP base, e.g. http://127.0.0.1:4318")
    parser.add_argument("--docker", action="store_true", help="start JAEGER_IMAGE rather than the binary")
    args = parser.parse_args()
    sizes = sorted(set(args.services or [50, 200]))
    if args.query_url:
        if not args.otlp_url:
            parser.error("--query-url needs --otlp-url")
        return bench(args.query_url.rstrip("/"), args.otlp_url.rstrip("/"), sizes)
    with LocalJaeger("docker" if args.docker else "binary") as jaeger:
        print(f"started {jaeger.version}")
        return bench(jaeger.query_url, jaeger.otlp_url, sizes)


if __name__ == "__main__":
    sys.exit(main())
