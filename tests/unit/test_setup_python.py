"""scripts/setup.sh's controller-Python check (`setup.sh --check-python`), run for real on stub interpreters.

A stub is a shell script that prints a version the way the check asks Python for it; no second Python needed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup.sh"
REQUIRES = re.search(r'^requires-python = ">=(\d+\.\d+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def stub_python(tmp_path: Path, prints: str, exit_code: int = 0) -> Path:
    stub = tmp_path / "python3"
    stub.write_text(f"#!/bin/sh\necho '{prints}'\nexit {exit_code}\n")
    stub.chmod(0o755)
    return stub


def check(python: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SETUP), "--check-python"],
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(python)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_rule_is_the_one_of_pyproject():
    assert REQUIRES == "3.11"  # ansible-core 2.19's controller minimum; the cases below are written for it


@pytest.mark.parametrize("version", ["3.9.18", "3.10.12", "2.7.18", "3.1.0"])
def test_an_older_python_stops_setup_naming_found_needed_and_how_to_pick(tmp_path, version):
    result = check(stub_python(tmp_path, version))
    assert result.returncode == 1
    assert f"is Python {version};" in result.stderr
    assert f"needs Python >= {REQUIRES} on the controller" in result.stderr
    assert "make setup PYTHON=python3.12" in result.stderr


@pytest.mark.parametrize("version", ["3.11.0", "3.12.3", "3.13.1", "3.100.0", "4.0.0"])
def test_a_python_at_or_above_the_minimum_passes(tmp_path, version):
    result = check(stub_python(tmp_path, version))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_the_python_running_these_tests_passes():
    result = check(sys.executable)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("prints", "exit_code"), [("", 127), ("Python 3.12.1", 0), ("3.12", 0)], ids=["fails", "not-a-version", "short"]
)
def test_a_python_that_does_not_answer_with_a_version_stops_setup(tmp_path, prints, exit_code):
    result = check(stub_python(tmp_path, prints, exit_code))
    assert result.returncode == 1
    assert "does not run" in result.stderr and "make setup PYTHON=python3.12" in result.stderr


def test_a_missing_python_is_named(tmp_path):
    result = check(tmp_path / "python3.42")
    assert result.returncode == 1
    assert f"PYTHON '{tmp_path / 'python3.42'}' does not run" in result.stderr
