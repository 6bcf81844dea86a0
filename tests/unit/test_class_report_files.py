"""class_report_files: one run's files land atomically in a new directory and `latest` moves to it."""

from __future__ import annotations

import os
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


@pytest.mark.parametrize(("value", "expected"), [("0640", 0o640), ("640", 0o640), (0o640, 0o640), (416, 0o640)])
def test_a_mode_is_an_octal_string_or_a_number_as_it_is(value, expected):
    """YAML reads an unquoted 0640 as the number 416 (= 0o640); ansible.builtin.file takes it as it is."""
    assert module.file_mode(value) == expected


@pytest.mark.parametrize("value", ["rw-r", "0999", 0o1777, -1, True])
def test_a_mode_that_is_no_file_mode_is_refused(value):
    with pytest.raises(ValueError):
        module.file_mode(value)


def test_every_directory_made_gets_the_mode(tmp_path):
    """Not only the last one: reports/a/b/run all 0750."""
    module.make_dirs(str(tmp_path / "a" / "b" / "run"), 0o750)
    made = [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "run"]
    assert [oct(p.stat().st_mode & 0o777) for p in made] == ["0o750"] * 3


def test_a_claim_never_takes_a_directory_of_another_run(tmp_path):
    names = [module.claim(str(tmp_path), "20261125T120000Z", 0o750) for _ in range(3)]
    assert names == ["20261125T120000Z", "20261125T120000Z-2", "20261125T120000Z-3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_a_claim_in_check_mode_creates_nothing(tmp_path):
    (tmp_path / "r1").mkdir()
    assert module.claim(str(tmp_path), "r1", 0o750, check_mode=True) == "r1-2"
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]
