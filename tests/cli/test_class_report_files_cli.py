"""class_report_files through Ansible's CLIs: `ansible -m class_report_files` and ansible-doc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1"}


def run_module(args: dict, *extra: str) -> tuple[int, dict]:
    ansible = str(Path(sys.executable).with_name("ansible"))
    out = subprocess.run(
        [ansible, "localhost", "-m", "class_report_files", "-a", json.dumps(args), *extra],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**ENV, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"},
    )  # fmt: skip
    return out.returncode, json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_the_module_writes_files_and_latest(tmp_path):
    rc, result = run_module({"path": str(tmp_path / "reports"), "run": "r1", "files": {"a.txt": "é\n", "b.txt": ""}})
    assert rc == 0, result
    assert (tmp_path / "reports" / "r1" / "a.txt").read_text(encoding="utf-8") == "é\n"
    assert os.readlink(tmp_path / "reports" / "latest") == "r1"
    assert result["paths"] == [str(tmp_path / "reports" / "r1" / n) for n in ("a.txt", "b.txt")]


def test_check_mode_writes_nothing(tmp_path):
    rc, result = run_module({"path": str(tmp_path / "reports"), "run": "r1", "files": {"a.txt": "x"}}, "--check")
    assert rc == 0 and result["changed"]
    assert not (tmp_path / "reports").exists()


def test_a_bad_mode_is_named(tmp_path):
    rc, result = run_module({"path": str(tmp_path), "run": "r1", "files": {}, "mode": "rw-r"})
    assert rc != 0 and "mode must be an octal file mode" in result["msg"]


def test_ansible_doc_renders_the_module():
    out = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-doc")), "-M", str(ROOT / "library"), "class_report_files"],
        capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "ATTRIBUTES" in out.stdout and "RETURN VALUES" in out.stdout


def test_the_module_writes_an_unquoted_yaml_mode_as_that_mode(tmp_path):
    rc, result = run_module({"path": str(tmp_path / "r"), "run": "r1", "files": {"a": ""}, "mode": 416})
    assert rc == 0, result
    assert oct((tmp_path / "r" / "r1" / "a").stat().st_mode & 0o777) == "0o640"
    assert oct((tmp_path / "r" / "r1").stat().st_mode & 0o777) == "0o750"
    assert oct((tmp_path / "r").stat().st_mode & 0o777) == "0o750"


def test_the_module_claims_a_run_directory(tmp_path):
    (tmp_path / "r1").mkdir()
    rc, result = run_module({"path": str(tmp_path), "run": "r1", "claim": True})
    assert rc == 0, result
    assert (result["run"], result["paths"]) == ("r1-2", [])
    assert (tmp_path / "r1-2").is_dir() and not (tmp_path / "latest").exists()
