"""The roster plugin as Ansible's CLIs use it (ansible-inventory, ansible, ansible-playbook); no container.

Each test starts a CLI of this venv with the kit's ansible.cfg (ANSIBLE_CONFIG), as the README says to.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1"}


def ansible(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, env=ENV, cwd=cwd)


def test_ansible_inventory_builds_lab_vms_and_sections():
    out = ansible("ansible-inventory", "-i", "roster.example.csv", "--graph")
    assert out.returncode == 0, out.stderr
    assert "@lab_vms:" in out.stdout and "student-abc" in out.stdout and "@section_wed_14_16:" in out.stdout


@pytest.mark.parametrize(
    "roster_text",
    [
        "vm_name,student\nalice,A\nBad_Name,B\n",
        # One column: Ansible's ini plugin would read this as host names if the roster plugin only raised.
        "vm_name\nalice\nBad_Name\n",
    ],
)
def test_a_bad_roster_stops_ansible_playbook_before_any_connection(tmp_path, roster_text):
    path = tmp_path / "class.csv"
    path.write_text(roster_text)
    out = ansible("ansible-playbook", "-i", str(path), str(ROOT / "playbooks" / "grade.yml"))
    assert out.returncode == 1
    assert f"[ERROR]: the roster is not valid, nothing was run:\n{path}, line 3: vm_name 'Bad_Name'" in out.stderr
    assert "PLAY [" not in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("text", ["vm_name,student\n", "vm_name\nlocalhost\n"])
def test_an_empty_roster_or_a_reserved_name_stops_ansible_playbook(tmp_path, text):
    """Not a run that grades nobody and exits 0, nor a `localhost` row the report's delegate_to would hit."""
    path = tmp_path / "class.csv"
    path.write_text(text)
    out = ansible("ansible-playbook", "-i", str(path), str(ROOT / "playbooks" / "grade.yml"))
    assert out.returncode == 1 and f"{path}, line " in out.stderr
    assert "PLAY [" not in out.stdout


def test_a_bad_roster_fails_ansible_inventory_as_any_broken_inventory_does(tmp_path):
    """Exit status 1, Ansible's error line (its display: colour, log_path), no traceback, no half inventory."""
    path = tmp_path / "class.csv"
    path.write_text("vm_name\nalice\nBad_Name\n")
    log = tmp_path / "ansible.log"
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True, text=True, cwd=ROOT, env={**ENV, "ANSIBLE_LOG_PATH": str(log)},
    )  # fmt: skip
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.startswith("[ERROR]: the roster is not valid")
    assert "Traceback" not in out.stderr
    assert f"{path}, line 3: vm_name 'Bad_Name'" in log.read_text()


def test_inventory_ini_still_parses():
    out = ansible("ansible-inventory", "-i", "inventory.ini", "--graph")
    assert out.returncode == 0, out.stderr
    assert "@lab_vms:" in out.stdout


def test_an_unparsable_inventory_source_is_fatal(tmp_path):
    broken = tmp_path / "hosts.yml"
    broken.write_text("all: [unclosed\n")
    out = ansible("ansible-playbook", "-i", str(broken), str(ROOT / "playbooks" / "site.yml"))
    assert out.returncode != 0
    assert "Completely failed to parse inventory source" in out.stderr


def test_ansible_doc_renders_the_plugin():
    out = ansible("ansible-doc", "-t", "inventory", "roster")
    assert out.returncode == 0, out.stderr
    assert "default_user" in out.stdout and "EXAMPLES" in out.stdout


def test_a_semicolon_roster_with_extra_columns_warns_once(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("\ufeffvm_name;student;grade;notes\nalice;Tamm, Alice;5;\nbob;Bob;4;late\n")
    out = ansible("ansible-inventory", "-i", str(path), "--host", "alice", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert '"roster_student": "Tamm, Alice"' in out.stdout and "grade" not in out.stdout
    assert out.stderr.count("columns ignored") == 1
    assert f"[WARNING]: {path}: columns ignored: grade, notes" in out.stderr


def test_a_near_miss_column_stops_ansible_inventory(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("VM name\tE-mail\nalice\ta@example.edu\n")
    out = ansible("ansible-inventory", "-i", str(path), "--graph", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (1, "")
    assert f"{path}, line 1: column 'VM name' looks like 'vm_name': rename it" in out.stderr
    assert f"{path}, line 1: column 'E-mail' looks like 'email': rename it" in out.stderr
    assert "Traceback" not in out.stderr
