"""grade.yml and class.yml against the test bed's Jaeger, with spans pushed over OTLP for a class of 60 services
with planted faults. Every roster host points at a closed port: any attempt to reach a VM would show as
unreachable. No lab-VM container is needed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.lab.vocabulary import VERDICTS
from conftest import LABEL
from otlp import emit_trace
from testbed_lib.local_jaeger import LocalJaeger

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# vm_name prefix -> (how many, what their trace plants, the reason the report must give)
PLANTS = {
    "good": (40, {"child_ms": 320}, "ok"),
    "short": (5, {"child_ms": 60}, "too_short"),
    "nochild": (5, {"child": None}, "operation_unknown"),
    "orphan": (5, {"parent": "GET /health"}, "parent_mismatch"),
    "absent": (5, None, "service_unknown"),
}
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def class_jaeger(docker_client, images):
    """The test bed's Jaeger image, run as a user would (ports published on loopback), for the whole module."""
    with LocalJaeger("docker", labels=LABEL) as endpoints:
        yield endpoints


@pytest.fixture(scope="module")
def tag() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def planted(class_jaeger, tag) -> dict[str, str]:
    """vm_name -> expected reason; one trace sent per VM (none for the absent ones)."""
    expected, sends = {}, []
    for prefix, (count, plant, reason) in PLANTS.items():
        for i in range(count):
            vm = f"{prefix}-{tag}-{i:02d}"
            expected[vm] = reason
            if plant is not None:
                sends.append((vm, plant))
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda s: emit_trace(class_jaeger.otlp_url, f"inventory.{s[0]}.sysadm.ee", **s[1]), sends))
    wait_for_services(class_jaeger.query_url, {f"inventory.{vm}.sysadm.ee" for vm, _ in sends})
    return expected


def wait_for_services(query_url: str, services: set[str], timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{query_url}/api/services", timeout=5) as resp:
            if services <= set(json.loads(resp.read())["data"] or []):
                return
        assert time.monotonic() < deadline, "Jaeger did not list every planted service"
        time.sleep(0.3)


def write_roster(path: Path, vms) -> Path:
    # host 127.0.0.1, port 1: nothing listens there, so a connection attempt fails at once as unreachable.
    rows = ["vm_name,student,email,section,host,port"]
    rows += [f"{vm},Student {vm},{vm}@example.edu,{vm.split('-')[0]},127.0.0.1,1" for vm in vms]
    path.write_text("\n".join(rows) + "\n")
    return path


def playbook(
    name: str, roster: Path, jaeger: LocalJaeger, reports: Path, *extra: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1", **(env or {})}
    command = [str(BIN / "ansible-playbook"), "-i", str(roster), str(ROOT / "playbooks" / name),
               "-e", f"class_jaeger_url={jaeger.query_url}", "-e", f"class_report_dir={reports}", *extra]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def latest(reports: Path) -> dict:
    return json.loads((reports / "latest" / "report.json").read_text())


@pytest.fixture(scope="module")
def graded(tmp_path_factory, class_jaeger, planted):
    """One grade.yml run over the whole class: (its output, the report directory, the roster)."""
    work = tmp_path_factory.mktemp("class")
    roster = write_roster(work / "roster.csv", planted)
    started = time.monotonic()
    out = playbook("grade.yml", roster, class_jaeger, work / "reports")
    print(f"grade.yml for {len(planted)} services: {time.monotonic() - started:.1f}s wall")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    return out, work / "reports", roster


def test_grade_writes_all_five_files(graded):
    _, reports, _ = graded
    assert sorted(p.name for p in (reports / "latest").iterdir()) == [
        "failed.txt",
        "junit.xml",
        "report.html",
        "report.json",
        "report.md",
    ]


def test_every_student_gets_the_planted_verdict(graded, planted):
    students = {s["vm_name"]: s for s in latest(graded[1])["students"]}
    assert {vm: s["reason"] for vm, s in students.items()} == planted
    assert {vm for vm, s in students.items() if s["passed"]} == {vm for vm, r in planted.items() if r == "ok"}


def test_grade_contacts_no_vm(graded):
    out = graded[0]
    recap = RECAP.findall(out.stdout)
    assert recap, out.stdout[-2000:]
    assert all(unreachable == "0" and failed == "0" for _, unreachable, failed in recap), recap
    # Every task ran once, on the controller (run_once on the play's first host, delegated or local).
    assert "UNREACHABLE" not in out.stdout


def test_summary_and_rerun_command_are_printed(graded, planted, class_jaeger):
    out, reports, roster = graded
    failing = sum(1 for r in planted.values() if r != "ok")
    assert f"40 of {len(planted)} students passed" in out.stdout
    assert "validate_inventory_cache shorter than 300 ms: 5 of 60" in out.stdout
    command = re.search(r"(\S+/bin/lab10 grade -i \S+ --limit @(\S+/failed\.txt)(.*))$", out.stdout, re.M)
    assert command and command.group(2).startswith(str(reports))
    assert command.group(3).split() == [
        "-e", f"class_jaeger_url={class_jaeger.query_url}", "-e", f"class_report_dir={reports}"
    ]  # fmt: skip
    assert len(Path(command.group(2)).read_text().splitlines()) == failing


def test_rerun_of_the_failed_grades_only_those_and_merges(graded, class_jaeger, planted, tag):
    _, reports, roster = graded
    first = latest(reports)
    failed_txt = reports / first["run"] / "failed.txt"
    # Two students fix their app: a good trace now.
    fixed = [f"short-{tag}-00", f"absent-{tag}-00"]
    for vm in fixed:
        emit_trace(class_jaeger.otlp_url, f"inventory.{vm}.sysadm.ee", child_ms=320)
    wait_for_services(class_jaeger.query_url, {f"inventory.{vm}.sysadm.ee" for vm in fixed})

    out = playbook("grade.yml", roster, class_jaeger, reports, "--limit", f"@{failed_txt}")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    second = latest(reports)
    assert second["run"] != first["run"]
    students = {s["vm_name"]: s for s in second["students"]}
    assert len(students) == len(planted)  # the whole roster
    for vm, reason in planted.items():
        if reason == "ok":
            assert students[vm]["run"] == first["run"] and students[vm]["passed"]
        else:
            assert students[vm]["run"] == second["run"]
    assert all(students[vm]["passed"] for vm in fixed)
    assert second["summary"]["passed"] == 42 and second["summary"]["carried_over"] == 40
    assert set((reports / "latest" / "failed.txt").read_text().split()) == {
        vm for vm, r in planted.items() if r != "ok"
    } - set(fixed)


def test_class_yml_writes_the_report_when_every_vm_is_unreachable(tmp_path, class_jaeger, tag):
    vms = [f"down-{tag}-{i}" for i in range(3)]
    out = playbook("class.yml", write_roster(tmp_path / "roster.csv", vms), class_jaeger, tmp_path / "reports")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    report = latest(tmp_path / "reports")
    assert [s["provision"]["status"] for s in report["students"]] == ["unreachable"] * 3
    assert {s["provision"]["step"] for s in report["students"]} == {"connect"}
    assert all("Connection refused" in s["provision"]["msg"] or "connect" in s["provision"]["msg"].lower()
               for s in report["students"])  # fmt: skip
    assert "VM unreachable: 3 of 3" in report["summary"]["lines"]
    junit = (tmp_path / "reports" / "latest" / "junit.xml").read_text()
    assert junit.count('type="vm_unreachable"') == 3


def test_class_yml_writes_the_report_when_every_vm_fails(tmp_path, class_jaeger, tag):
    # Reachable (this machine, no become) but without a token: the role stops in preflight, before any change.
    vms = [f"broken-{tag}-{i}" for i in range(2)]
    roster = tmp_path / "roster.csv"
    roster.write_text("vm_name\n" + "\n".join(vms) + "\n")
    out = playbook("class.yml", roster, class_jaeger, tmp_path / "reports",
                   "-e", "ansible_connection=local", "-e", "ansible_become=false",
                   "-e", f"ansible_python_interpreter={sys.executable}", "-e", "inventory_api_token=")  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    report = latest(tmp_path / "reports")
    assert [s["provision"]["status"] for s in report["students"]] == ["failed"] * 2
    assert {s["provision"]["step"] for s in report["students"]} == {"Check the role's settings"}
    assert all("inventory_api_token is empty" in s["provision"]["msg"] for s in report["students"])
    assert "provisioning failed: 2 of 2" in report["summary"]["lines"]
    # The doctor gathered evidence on each (read-only): this machine has no lab10 compose file or container.
    assert {(s["diagnosis"]["reason"], s["diagnosis"]["hop"]) for s in report["students"]} == {
        ("compose_missing", "container_env")
    }
    assert all(s["diagnosis"]["fix"] == VERDICTS["compose_missing"].fix for s in report["students"])


def test_class_yml_grades_what_it_provisioned_with_one_query_for_grade_and_doctor(tmp_path, class_jaeger, tag):
    """Three VMs (a stand-in role on this machine, evidence recorded on a healthy test-bed VM): one sends a good
    trace while provisioned, one a too-short one, one sent a good trace before the run and none now. Graded from
    when provisioning started, with the doctor's verdict decided from the same bulk answer."""
    vms = {f"{name}-{tag}": name for name in ("fresh", "short", "stale")}
    service = {vm: f"inventory.{vm}.sysadm.ee" for vm in vms}
    stale = next(vm for vm, name in vms.items() if name == "stale")
    emit_trace(class_jaeger.otlp_url, service[stale], child_ms=320)
    wait_for_services(class_jaeger.query_url, {service[stale]})
    time.sleep(1.5)  # provisioning's start is recorded to the second: the stale trace is before it
    (tmp_path / "roster.csv").write_text("vm_name\n" + "\n".join(vms) + "\n")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False,
             "doctor_fixture": "healthy"}  # fmt: skip
    emit = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from otlp import emit_trace;"
            " emit_trace(sys.argv[2], sys.argv[3], child_ms=float(sys.argv[4]))",
            str(ROOT / "tests" / "support"), class_jaeger.otlp_url]  # fmt: skip
    hosts = {vm: dict(local) for vm in vms}
    for vm, name in vms.items():
        if name != "stale":
            hosts[vm]["trace_command"] = [*emit, service[vm], "320" if name == "fresh" else "60"]
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"lab_vms": {"hosts": hosts}}))
    env = {"ANSIBLE_ROLES_PATH": f"{ROOT / 'tests' / 'fixtures' / 'class' / 'roles'}:{ROOT / 'roles'}"}
    # The traces are sent before grading starts: 10 s of polling is plenty (class.yml waits 30 s on real VMs).
    out = playbook("class.yml", tmp_path / "roster.csv", class_jaeger, tmp_path / "reports",
                   "-i", str(tmp_path / "hosts.yml"), "-e", "class_grade_timeout=10", env=env)  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    report = latest(tmp_path / "reports")
    by_name = {vms[s["vm_name"]]: s for s in report["students"]}
    assert {name: (s["passed"], s["reason"]) for name, s in by_name.items()} == {
        "fresh": (True, "ok"),
        "short": (False, "too_short"),
        "stale": (False, "no_traces"),  # its old good trace is before this run
    }
    assert {name: (s["diagnosis"]["reason"], s["diagnosis"]["hop"]) for name, s in by_name.items()} == {
        "fresh": ("ok", ""),
        "short": ("span_too_short", "app"),
        "stale": ("trace_missing", "sdk_export"),
    }
    assert report["since"] == min(s["provision"]["started"] for s in report["students"])
    # One query: the grade's bulk call (one batch: every VM was provisioned); the doctor asked no Jaeger from the VMs.
    grade_task = out.stdout.split("TASK [class : Ask Jaeger about every graded student's service")[1:]
    assert len(grade_task) == 1, out.stdout[-3000:]
    batches = re.findall(r"\(item=(\d+) service\(s\), waiting up to (\d+) s\)", grade_task[0].split("TASK [")[0])
    assert [batch for batch in batches if batch[0] != "0"] == [("3", "10")]
    assert "TASK [inventory_api : Ask Jaeger" not in out.stdout
