"""The ssh scenario: a class over SSH as centos with sudo, run from the instructor's own folder through bin/lab10.

converge trusted the host keys and ran `bin/lab10 class`: the healthy VM passes, the VM whose sudo asks for a
password is a failed provisioning with the -K fix, the VM that refuses the key is unreachable with the key's fix.
Here: the re-run the kit printed (with -K's file and the key authorized) finishes the class; grade.yml through the
gated query API with the vault's token; the doctor over SSH; a new or changed host key named as such."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
FOLDER = EPHEMERAL / "instructor"
REPORTS = FOLDER / "reports"
LAB10 = PROJECT / "bin" / "lab10"
OK, SUDO, REFUSED = "labvm-ssh-ok", "labvm-ssh-sudo", "labvm-ssh-refused"
# An instructor's shell: nothing of molecule's ANSIBLE_* settings.
CLEAN_ENV = {"HOME": os.environ["HOME"], "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "NO_COLOR": "1"}


def lab10(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """bin/lab10 ARGS from the instructor's folder; prints its time and exit status."""
    started = time.monotonic()
    out = subprocess.run([str(LAB10), *args], cwd=FOLDER, env={**CLEAN_ENV, **(env or {})}, capture_output=True,
                         text=True, timeout=timeout)  # fmt: skip
    print(f"bin/lab10 {' '.join(args)}: {time.monotonic() - started:.0f}s, rc {out.returncode}")
    return out


def load(path: Path) -> dict:
    return json.loads((path / "report.json").read_text())


def students(report: dict) -> dict:
    return {s["vm_name"]: s for s in report["students"]}


def roster_address(vm: str) -> str:
    for line in (FOLDER / "roster.csv").read_text().splitlines():
        if line.startswith(f"{vm},"):
            return line.split(",")[4]
    raise AssertionError(f"{vm} is not in the roster")


@pytest.fixture(scope="module")
def first_run() -> str:
    return os.readlink(REPORTS / "latest")


@pytest.fixture(scope="module")
def first(first_run) -> dict:
    return students(load(REPORTS / first_run))


@pytest.fixture(scope="module")
def class_out() -> str:
    return (FOLDER / "class.out").read_text()


def test_the_trust_step_showed_each_vms_fingerprints_and_trusted_them():
    out = (FOLDER / "trust.out").read_text()
    assert out.count("trusted now: ") == 3, out[-3000:]
    for vm in (OK, SUDO, REFUSED):
        assert re.search(rf"SHA256:\S+ {re.escape(roster_address(vm))}\s+\(ED25519\)", out), out[-3000:]
    known = (FOLDER / "known_hosts").read_text().splitlines()
    assert {line.split()[0] for line in known} == {roster_address(vm) for vm in (OK, SUDO, REFUSED)}


def test_the_class_run_wrote_the_report_naming_the_two_it_could_not_provision(class_out):
    assert class_out.rstrip().endswith("rc=0"), class_out[-3000:]  # the report is written: the run did its job
    assert "1 of 3 students passed" in class_out


def test_the_healthy_vm_was_provisioned_over_ssh_and_passed(first):
    healthy = first[OK]
    assert healthy["provision"]["status"] == "ok" and healthy["passed"], healthy
    assert [c["ok"] for c in healthy["checks"]] == [True, True, True, True]


def test_a_sudo_that_asks_for_a_password_is_a_failed_provisioning_with_the_K_fix(first):
    student = first[SUDO]
    assert (student["provision"]["status"], student["reason"]) == ("failed", "become_password_missing"), student
    assert "-K" in student["fix"] and "Start the VM" not in student["fix"]


def test_a_refused_key_is_unreachable_with_the_keys_fix_not_start_the_vm(first):
    student = first[REFUSED]
    assert (student["provision"]["status"], student["reason"]) == ("unreachable", "ssh_key_refused"), student
    assert "authorized_keys" in student["fix"] and "Start the VM" not in student["fix"]
    assert "Permission denied" in student["provision"]["msg"]


def test_the_printed_rerun_goes_through_the_kit_wrapper(class_out, first_run):
    command = rerun_command(class_out)
    assert command[:3] == [str(LAB10), "class", "-i"]
    assert f"@{REPORTS / first_run / 'failed.txt'}" in command


def rerun_command(class_out: str) -> list[str]:
    match = re.search(r"Re-run only the 2 failed .*?: (\S+/bin/lab10 .*)$", class_out, re.M)
    assert match, class_out[-3000:]
    return shlex.split(match.group(1))


@pytest.fixture(scope="module")
def rerun(class_out, first_run) -> subprocess.CompletedProcess:
    """The student authorizes the instructor's key; the re-run the kit printed, with the vault and -K's file."""
    key = (FOLDER / "id_ed25519.pub").read_text().strip()
    subprocess.run(["docker", "exec", REFUSED, "labvm-ssh", "authorize-key", key], check=True, capture_output=True)
    command = rerun_command(class_out)
    out = lab10(*command[1:], "--vault-password-file", "vault-pass", "--become-password-file", "sudo-pass")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr
    return out


def test_the_rerun_provisions_only_the_two_and_the_merged_report_has_three_passes(rerun, first_run):
    recap = re.findall(r"^(\S+)\s+: ok=", rerun.stdout.split("PLAY RECAP")[-1], re.M)
    assert sorted(recap) == [REFUSED, SUDO], rerun.stdout[-3000:]
    merged = load(REPORTS / "latest")
    by_vm = students(merged)
    assert [by_vm[vm]["passed"] for vm in (OK, SUDO, REFUSED)] == [True, True, True]
    assert by_vm[OK]["run"] == first_run
    assert (REPORTS / "latest" / "failed.txt").read_text() == ""


def test_grade_through_the_gated_query_api_with_the_vaults_token(rerun):
    out = lab10("grade", "-i", "roster.csv", "--vault-password-file", "vault-pass",
                "-e", f"class_report_dir={FOLDER / 'grades'}")  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    assert "3 of 3 students passed" in out.stdout
    assert "molecule-gate-not-a-secret" not in out.stdout + out.stderr


def test_grade_without_the_token_meets_the_login_and_says_so(rerun):
    out = lab10("grade", "-i", "roster.csv", "--vault-password-file", "vault-pass", "-e", "class_jaeger_bearer_token=",
                "-e", f"class_report_dir={FOLDER / 'grades-no-token'}")  # fmt: skip
    assert out.returncode == 2
    report = load(FOLDER / "grades-no-token" / "latest")
    assert {(s["status"], s["reason"]) for s in report["students"]} == {("error", "login_required")}, report["summary"]


def test_the_doctor_over_ssh_as_centos_on_the_healthy_vm(rerun):
    out = lab10("doctor", "-i", "roster.csv", "--limit", OK, "--vault-password-file", "vault-pass",
                "-e", "inventory_api_verify_bearer_token=molecule-gate-not-a-secret")  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    assert "healthy: " in out.stdout


def test_the_students_doctor_on_the_gated_jaeger_proves_the_export_and_links_the_ui(rerun):
    """No token for the query API, as a student has none: not a failure; what was proved, and the UI link."""
    out = lab10("doctor", "-i", "roster.csv", "--limit", OK, "--vault-password-file", "vault-pass")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr
    assert "exported_login_required" in out.stdout
    assert f"/search?service=inventory.{OK}.sysadm.ee" in out.stdout


@pytest.mark.parametrize(
    ("known_hosts", "reason"),
    [("", "host_key_unknown"), ("changed", "host_key_changed")],
)
def test_an_unknown_or_changed_host_key_is_its_own_reason(rerun, known_hosts, reason, tmp_path):
    """The healthy VM with a known_hosts that lacks its key, or holds another VM's key under its address. A
    controller of its own (no SSH connection kept open by the runs before: they checked the key already)."""
    path = FOLDER / f"known_hosts-{reason}"
    if known_hosts == "changed":
        address = roster_address(OK)
        theirs = [line.split() for line in (FOLDER / "known_hosts").read_text().splitlines()]
        path.write_text("".join(f"{address} {kind} {key}\n" for host, kind, key in theirs if host != address))
    else:
        path.write_text("")
    reports = FOLDER / f"reports-{reason}"
    lab10("class", "-i", "roster.csv", "--limit", OK, "--vault-password-file", "vault-pass",
          "-e", f"ansible_ssh_common_args='-o UserKnownHostsFile={path}'", "-e", f"class_report_dir={reports}",
          "-e", "class_merge_previous=false", env={"ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path)})  # fmt: skip
    student = students(load(reports / "latest"))[OK]
    assert (student["provision"]["status"], student["reason"]) == ("unreachable", reason), student
    assert "bin/lab10 trust" in student["fix"] and "Start the VM" not in student["fix"]
