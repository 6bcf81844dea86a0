"""scripts/record_jaeger_fixtures.py runs against the test bed's Jaeger, and what it records now is what
tests/fixtures/jaeger holds: the unit tests replay the requests the module really makes today."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker  # the test bed's jaeger binary (make testbed)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "jaeger"


def requests(directory: Path) -> list[tuple]:
    """What identifies each recorded exchange, without the answer (trace ids and times differ per run)."""
    index = json.loads((directory / "exchanges.json").read_text())
    return sorted(
        (ex["stage"], ex["api"], ex["case"], ex["path"], json.dumps(ex["params"], sort_keys=True), ex["window_us"])
        for ex in index
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixtures")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "record_jaeger_fixtures.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


def test_recorder_asks_what_the_committed_fixtures_hold(recorded):
    assert requests(recorded) == requests(FIXTURES), "the module's requests changed: re-record the fixtures"


def test_recorder_gets_the_statuses_the_fixtures_hold(recorded):
    def statuses(directory):
        return sorted((ex["stage"], ex["api"], ex["case"], ex["path"], ex["status"])
                      for ex in json.loads((directory / "exchanges.json").read_text()))  # fmt: skip

    assert statuses(recorded) == statuses(FIXTURES)
