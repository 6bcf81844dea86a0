"""grade.yml and class.yml with a class_until they cannot use: the run stops at the role's first task, naming the
variable and the value, before a VM is contacted, Jaeger is asked or a report directory is made; no container
(the VM's address and Jaeger's URL are closed ports)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("playbook", ["grade.yml", "class.yml"])
@pytest.mark.parametrize("until", ["2026-12-10T23:59:00", "7d"])
def test_an_unusable_class_until_stops_the_run_naming_it(tmp_path, until, playbook):
    (tmp_path / "roster.csv").write_text("vm_name,host,port\nalice,127.0.0.1,1\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1", "LAB10_PROGRESS": "never"}
    out = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "roster.csv"), str(ROOT / "playbooks" / playbook),
         "-e", "class_jaeger_url=http://127.0.0.1:1", "-e", f"class_report_dir={tmp_path / 'reports'}",
         "-e", f"class_until={until}"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr
    said = " ".join((out.stdout + out.stderr).split()).replace("''", "'")
    assert f"msg: 'class_until: cannot use '{until}'; use RFC 3339 to the second with a zone" in said
    assert "TASK [class : Check the grading window's end (class_until)]" in out.stdout
    assert "Traceback" not in said and "Ask Jaeger" not in out.stdout and "Check that the VM answers" not in out.stdout
    assert not (tmp_path / "reports").exists()


def test_a_deadline_already_past_stops_class_yml_before_any_vm_changes(tmp_path):
    (tmp_path / "roster.csv").write_text("vm_name,host,port\nalice,127.0.0.1,1\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1", "LAB10_PROGRESS": "never"}
    out = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "roster.csv"), str(ROOT / "playbooks" / "class.yml"),
         "-e", "class_jaeger_url=http://127.0.0.1:1", "-e", f"class_report_dir={tmp_path / 'reports'}",
         "-e", "class_until=2020-01-01T00:00:00Z"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr
    said = " ".join((out.stdout + out.stderr).split()).replace("''", "'")
    assert "class_until: '2020-01-01T00:00:00Z' is not after the grading window's start" in said
    assert "Check that the VM answers" not in out.stdout and not (tmp_path / "reports").exists()
