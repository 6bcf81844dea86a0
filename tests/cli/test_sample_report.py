"""docs/sample-report/ is what the kit writes today: scripts/gen_sample_report.py renders the sample class again
(ansible-playbook through the role's report tasks) and every file must equal the committed one byte for byte; the
screenshot must have been taken of the committed report.html (its sha256 in report.png.source). Stale: `make docs`."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "sample-report"
REPORTS = ("report.html", "report.md", "report.json")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_sample_report.py"), "--out", str(out), "--no-png"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.mark.parametrize("name", REPORTS)
def test_the_sample_report_is_what_the_kit_writes_today(regenerated, name):
    assert (regenerated / name).read_bytes() == (SAMPLE / name).read_bytes(), f"{name} is stale: run make docs"


def test_the_screenshot_was_taken_of_the_current_report_html():
    source = (SAMPLE / "report.png.source").read_text().split()
    assert source == [hashlib.sha256((SAMPLE / "report.html").read_bytes()).hexdigest(), "report.html"], (
        "report.png shows another report.html: run make docs"
    )
    assert (SAMPLE / "report.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_sample_shows_a_whole_class():
    """Passes and each kind of failure the README's picture promises, not a class of two."""
    import json

    report = json.loads((SAMPLE / "report.json").read_text())
    reasons = {s["reason"] for s in report["students"]}
    assert len(report["students"]) >= 12 and report["summary"]["passed"] >= 5
    assert reasons >= {"ok", "too_short", "operation_unknown", "service_unknown", "ssh_key_refused",
                       "become_password_missing", "registry_rate_limited"}  # fmt: skip
