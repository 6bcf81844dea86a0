"""One home per fact for the controller's plugins (plugins/plugin_utils/kit.py): where the kit is, the DNS-label
rule, the service-name rule; the roster plugin, the role's preflight, the filters and the callback use it."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

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


@pytest.mark.parametrize("vm_name", ["vm_1", "Vm1", "-vm", "vm-", "a" * 64, "alice.vm"])
def test_the_roster_plugin_refuses_what_the_rule_refuses(vm_name):
    check_row = plugin("plugins", "inventory", "roster.py")["_check_row"]
    assert not KIT["is_dns_label"](vm_name)
    assert check_row({"vm_name": vm_name}) == [
        f"vm_name {vm_name!r} is not a lowercase DNS label (1-63 of a-z, 0-9 and '-', not starting or ending with '-')"
    ]
    assert check_row({"vm_name": "vm1"}) == []


def test_every_plugin_finds_the_kit_at_this_root():
    assert Path(KIT["KIT_ROOT"]) == ROOT
    for parts in (("plugins", "filter", "kit_hosts.py"), ("plugins", "inventory", "roster.py")):
        assert Path(plugin(*parts)["KIT_ROOT"]) == ROOT


def test_the_service_name_is_lab_criterias():
    assert KIT["service_name"]("vm7", "example.org") == "inventory.vm7.example.org"
    roster = plugin("plugins", "filter", "class_roster.py")["roster"]
    rows = roster(["vm7.lab"], {"vm7.lab": {}}, "example.org")
    assert rows[0]["service"] == "inventory.vm7.example.org"


def collection_kit(root, with_criteria):
    """kit.py copied to <root>/plugins/plugin_utils/ and, with_criteria, criteria.py to <root>/plugins/module_utils/lab/
    (a collection's tree: ansible-test's, scripts/sanity.py's); run from there."""
    copies = {ROOT / "plugins" / "plugin_utils" / "kit.py": root / "plugins" / "plugin_utils" / "kit.py"}
    if with_criteria:
        copies[ROOT / "module_utils" / "lab" / "criteria.py"] = (
            root / "plugins" / "module_utils" / "lab" / "criteria.py"
        )
    for source, target in copies.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return runpy.run_path(str(root / "plugins" / "plugin_utils" / "kit.py"))


def test_module_utils_are_read_from_the_repository():
    criteria = KIT["module_utils"]("lab/criteria")
    assert Path(criteria.__file__) == ROOT / "module_utils" / "lab" / "criteria.py"
    assert KIT["module_utils"]("lab/no_such_file") is None


def test_module_utils_are_read_from_a_collection(tmp_path):
    """A collection's plugins/module_utils/ beside plugins/plugin_utils/ (no module_utils/ at its root)."""
    kit = collection_kit(tmp_path, with_criteria=True)
    assert Path(kit["KIT_ROOT"]) == tmp_path.resolve()
    criteria = kit["module_utils"]("lab/criteria")
    assert Path(criteria.__file__) == tmp_path.resolve() / "plugins" / "module_utils" / "lab" / "criteria.py"
    assert kit["service_name"]("vm7", "example.org") == "inventory.vm7.example.org"


def test_the_service_name_without_its_file_is_a_filter_error(tmp_path):
    """kit.py without the kit around it: a filter error naming the file, not an AttributeError of None."""
    kit = collection_kit(tmp_path, with_criteria=False)
    with pytest.raises(AnsibleFilterError, match=r"module_utils/lab/criteria\.py is not found under "):
        kit["service_name"]("vm7", "example.org")


ROLE_PLUGINS = [
    ("inventory_api", "filter_plugins", "service_name.py"),
    ("inventory_api", "test_plugins", "dns_label.py"),
    ("lab_criteria", "filter_plugins", "lab_criterion.py"),
]


@pytest.mark.parametrize("parts", ROLE_PLUGINS, ids=lambda parts: "/".join(parts))
def test_a_role_plugin_copied_out_of_the_kit_says_what_it_needs(tmp_path, parts):
    """Ansible shows the message as `Skipping plugin (...), cannot load: <message>`."""
    target = tmp_path.joinpath("roles", *parts)
    target.parent.mkdir(parents=True)
    shutil.copyfile(ROOT.joinpath("roles", *parts), target)
    missing = tmp_path.resolve() / "plugins" / "plugin_utils" / "kit.py"
    with pytest.raises(ImportError) as error:
        runpy.run_path(str(target))
    assert str(error.value).startswith(f"{missing} is missing: the role {parts[0]} runs from the lab10 kit, ")
    assert "plugins/" in str(error.value) and "ansible.cfg" in str(error.value)


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
