"""The kit's commands from another folder (the instructor's, the student's): bin/lab10 finds the kit, and a kit
play that would match no host fails with the reason instead of Ansible's "skipping: no hosts matched" and exit 0.
Ansible CLIs of this venv, no container: every run here stops before any connection or grades a Jaeger that
does not answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LAB10 = ROOT / "bin" / "lab10"
PLAYBOOKS = ("site", "class", "grade", "doctor", "trust")
# A user's shell: no ANSIBLE_* of the test run's (make exports ANSIBLE_CONFIG).
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")} | {"NO_COLOR": "1"}


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "roster.csv").write_text("vm_name,student\nvm-a,A\n")
    return tmp_path


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_ansible_playbook_from_another_folder_fails_and_names_the_wrapper(folder, playbook):
    """Without the kit's ansible.cfg the roster plugin is off: Ansible alone would skip the play and exit 0."""
    out = run([str(BIN / "ansible-playbook"), "-i", "roster.csv", str(ROOT / "playbooks" / f"{playbook}.yml")], folder)
    assert out.returncode != 0, out.stdout
    assert "did not read the kit's ansible.cfg" in out.stderr and f"{LAB10} grade -i roster.csv" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_a_kit_play_with_no_lab_vm_fails_with_the_inventory_named(tmp_path, playbook):
    (tmp_path / "hosts.ini").write_text("[lab_vms]\n\n[others]\nsomewhere\n")
    out = run([str(LAB10), playbook, "-i", "hosts.ini"], tmp_path)
    assert out.returncode != 0, out.stdout
    assert f"No host in group lab_vms in the inventory ({tmp_path / 'hosts.ini'})" in out.stderr


def test_a_limit_outside_lab_vms_fails_instead_of_skipping(tmp_path):
    (tmp_path / "hosts.ini").write_text("[lab_vms]\nvm-a\n\n[others]\nsomewhere\n")
    out = run([str(LAB10), "grade", "-i", "hosts.ini", "--limit", "somewhere"], tmp_path)
    assert out.returncode != 0, out.stdout
    assert "--limit somewhere leaves no host of group lab_vms" in out.stderr


def test_lab10_grades_from_another_folder_and_writes_the_report_there(folder):
    out = run([str(LAB10), "grade", "-i", "roster.csv", "-e", "class_jaeger_url=http://127.0.0.1:1"], folder)
    # Jaeger does not answer: the report says so for every student and the run fails, after writing it.
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr
    assert (folder / "reports" / "latest" / "report.json").is_file()
    assert f"{LAB10} grade -i {folder}/roster.csv --limit @{folder}/reports/" in out.stdout


@pytest.mark.parametrize("args", [[], ["--help"], ["nosuch"]])
def test_lab10_without_a_known_playbook_lists_them(folder, args):
    out = run([str(LAB10), *args], folder)
    assert out.returncode == 2
    assert "PLAYBOOK: class doctor grade jaeger site trust" in out.stderr
