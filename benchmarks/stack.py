"""The bench's stack: the molecule scenario `bench`, its lab VM, the deployed app and variants of it.

Used by bench_stack.py. The scenario is a local Jaeger and one lab-VM container provisioned with
playbooks/site.yml and the role's defaults. benchmarks/loadgen.py runs inside the VM (copied to
its /tmp before each run), so requests take the hop the course's Apache takes
(127.0.0.1:5000 -> docker-proxy -> the app) and Jaeger is asked at the address the VM uses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from testbed_lib import jaeger_pins  # noqa: E402

LOADGEN = ROOT / "benchmarks" / "loadgen.py"
SCENARIO = "bench"
VM = f"labvm-{SCENARIO}"
JAEGER = f"lab10-{SCENARIO}-jaeger"
JAEGER_IN_VM = "http://jaeger:16686"
APP_PORT = 5000
SDK_DEFAULT_DELAY_MS = 5000
LOADGEN_IN_VM = "/tmp/lab10-loadgen.py"  # noqa: S108 -- inside the throwaway lab-VM container
TOKEN_FILE = "/home/centos/lab10/inventory-api-secrets/api_token"  # noqa: S105 -- a path


def log(msg: str) -> None:
    print(f"bench_stack: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, input_text: str | None = None, check: bool = True, env: dict | None = None) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, input=input_text, capture_output=True, text=True, env=env, check=False)
    if check and proc.returncode != 0:
        tail = f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        raise SystemExit(f"bench_stack: {' '.join(cmd[:6])} failed ({proc.returncode}):\n{tail}")
    return proc.stdout


def vm(*cmd: str, check: bool = True) -> str:
    return run(["docker", "exec", VM, *cmd], check=check)


def vm_wait(condition: str, timeout: float, what: str) -> None:
    """Poll a shell condition in the VM until it holds."""
    script = f"end=$((SECONDS+{int(timeout)})); until {condition}; do [ $SECONDS -lt $end ] || exit 1; sleep 0.2; done"
    if subprocess.run(["docker", "exec", VM, "bash", "-c", script], check=False).returncode != 0:
        raise SystemExit(f"bench_stack: {what} within {timeout:.0f} s")


def loadgen(mode: str, **spec) -> dict:
    """Run one loadgen mode in the VM (the spec on stdin: a list of trace ids is too long for an argument)."""
    run(["docker", "exec", "-i", VM, "sh", "-c", f"cat > {LOADGEN_IN_VM}"], input_text=LOADGEN.read_text())
    return json.loads(
        run(["docker", "exec", "-i", VM, "python3", LOADGEN_IN_VM], input_text=json.dumps({"mode": mode, **spec}))
    )


def molecule(action: str, *, profile: bool = False, verify: bool = False) -> str:
    """`molecule ACTION -s bench` (it reads the test bed's .env.yml itself); `verify` turns the role's
    trace check on for this run."""
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "ANSIBLE_FORCE_COLOR": "0"}
    if profile:
        env.update(ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all")
    extra = ["--", "-e", "inventory_api_verify_trace=true"] if verify else []
    log(f"molecule {action} -s {SCENARIO}" + (" (trace check on)" if verify else ""))
    return run([str(venv_bin / "molecule"), action, "-s", SCENARIO, *extra], env=env)


TASK_LINE = re.compile(r"^(\S.*?) -+ (\d+\.\d+)s$", re.M)
ELAPSED = re.compile(r"\(\d+:\d\d:\d\d\.\d+\)\s+(\d+):(\d\d):(\d\d\.\d+)")
RECAP = re.compile(rf"{VM}\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def parse_profile(output: str) -> dict:
    """Playbook time, the changed count and the five slowest tasks from profile_tasks' output."""
    recap = output[output.rindex("TASKS RECAP") :]
    h, m, s = ELAPSED.search(recap).groups()
    tasks = [(name.split(" : ", 1)[-1], float(secs)) for name, secs in TASK_LINE.findall(recap)]
    return {
        "seconds": round(int(h) * 3600 + int(m) * 60 + float(s), 2),
        "changed": int(RECAP.findall(output)[-1][1]),
        "slowest": sorted(tasks, key=lambda task: -task[1])[:5],
    }


def worker_memory(container: str) -> dict:
    """Mean RSS and PSS of a gunicorn container's workers, and its master's RSS, in MB."""
    memory = loadgen("memory", container=container)
    workers = memory["workers"] or [{}]
    return {
        "workers": len(memory["workers"]),
        "worker_rss_mb": round(sum(w.get("rss_kb", 0) for w in workers) / len(workers) / 1024, 1),
        "worker_pss_mb": round(sum(w.get("pss_kb", 0) for w in workers) / len(workers) / 1024, 1),
        "master_rss_mb": round(memory["master"].get("rss_kb", 0) / 1024, 1),
    }


def wait_healthy(port: int, timeout: float = 120) -> None:
    """Until /health answers within 0.2 s: started, and any backlog of an earlier overload drained."""
    vm_wait(f"curl -sf -m 0.2 -o /dev/null http://127.0.0.1:{port}/health", timeout, f"no /health on port {port}")


def wait_jaeger(timeout: float = 60) -> None:
    vm_wait(f"curl -sf -o /dev/null {JAEGER_IN_VM}/api/services", timeout, "Jaeger did not answer")


@dataclass
class Target:
    """One instance of the app to send requests to."""

    name: str  # container in the VM's engine
    url: str
    service: str  # its OTEL_SERVICE_NAME
    token: str

    def load(self, rate: float, duration: float, timeout: float = 30, **extra) -> dict:
        return loadgen("load", url=self.url, token=self.token, rate=rate, duration=duration, timeout=timeout, **extra)


class App:
    """The service as the role deployed it, and the same app with other settings beside it."""

    def __init__(self) -> None:
        found = vm("docker", "ps", "-q", "--filter", "label=com.docker.compose.project=lab10",
                   "--filter", "label=com.docker.compose.service=inventory").split()  # fmt: skip
        if len(found) != 1:
            raise SystemExit("bench_stack: the inventory service is not running in the VM")
        info = json.loads(vm("docker", "inspect", found[0]))[0]
        self.image = info["Config"]["Image"]
        self.env = dict(item.split("=", 1) for item in info["Config"]["Env"])
        self.binds = info["HostConfig"]["Binds"] or []
        self.token = vm("cat", TOKEN_FILE).strip()
        self.deployed = Target(info["Name"].lstrip("/"), self.url(APP_PORT), self.env["OTEL_SERVICE_NAME"], self.token)
        self.delay_ms = int(self.env.get("OTEL_BSP_SCHEDULE_DELAY", SDK_DEFAULT_DELAY_MS))
        self.workers = int(self.env.get("WEB_CONCURRENCY", 2))
        self.threads = int(self.env.get("GUNICORN_THREADS", 4))
        self._next_port = 5101

    @staticmethod
    def url(port: int) -> str:
        return f"http://127.0.0.1:{port}/api/v1/inventory"

    @contextmanager
    def variant(self, tag: str, **overrides: str):
        """The same image, environment and mounts with `overrides`, as service inventory.bench-<tag>.sysadm.ee,
        on its own port; removed afterwards."""
        name, port = f"bench-{tag}", self._next_port
        self._next_port += 1
        env = {**self.env, "OTEL_SERVICE_NAME": f"inventory.bench-{tag}.sysadm.ee", **overrides}
        cmd = ["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:5000"]
        cmd += [arg for bind in self.binds for arg in ("-v", bind)]
        cmd += [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        vm("docker", "rm", "-f", name, check=False)
        vm(*cmd, self.image)
        try:
            wait_healthy(port)
            yield Target(name, self.url(port), env["OTEL_SERVICE_NAME"], self.token)
        finally:
            vm("docker", "rm", "-f", name, check=False)


def versions(app: App) -> dict:
    requirements = (ROOT / "roles" / "inventory_api" / "files" / "app" / "requirements.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", requirements, re.M))
    found = {
        "jaeger": jaeger_pins.image_version(jaeger_pins.role_image(ROOT)),
        "VM docker engine": vm("docker", "version", "--format", "{{.Server.Version}}").strip(),
        "VM docker compose": vm("docker", "compose", "version", "--short").strip(),
        "VM python": vm("python3", "-c", "import platform; print(platform.python_version())").strip(),
        "app image": app.image,
    }
    for name in ("gunicorn", "Flask", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"):
        found[name] = pins.get(name, "?")
    return found
