"""The interrupt scenario: Ctrl-C in the middle of class.yml, then the next run finishes the class.

The first run is stopped with SIGINT to ansible-playbook's process group (what a terminal sends on Ctrl-C) once
every VM is building the service. Ansible runs no further task then (no rescue, no always, no report play: the
README says so), and the module running on each VM goes on without it. Each VM must still hold a valid compose
file, its intact backup and no temp file of ours; the run right after (no --limit: there is no failed.txt) must
provision and grade the whole roster, each VM ending with one running service container."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
REPORTS = EPHEMERAL / "reports"
VMS = ("labvm-interrupt-a", "labvm-interrupt-b")
LAB_DIR = "/home/centos/lab10"
COMPOSE_FILE = f"{LAB_DIR}/docker-compose.yml"
SEED = "/root/interrupt-record/seed-compose.yml"
# `docker compose ... up` as community.docker.docker_compose_v2 runs it (the CLI or its plugin binary).
COMPOSE_UP = re.compile(r"compose\b.*\bup\b")
PS_FORMAT = "'{{.Names}} {{.State}} {{.Image}}'"


def in_vm(vm: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", vm, "sh", "-c", command], capture_output=True, text=True, check=check)


def composing(vm: str) -> bool:
    """Whether a `compose up` runs on the VM now."""
    processes = in_vm(vm, "ps -eo args=", check=False).stdout.splitlines()
    return any(COMPOSE_UP.search(line) for line in processes)


def class_command() -> list[str]:
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    return ["ansible-playbook", "-i", str(SCENARIO / "roster.csv"), "-i", str(inventory),
            str(PROJECT / "playbooks" / "class.yml")]  # fmt: skip


def run_env() -> dict:
    return {**os.environ, "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def interrupted() -> dict:
    """class.yml stopped with SIGINT once every VM has been seen building: its exit status and output, and the
    VMs still composing when the signal went."""
    log = EPHEMERAL / "interrupted-run.out"
    shutil.rmtree(REPORTS, ignore_errors=True)  # an earlier session's (molecule verify again)
    started = time.monotonic()
    with log.open("w") as out:
        # Its own process group, as a shell's foreground job: the signal goes to the group, as Ctrl-C's does.
        run = subprocess.Popen(class_command(), stdout=out, stderr=subprocess.STDOUT, env=run_env(),  # noqa: S603
                               start_new_session=True)  # fmt: skip
        seen: set[str] = set()
        while seen != set(VMS):
            if run.poll() is not None or time.monotonic() - started > 300:
                run.kill()
                pytest.fail(f"class.yml ended or took too long before every VM built: {log.read_text()[-3000:]}")
            seen.update(vm for vm in VMS if vm not in seen and composing(vm))
            time.sleep(0.3)
        still = [vm for vm in VMS if composing(vm)]
        os.killpg(run.pid, signal.SIGINT)
        rc = run.wait(timeout=60)
    summary = f"interrupted after {time.monotonic() - started:.0f}s, rc {rc}; still composing: {still}"
    (EPHEMERAL / "interrupt-summary.txt").write_text(summary + "\n")
    print(summary)
    return {"rc": rc, "output": log.read_text(), "composing": still}


def test_interrupt_landed_while_vms_were_building(interrupted):
    assert interrupted["composing"], "every VM had finished its build before the signal: nothing was interrupted"


def test_interrupted_run_exits_99_and_runs_nothing_more(interrupted):
    """Ansible's answer to SIGINT: 'User interrupted execution', exit 99, no recap, no report play."""
    output = interrupted["output"]
    assert interrupted["rc"] == 99, output[-3000:]
    assert "User interrupted execution" in output
    assert "PLAY RECAP" not in output
    assert "Grade the class" not in output
    assert not REPORTS.exists() or not any(REPORTS.iterdir()), "an interrupted run wrote a report"


@pytest.mark.parametrize("vm", VMS)
def test_compose_file_valid_right_after_the_interrupt(interrupted, vm):
    result = in_vm(vm, f"docker compose -f {COMPOSE_FILE} config -q", check=False)
    assert result.returncode == 0, result.stderr


def leftovers(vm: str) -> list[str]:
    """Temp files of ours (inventory_api_files: .<name>.<random>.tmp) and Ansible's remote temp directories."""
    found = in_vm(vm, f"find {LAB_DIR} -name '.*.tmp'; ls -d /root/.ansible/tmp/ansible-tmp-* 2>/dev/null", check=False)
    return found.stdout.split()


def backups(vm: str) -> list[str]:
    return in_vm(vm, f"ls {COMPOSE_FILE}.*~ 2>/dev/null", check=False).stdout.split()


def wait_until_settled(vm: str, timeout: float = 180) -> None:
    """Until the interrupted run's module, which goes on without Ansible, is done on the VM."""
    deadline = time.monotonic() + timeout
    while composing(vm):
        assert time.monotonic() < deadline, f"{vm}: compose up still running after {timeout:.0f}s"
        time.sleep(1)


@pytest.mark.parametrize("vm", VMS)
def test_backup_is_the_students_file_and_no_temp_files(interrupted, vm):
    found = backups(vm)
    assert len(found) <= 1, found
    for backup in found:
        assert in_vm(vm, f"cmp {backup} {SEED}", check=False).returncode == 0, f"{backup} differs from the seed"
    assert leftovers(vm) == []


def compose_ups(vm: str) -> tuple[int, bool]:
    """(`compose up` processes not stopped, whether the role's wait for an earlier one is running) on the VM."""
    processes = [line.split(None, 1) for line in in_vm(vm, "ps -eo stat=,args=", check=False).stdout.splitlines()]
    running = sum(1 for stat, args in processes if COMPOSE_UP.search(args) and "pgrep" not in args and stat[0] != "T")
    return running, any("pgrep" in args and "[c]ompose" in args for _, args in processes)


@pytest.fixture(scope="module")
def rerun(interrupted) -> dict:
    """At once, as an instructor would: class.yml again, without --limit (the interrupted run left no failed.txt).

    The interrupted run's `compose up` goes on on each VM; whether it still runs when the re-run gets there is
    a race. So it is held (SIGSTOP) until the re-run on that VM either waits for it or starts a `compose up` of
    its own beside it (which is what breaks a VM: a second project network of the same name), then let go."""
    held = [vm for vm in VMS if composing(vm)]
    for vm in held:
        in_vm(vm, "pkill -STOP -f '[c]ompose.*[ ]up( |$)'", check=False)
    started = time.monotonic()
    beside: list[str] = []
    run = subprocess.Popen(class_command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,  # noqa: S603
                           env=run_env())  # fmt: skip
    try:
        waiting = list(held)
        while waiting and run.poll() is None and time.monotonic() - started < 300:
            for vm in list(waiting):
                running, waits = compose_ups(vm)
                if running or waits:
                    beside += [vm] if running else []
                    in_vm(vm, "pkill -CONT -f '[c]ompose.*[ ]up( |$)'", check=False)
                    waiting.remove(vm)
            time.sleep(0.3)
    finally:
        for vm in held:
            in_vm(vm, "pkill -CONT -f '[c]ompose.*[ ]up( |$)'", check=False)
    output = run.communicate(timeout=900)[0]
    summary = f"re-run: {time.monotonic() - started:.0f}s, rc {run.returncode}; held {held}, up beside it on {beside}"
    with (EPHEMERAL / "interrupt-summary.txt").open("a") as record:
        record.write(summary + "\n")
    print(summary)
    for vm in VMS:
        wait_until_settled(vm)
    return {"rc": run.returncode, "output": output, "held": held, "beside": beside}


def test_rerun_waits_for_the_interrupted_compose_up(rerun):
    assert rerun["held"], "no VM was still composing: the race was not run"
    assert rerun["beside"] == [], "the re-run started a compose up beside the interrupted run's"


def test_rerun_succeeds(rerun):
    assert rerun["rc"] == 0, rerun["output"][-5000:]


def test_rerun_report_covers_the_whole_roster_and_every_vm_passed(rerun):
    report = json.loads((REPORTS / "latest" / "report.json").read_text())
    by_vm = {s["vm_name"]: s for s in report["students"]}
    assert sorted(by_vm) == sorted(VMS)
    assert {vm: (s["provision"]["status"], s["passed"]) for vm, s in by_vm.items()} == dict.fromkeys(VMS, ("ok", True))
    assert {s["run"] for s in by_vm.values()} == {report["run"]}, "every result is the re-run's own"
    assert (REPORTS / "latest" / "failed.txt").read_text() == ""


@pytest.mark.parametrize("vm", VMS)
def test_after_the_rerun_one_running_service_from_the_compose_file(rerun, vm):
    """No half-built service: one container of the project's service (no renamed leftover of an interrupted
    recreate), running the image the compose file names."""
    listed = in_vm(vm, f"docker ps -a --filter label=com.docker.compose.project=lab10 --format {PS_FORMAT}").stdout
    containers = [line.split() for line in listed.splitlines() if line]
    image = in_vm(vm, f"docker compose -f {COMPOSE_FILE} config --images").stdout.split()
    assert containers == [[containers[0][0], "running", image[0]]], containers
    assert in_vm(vm, f"docker compose -f {COMPOSE_FILE} config -q", check=False).returncode == 0


@pytest.mark.parametrize("vm", VMS)
def test_after_the_rerun_one_intact_backup_and_no_temp_files(rerun, vm):
    found = backups(vm)
    assert len(found) == 1, found
    assert in_vm(vm, f"cmp {found[0]} {SEED}", check=False).returncode == 0, f"{found[0]} differs from the seed"
    assert leftovers(vm) == []
