"""playbooks/class.yml's provisioning, run for real on this machine with a stand-in for the role inventory_api
(tests/fixtures/class/roles, first on the roles path) and a Jaeger that does not answer: a VM that never answers,
one lost during the role, one whose role fails, one that is fine. No Docker, no lab VM."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from class_stand_in import BECOME_PASSWORD, TOKEN, write_stand_in_class

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "class"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One class.yml run over the four VMs: (its output, report.json, the report directory)."""
    work = tmp_path_factory.mktemp("class")
    write_stand_in_class(work)
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": f"{FIXTURES / 'roles'}:{ROOT / 'roles'}",
        "NO_COLOR": "1",
    }
    command = [str(BIN / "ansible-playbook"), "-i", str(work / "roster.csv"), "-i", str(work / "hosts.yml"),
               str(ROOT / "playbooks" / "class.yml"), "-e", "class_jaeger_url=http://127.0.0.1:1",
               "-e", f"class_report_dir={work / 'reports'}",
               # class.yml waits up to 10 s for the traces of VMs it provisioned; this Jaeger never answers.
               "-e", "class_grade_timeout=3"]  # fmt: skip
    # Another run's directories for every second this run could start in: it must make its own.
    for second in range(int(time.time()), int(time.time()) + 180):
        (work / "reports" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))).mkdir(parents=True)
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    report_file = work / "reports" / "latest" / "report.json"
    assert report_file.exists(), out.stdout[-4000:] + out.stderr
    return out, json.loads(report_file.read_text()), work / "reports"


def students(report: dict) -> dict:
    return {s["vm_name"]: s for s in report["students"]}


def test_the_run_fails_only_after_writing_the_report_because_jaeger_did_not_answer(run):
    out, report, _ = run
    assert out.returncode != 0
    failure = re.search(r"Grading failed before any student was checked: (.*)", out.stdout)
    assert failure and "127.0.0.1:1" in failure.group(1) and "unreachable" in failure.group(1), out.stdout[-2000:]
    assert [s["vm_name"] for s in report["students"]] == ["ok-vm", "broken-vm", "lost-vm", "down-vm", "dead-vm"]


def test_only_the_vms_that_may_still_export_are_waited_for(run):
    out = run[0].stdout
    assert "(item=1 service(s), waiting up to 3 s)" in out, out[-3000:]  # ok-vm
    assert "(item=4 service(s), waiting up to 2 s)" in out  # failed or did not answer: a retry's worth


def test_a_run_of_the_same_second_does_not_write_into_another_runs_directory(run):
    report = run[1]
    assert re.fullmatch(r"\d{8}T\d{6}Z-2", report["run"]), report["run"]
    others = [p for p in run[2].iterdir() if p.name not in (report["run"], "latest")]
    assert len(others) == 180 and not any(any(p.iterdir()) for p in others)


def test_a_vm_that_never_answers_is_unreachable_at_connect(run):
    provision = students(run[1])["down-vm"]["provision"]
    assert (provision["status"], provision["step"]) == ("unreachable", "connect")


def test_a_vm_that_answers_but_runs_no_module_failed_at_the_ping_with_the_error(run):
    out, report, _ = run
    provision = students(report)["dead-vm"]["provision"]
    assert (provision["status"], provision["step"]) == ("failed", "Check that the VM answers and runs modules")
    assert "/nonexistent/python3" in provision["msg"]
    # No doctor on a VM where no module runs.
    assert "diagnosis" not in students(report)["dead-vm"] and "No diagnosis for dead-vm" not in out.stdout


def test_a_vm_lost_during_the_role_leaves_the_play_at_once_and_is_recorded(run):
    out, report, _ = run
    # No later task of the role waited on it: one unreachable task, the one after the loss.
    assert len(re.findall(r"^fatal: \[lost-vm\]: UNREACHABLE!", out.stdout, re.M)) == 1, out.stdout[-4000:]
    assert "TASK [inventory_api : Do the step after that]" in out.stdout  # the others went on
    lost = students(report)["lost-vm"]
    assert (lost["status"], lost["reason"], lost["provision"]["status"]) == ("error", "vm_unreachable", "unreachable")
    assert lost["provision"]["step"] == "during the role inventory_api"


def test_a_failed_role_is_recorded_with_its_task_and_without_its_secrets(run):
    out, report, _ = run
    provision = students(report)["broken-vm"]["provision"]
    assert (provision["status"], provision["step"]) == (
        "failed",
        "Fail here, quoting the API token and the become password",
    )
    assert provision["msg"] == "the compose file is not valid YAML (token ********, sudo ********)"


@pytest.mark.parametrize("secret", [TOKEN, BECOME_PASSWORD], ids=["token", "become_password"])
def test_no_secret_of_a_vm_is_in_the_report(run, secret):
    assert secret not in json.dumps(run[1])


def test_the_doctor_gathers_evidence_only_and_the_report_decides_with_the_one_grading_answer(run):
    by_vm = students(run[1])
    # Healthy evidence: only Jaeger could tell, and the grader's one query did not get through.
    assert (by_vm["ok-vm"]["diagnosis"]["reason"], by_vm["ok-vm"]["diagnosis"]["hop"]) == (
        "not_verified",
        "jaeger_query",
    )
    assert "unreachable" in by_vm["ok-vm"]["diagnosis"]["msg"]
    # Evidence that settles it on the VM's side, whatever Jaeger says.
    assert (by_vm["broken-vm"]["diagnosis"]["reason"], by_vm["broken-vm"]["diagnosis"]["hop"]) == (
        "not_restarted",
        "container_env",
    )
    assert not {"down-vm", "lost-vm", "dead-vm"} & {vm for vm, s in by_vm.items() if "diagnosis" in s}


def test_the_grade_counts_traces_from_when_provisioning_started(run):
    report = run[1]
    started = [s["provision"]["started"] for s in report["students"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", moment) for moment in started), started
    assert report["since"] == min(started)


def test_the_rerun_command_carries_this_runs_class_settings(run):
    out, report, _ = run
    command = re.search(r"Re-run only the 5 failed .*?: (\S+/bin/lab10 class .*)$", out.stdout, re.M)
    assert command, out.stdout[-3000:]
    assert command.group(1).startswith(f"{ROOT}/bin/lab10 class -i ")
    assert " --limit @" in command.group(1)
    assert re.search(r"failed\.txt -f \d+ ", command.group(1)), command.group(1)
    assert "add the vault and become options you gave this run" in out.stdout
    assert "-e class_jaeger_url=http://127.0.0.1:1" in command.group(1)
    assert re.search(r"-e class_report_dir=/\S+/reports( |$)", command.group(1))
    assert "class_jaeger_bearer_token" not in command.group(1) and "class_concurrency" not in command.group(1)
