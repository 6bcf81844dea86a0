"""The class scenario: one report for three VMs (healthy, broken compose file, stopped), then the re-run of the
two failed with --limit @failed.txt, which must touch only them and leave three passes in the merged report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
REPORTS = EPHEMERAL / "reports"
OK, BROKEN, STOPPED = "labvm-class-ok", "labvm-class-broken", "labvm-class-stopped"
COMPOSE_FILE = "/home/centos/lab10/docker-compose.yml"
REPAIRED = """# The student's lab10, repaired.
services:
  inventory:
    image: {image}
    command: ["python3", "-m", "http.server", "5000"]
    ports: ["127.0.0.1:5000:5000"]
"""


def load(run: str) -> dict:
    return json.loads((REPORTS / run / "report.json").read_text())


def students(report: dict) -> dict:
    return {s["vm_name"]: s for s in report["students"]}


def in_vm(vm: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", vm, "sh", "-c", command], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def first_run() -> str:
    """The converge's run (latest before the re-run below moves it)."""
    return os.readlink(REPORTS / "latest")


@pytest.fixture(scope="module")
def first(first_run) -> dict:
    return load(first_run)


def test_converge_wrote_all_five_files(first_run):
    names = sorted(p.name for p in (REPORTS / first_run).iterdir())
    assert names == ["failed.txt", "junit.xml", "report.html", "report.json", "report.md"]


def test_healthy_vm_passed_with_a_trace_link(first):
    healthy = students(first)[OK]
    assert healthy["passed"] and healthy["provision"]["status"] == "ok"
    assert re.fullmatch(r"http://172\.28\.\d+\.200:16686/trace/[0-9a-f]{32}", healthy["trace"]["url"])
    assert [c["ok"] for c in healthy["checks"]] == [True, True, True, True]


def test_broken_vm_failed_at_the_compose_step_with_the_yaml_message(first):
    provision = students(first)[BROKEN]["provision"]
    assert provision["status"] == "failed"
    assert "compose file" in provision["step"]
    assert "not valid YAML" in provision["msg"], provision


def test_the_doctor_diagnosed_the_reachable_vms(first):
    """From the evidence gathered on each VM and the class's one grading answer, decided on the controller."""
    by_vm = students(first)
    assert (by_vm[OK]["diagnosis"]["reason"], by_vm[OK]["diagnosis"]["hop"]) == ("ok", "")
    broken = by_vm[BROKEN]["diagnosis"]
    assert (broken["reason"], broken["hop"]) == ("compose_invalid", "container_env"), broken
    assert f"docker compose -f {COMPOSE_FILE} config" in broken["fix"]
    assert "diagnosis" not in by_vm[STOPPED]


def test_broken_vm_compose_file_was_not_changed():
    assert in_vm(BROKEN, f"cmp {COMPOSE_FILE} /root/class-record/seed-compose.yml", check=False).returncode == 0
    assert in_vm(BROKEN, f"ls {COMPOSE_FILE}.*~ 2>/dev/null", check=False).stdout == "", "a backup means a write"


def test_stopped_vm_is_an_error_at_the_ping(first_run, first):
    """Over the docker connection a stopped container runs no module (over SSH a VM that is down is
    unreachable: tests/cli/test_class_provision.py)."""
    stopped = students(first)[STOPPED]
    assert (stopped["status"], stopped["reason"], stopped["provision"]["step"]) == (
        "error",
        "provision_failed",
        "Check that the VM answers and runs modules",
    )
    assert "is not running" in stopped["provision"]["msg"], stopped["provision"]
    root = ET.parse(REPORTS / first_run / "junit.xml").getroot()  # noqa: S314 -- the report just written
    errors = {
        c.get("classname"): c.find("error").get("type") for c in root.iter("testcase") if c.find("error") is not None
    }
    assert errors == {f"lab10.{BROKEN}": "provision_failed", f"lab10.{STOPPED}": "provision_failed"}


def test_json_and_junit_agree(first_run, first):
    root = ET.parse(REPORTS / first_run / "junit.xml").getroot()  # noqa: S314 -- the report just written
    suites = {s.get("name").split(" ")[0]: s for s in root.iter("testsuite")}
    assert set(suites) == {OK, BROKEN, STOPPED}
    for vm, student in students(first).items():
        bad = int(suites[vm].get("failures")) + int(suites[vm].get("errors"))
        assert (bad == 0) == student["passed"], vm
    assert int(root.get("tests")) == len(list(root.iter("testcase")))


def test_failed_txt_has_exactly_the_two(first_run):
    assert (REPORTS / first_run / "failed.txt").read_text().split() == [BROKEN, STOPPED]


def wait_for_boot(vm: str) -> None:
    in_vm(vm, "systemctl is-system-running --wait", check=False)
    for _ in range(60):
        if in_vm(vm, "docker info >/dev/null 2>&1", check=False).returncode == 0:
            return
        time.sleep(1)
    raise AssertionError(f"{vm}: its Docker engine did not start")


@pytest.fixture(scope="module")
def rerun(first_run) -> subprocess.CompletedProcess:
    """Repair the broken VM's file and start the stopped VM, then: class.yml --limit @failed.txt."""
    image = os.environ["APP_BASE_IMAGE"]
    subprocess.run(["docker", "exec", "-i", BROKEN, "sh", "-c", f"cat > {COMPOSE_FILE}"],
                   input=REPAIRED.format(image=image), text=True, check=True)  # fmt: skip
    subprocess.run(["docker", "start", STOPPED], check=True, capture_output=True)
    wait_for_boot(STOPPED)
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    failed = REPORTS / first_run / "failed.txt"
    command = ["ansible-playbook", "-i", str(SCENARIO / "roster.csv"), "-i", str(inventory),
               str(PROJECT / "playbooks" / "class.yml"), "--limit", f"@{failed}"]  # fmt: skip
    started = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=1200)
    print(f"re-run of the failed: {time.monotonic() - started:.0f}s, rc {out.returncode}")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr
    return out


def test_rerun_touches_only_the_failed_two(rerun):
    recap = re.findall(r"^(\S+)\s+: ok=", rerun.stdout.split("PLAY RECAP")[-1], re.M)
    assert sorted(recap) == [BROKEN, STOPPED], rerun.stdout[-3000:]


def test_merged_report_shows_three_passes(rerun, first_run):
    merged = load(os.readlink(REPORTS / "latest"))
    assert merged["run"] != first_run
    by_vm = students(merged)
    assert [by_vm[vm]["passed"] for vm in (OK, BROKEN, STOPPED)] == [True, True, True]
    assert by_vm[OK]["run"] == first_run  # kept from the converge, marked with its run
    assert by_vm[BROKEN]["run"] == by_vm[STOPPED]["run"] == merged["run"]
    assert (REPORTS / "latest" / "failed.txt").read_text() == ""


def test_rerun_kept_the_student_file_and_merged_into_it():
    text = in_vm(BROKEN, f"cat {COMPOSE_FILE}").stdout
    assert "OTEL_SERVICE_NAME" in text and "inventory.labvm-class-broken.sysadm.ee" in text
