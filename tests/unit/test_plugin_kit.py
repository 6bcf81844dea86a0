"""One home per fact for the controller's plugins (plugins/plugin_utils/kit.py): where the kit is, the DNS-label
rule, the service-name rule; the roster plugin, the role's preflight, the filters and the callback use it."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = runpy.run_path(str(ROOT / "plugins" / "plugin_utils" / "kit.py"))


def plugin(*parts):
    return runpy.run_path(str(ROOT.joinpath(*parts)))


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("vm1", True),
        ("a", True),
        ("alice-vm", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("-vm", False),
        ("vm-", False),
        ("Alice", False),
        ("alice.vm", False),
        ("alice_vm", False),
        ("", False),
        (None, False),
        (42, False),
    ],
)
def test_is_dns_label(name, ok):
    assert KIT["is_dns_label"](name) is ok


def test_the_roles_preflight_test_is_the_kits_rule():
    tests = plugin("roles", "inventory_api", "test_plugins", "dns_label.py")["TestModule"]().tests()
    assert [tests["lab10_dns_label"](name) for name in ("vm1", "Vm1", "vm-")] == [True, False, False]
    preflight = (ROOT / "roles" / "inventory_api" / "tasks" / "preflight.yml").read_text()
    assert "inventory_api_vm_name is lab10_dns_label" in preflight


def test_the_roster_plugin_refuses_what_the_rule_refuses():
    roster = plugin("plugins", "inventory", "roster.py")
    assert roster["kit"].is_dns_label("vm1") and not roster["kit"].is_dns_label("vm_1")


def test_every_plugin_finds_the_kit_at_this_root():
    assert Path(KIT["KIT_ROOT"]) == ROOT
    for parts in (("plugins", "filter", "kit_hosts.py"), ("plugins", "inventory", "roster.py")):
        assert Path(plugin(*parts)["KIT_ROOT"]) == ROOT


def test_the_service_name_is_lab_criterias():
    assert KIT["service_name"]("vm7", "example.org") == "inventory.vm7.example.org"
    roster = plugin("plugins", "filter", "class_roster.py")["roster"]
    rows = roster(["vm7.lab"], {"vm7.lab": {}}, "example.org")
    assert rows[0]["service"] == "inventory.vm7.example.org"


def test_module_utils_are_read_from_either_layout(tmp_path):
    """The repository's module_utils/, or a collection's plugins/module_utils/ (ansible-test's tree)."""
    assert KIT["module_utils"]("lab/criteria").DOMAIN == "sysadm.ee"
    assert KIT["module_utils"]("lab/no_such_file") is None


PYTHON_AND_YAML = [
    path
    for top in ("plugins", "roles", "module_utils", "scripts", "playbooks")  # not library/: its EXAMPLES spell names
    for path in sorted((ROOT / top).rglob("*"))
    if path.suffix in (".py", ".yml") and "__pycache__" not in path.parts
]
HOMES = {
    "[a-z0-9-]{0,61}": ROOT / "plugins" / "plugin_utils" / "kit.py",  # the DNS-label rule
    "inventory.{": ROOT / "module_utils" / "lab" / "criteria.py",  # the service-name rule
}


@pytest.mark.parametrize("fact", sorted(HOMES))
def test_each_fact_is_written_in_its_home_only(fact):
    assert [p.relative_to(ROOT).as_posix() for p in PYTHON_AND_YAML if fact in p.read_text()] == [
        HOMES[fact].relative_to(ROOT).as_posix()
    ]
