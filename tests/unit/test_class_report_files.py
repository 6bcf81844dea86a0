"""class_report_files: one run's files land atomically in a new directory and `latest` moves to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.modules import class_report_files as module

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1"}


@pytest.mark.parametrize(("mode", "expected"), [(0o640, 0o750), (0o600, 0o700), (0o644, 0o755), (0o000, 0o000)])
def test_directories_get_the_execute_bits_of_their_read_bits(mode, expected):
    assert module.dir_mode(mode) == expected


@pytest.mark.parametrize(
    ("run", "files", "latest", "message"),
    [
        ("a/b", {"x": ""}, "latest", "run must be a single file name"),
        ("..", {"x": ""}, "latest", "run must be a single file name"),
        ("r1", {"../x": ""}, "latest", "files must be a single file name"),
        ("r1", {"x": ""}, "sub/latest", "latest must be a single file name"),
    ],
)
def test_plan_refuses_paths_that_leave_the_directory(tmp_path, run, files, latest, message):
    with pytest.raises(module.PlanError, match=message):
        module.plan(str(tmp_path), run, files, latest)


def test_plan_refuses_to_replace_a_real_latest_directory(tmp_path):
    (tmp_path / "latest").mkdir()
    with pytest.raises(module.PlanError, match="exists and is not a symlink"):
        module.plan(str(tmp_path), "r1", {"x": ""}, "latest")


def test_point_replaces_the_link(tmp_path):
    for run in ("r1", "r2"):
        (tmp_path / run).mkdir()
        module.point(str(tmp_path / "latest"), run)
    assert os.readlink(tmp_path / "latest") == "r2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "r1", "r2"]


def test_write_atomically_leaves_no_temporary_file(tmp_path):
    module.write_atomically(str(tmp_path / "report.json"), "{}\n", 0o640)
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert oct((tmp_path / "report.json").stat().st_mode & 0o777) == "0o640"


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
