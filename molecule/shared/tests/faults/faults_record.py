"""LAB10_RECORD_DOCTOR=<dir>: keep what each fault really looked like, as unit-test fixtures.

Per fault one JSON file: the verdict, the otel_doctor and jaeger_trace results of the doctor run,
and the docker CLI exchanges of a second gathering a few seconds later (when the exporter's retries
have reached the log), made by the module's own Gatherer through the VM's shell. Replayed by
tests/unit/test_otel_doctor_recorded.py.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

import ansible.module_utils

PROJECT_DIR = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
if str(PROJECT_DIR / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PROJECT_DIR / "module_utils"))

from ansible.module_utils.doctor.evidence import Gatherer  # noqa: E402
from ansible.module_utils.doctor.probe import PROBE  # noqa: E402
from lab10_checks import COMPOSE_FILE  # noqa: E402

RECORDED_TASKS = {"Gather the evidence on the VM": "vm", "Ask Jaeger for the request's trace": "jaeger"}
# Long enough for the SDK's batch delay (1 s here) and its first retries (1 s, 2 s) to be logged.
SETTLE_S = 5
GATHER = {"compose_file": COMPOSE_FILE, "project": "lab10", "service": "inventory"}
GATHER_OPTIONS = {"probe_timeout": 3.0, "keep_lines": 20}


def recording_runner(host, exchanges):
    def run(argv, timeout=30):
        result = host.run(shlex.join(argv))
        # The probe's source is the module's, not a recorded fact: kept as a placeholder.
        recorded = ["<PROBE>" if arg == PROBE else arg for arg in argv]
        exchanges.append({"argv": recorded, "rc": result.rc, "stdout": result.stdout, "stderr": result.stderr})
        return result.rc, result.stdout, result.stderr

    return run


def record(host, name: str, run: dict, expected: str) -> None:
    directory = os.environ.get("LAB10_RECORD_DOCTOR")
    if not directory:
        return
    kept = {"fault": name, "diagnosis": run["diagnosis"], "wall_clock_s": round(run["seconds"], 1)}
    kept.update(gather=GATHER, gather_options=GATHER_OPTIONS)
    for task, key in RECORDED_TASKS.items():
        result = run["results"].get(task) or {}
        if result and not result.get("skipped"):
            kept[key] = {k: v for k, v in result.items() if k not in ("invocation", "_ansible_no_log")}
    time.sleep(SETTLE_S)
    exchanges: list[dict] = []
    gatherer = Gatherer("docker", run=recording_runner(host, exchanges), **GATHER)
    kept["later_evidence"] = gatherer.gather(expected=expected, **GATHER_OPTIONS)
    kept["exchanges"] = exchanges
    Path(directory).mkdir(parents=True, exist_ok=True)
    (Path(directory) / f"{name}.json").write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
