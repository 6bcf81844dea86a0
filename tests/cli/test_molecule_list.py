"""molecule itself reads every scenario's config (molecule list, no container)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from playbook_run import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from testbed_lib import engine  # noqa: E402

BASE = ROOT / ".config" / "molecule" / "config.yml"
SCENARIOS = sorted(ROOT.glob("molecule/*/molecule.yml"))
INTERPOLATED = re.compile(r"\$\{(\w+)")


def test_molecule_reads_every_scenario(tmp_path):
    """molecule itself parses and validates the configs (with stand-in values for the test bed's)."""
    names = {name for path in [BASE, *SCENARIOS] for name in INTERPOLATED.findall(path.read_text())}
    env = {name: "false" if name == "LABVM_PRIVILEGED" else "stand-in" for name in names}
    env.update(engine.labvm_settings())  # lists, as make testbed writes them
    (tmp_path / "env.yml").write_text(yaml.safe_dump({k: v for k, v in env.items() if not k.startswith("MOLECULE_")}))
    molecule = Path(sys.executable).with_name("molecule")
    result = subprocess.run(
        [str(molecule), "--env-file", str(tmp_path / "env.yml"), "list", "--format", "plain"],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{molecule.parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = {line.split()[3] for line in result.stdout.splitlines() if line.startswith("labvm-")}
    assert listed == {scenario.parent.name for scenario in SCENARIOS}
