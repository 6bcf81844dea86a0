"""Each molecule scenario carries its own settings: a run by hand equals a run through the Makefile."""

from __future__ import annotations

import importlib.util
import re
import sys

import yaml
from playbook_run import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

BASE = ROOT / ".config" / "molecule" / "config.yml"
SCENARIOS = sorted(ROOT.glob("molecule/*/molecule.yml"))
INTERPOLATED = re.compile(r"\$\{(\w+)")


def octet(scenario) -> int:
    group_vars = yaml.safe_load(scenario.read_text())["provisioner"]["inventory"]["group_vars"]
    return group_vars["all"]["lab10_subnet_octet"]


def test_every_scenario_has_its_own_subnet():
    octets = {scenario.parent.name: octet(scenario) for scenario in SCENARIOS}
    assert {"default", "demo"} <= set(octets)
    assert all(isinstance(value, int) and 1 <= value <= 254 for value in octets.values()), octets
    assert len(set(octets.values())) == len(octets), octets


def names_testbed_writes() -> set[str]:
    """The names scripts/testbed.py writes to .env.yml (its images: the names of its image builders)."""
    spec = importlib.util.spec_from_file_location("testbed_script", ROOT / "scripts" / "testbed.py")
    testbed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(testbed)
    images = dict.fromkeys(("DEBIAN_IMAGE", "APP_BASE_IMAGE", "JAEGER_IMAGE", "LABVM_IMAGE", "GATE_IMAGE"), "image")
    assert set(images) <= set(re.findall(r'"(\w+_IMAGE)"', (ROOT / "scripts" / "testbed.py").read_text()))
    return set(testbed.testbed_settings(images, False, (2, 40, 3), None))


def test_molecule_reads_only_what_make_testbed_writes():
    """${VAR} in the configs: molecule's own or the test bed's (.env.yml), never one a script exports."""
    written = names_testbed_writes()
    for path in [BASE, *SCENARIOS]:
        for name in INTERPOLATED.findall(path.read_text()):
            assert name.startswith("MOLECULE_") or name in written, f"{path}: ${{{name}}}"


def test_scripts_set_no_scenario_settings():
    for script in ("demo.sh", "molecule.sh"):
        text = (ROOT / "scripts" / script).read_text()
        assert "LAB10_SUBNET_OCTET" not in text
        assert "images.env" not in text, f"{script} feeds molecule something a run by hand would miss"
