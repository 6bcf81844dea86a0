#!/usr/bin/env python3
"""Record real bulk jaeger_trace results for the class report's unit tests (tests/fixtures/class/).

Starts a Jaeger of its own (scripts/testbed_lib/local_jaeger.py: the test bed's binary, else
its image), sends one trace per planted fault with the OpenTelemetry SDK (tests/support/otlp.py), then runs the
real module once over all the services, as the role `class` does, and once against a port where no Jaeger
listens. Writes the two results as JSON.

    .venv/bin/python scripts/record_class_fixture.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "scripts"))

import ansible.module_utils  # noqa: E402

if str(ROOT / "module_utils") not in ansible.module_utils.__path__:  # the kit's, as ansible.cfg's module_utils
    ansible.module_utils.__path__.append(str(ROOT / "module_utils"))

from ansible.module_utils.lab import criteria  # noqa: E402
from otlp import emit_trace  # noqa: E402
from testbed_lib.local_jaeger import LocalJaeger  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "class"
# vm_name -> what its trace plants (emit_trace keyword arguments); None sends nothing.
PLANTED = {
    "good-1": {"child_ms": 320},
    "good-2": {"child_ms": 450},
    "short": {"child_ms": 40},
    "nochild": {"child": None},
    "orphan": {"parent": "GET /health"},
    "absent": None,
}
CRITERIA = {
    "operation": criteria.OPERATION,
    "parent_operation": criteria.PARENT_OPERATION,
    "min_duration": f"{criteria.MIN_DURATION_MS}ms",
    "since": "7d",
    "timeout": 0,
}


def service(vm_name: str) -> str:
    return criteria.service_name(vm_name)


def run_module(args: dict) -> dict:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
           "ANSIBLE_STDOUT_CALLBACK": "json"}  # fmt: skip
    ansible = Path(sys.executable).with_name("ansible")
    proc = subprocess.run(
        [str(ansible), "localhost", "-m", "jaeger_trace", "-a", json.dumps(args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    # Ansible's own bookkeeping, not the module's answer.
    for key in (
        "_ansible_no_log",
        "_ansible_verbose_always",
        "invocation",
        "action",
        "deprecations",
        "warnings",
        "exception",
    ):
        result.pop(key, None)
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    services = [service(vm) for vm in PLANTED]
    with LocalJaeger() as jaeger:
        for vm_name, plant in PLANTED.items():
            if plant is not None:
                emit_trace(jaeger.otlp_url, service(vm_name), **plant)
        time.sleep(2)  # past Jaeger's ingestion
        result = run_module({"url": jaeger.query_url, "services": services, **CRITERIA})
    (OUT / "bulk_result.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    down = run_module({"url": f"http://127.0.0.1:{free_port()}", "services": services, **CRITERIA})
    (OUT / "bulk_unreachable.json").write_text(json.dumps(down, indent=1, sort_keys=True) + "\n")
    print(f"recorded {result['summary']} and a Jaeger-unreachable result ({down['reason']}) in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
