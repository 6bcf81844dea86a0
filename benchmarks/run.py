#!/usr/bin/env python3
"""`make bench`: run benchmark scripts one after another, print one table, write one JSON file.

    .venv/bin/python benchmarks/run.py SCRIPT [SCRIPT...] [--results DIR]

Each SCRIPT runs with this interpreter and the environment variable LAB10_BENCH_JSON naming a file
into which it may write its figures:

    {"title": "...", "versions": {...}, "figures": [
        {"section": "trace latency", "name": "p50, role default (200 ms)", "value": 0.21, "unit": "s",
         "target": "<= 0.3", "ok": true, "note": "..."}], ...anything else worth keeping}

`ok` is true/false against `target`, or null when the figure has no target. A script that writes no
file still runs: its exit status is in the table. Progress goes to the terminal as the scripts print it.
The JSON (schema 1) holds the machine (CPU count, memory, load average at start and end), the versions,
and every script's figures and extra data; its name is the start time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = 1


def machine() -> dict:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "kernel": platform.release()}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def command_version(*cmd: str) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False).stdout
    except OSError:
        return ""
    return out.strip().splitlines()[0] if out.strip() else ""


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("ansible-core", "molecule", "community.docker"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    manifest = ROOT / "collections" / "ansible_collections" / "community" / "docker" / "MANIFEST.json"
    if manifest.is_file():
        found["community.docker"] = json.loads(manifest.read_text())["collection_info"]["version"]
    found["docker engine"] = command_version("docker", "version", "--format", "{{.Server.Version}}")
    found["docker compose"] = command_version("docker", "compose", "version", "--short")
    return found


def run_script(script: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        started = time.monotonic()
        print(f"bench: {script}", file=sys.stderr, flush=True)
        rc = subprocess.run(
            [sys.executable, script], cwd=ROOT, env={**os.environ, "LAB10_BENCH_JSON": str(out)}
        ).returncode
        entry = {"script": script, "rc": rc, "seconds": round(time.monotonic() - started, 1)}
        if out.is_file():
            entry.update(json.loads(out.read_text()))
    return entry


def format_value(figure: dict) -> str:
    value = figure.get("value")
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
    unit = figure.get("unit") or ""
    return f"{value} {unit}".strip()


def table(results: list[dict]) -> str:
    """One Markdown table of every figure of every script (also readable as plain text)."""
    rows = [("section", "figure", "value", "target", "met", "note")]
    for entry in results:
        for fig in entry.get("figures", []):
            met = {True: "yes", False: "NO", None: ""}[fig.get("ok")]
            rows.append(
                (
                    fig.get("section", entry.get("title", "")),
                    fig["name"],
                    format_value(fig),
                    fig.get("target") or "",
                    met,
                    fig.get("note") or "",
                )
            )
        if entry["rc"] != 0 or not entry.get("figures"):
            rows.append(
                (
                    entry.get("title", entry["script"]),
                    "exit status",
                    str(entry["rc"]),
                    "0",
                    "yes" if entry["rc"] == 0 else "NO",
                    f"{entry['script']} ({entry['seconds']} s)",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scripts", nargs="+")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()

    started = datetime.now(UTC)
    report = {
        "schema": SCHEMA,
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "loadavg_start": loadavg(),
        "versions": versions(),
        "benchmarks": [],
    }
    for script in args.scripts:
        report["benchmarks"].append(run_script(script))
    report["loadavg_end"] = loadavg()
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    m = report["machine"]
    print(
        f"\n{m['cpus']} CPUs, {m['memory_gb']} GB; load average {report['loadavg_start']} at the start, "
        f"{report['loadavg_end']} at the end\n"
    )
    print(table(report["benchmarks"]))
    print(f"\nbench: written {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0 if all(entry["rc"] == 0 for entry in report["benchmarks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
