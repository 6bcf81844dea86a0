"""The kit's own group_vars reach every roster host wherever the roster is, below the roster's own group_vars.

In-process, with Ansible's own loader and vault (no CLI): tests/cli/test_roster_cli.py runs the same through
ansible-inventory, ansible and ansible-playbook from another folder.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar

ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("roster_plugin", ROOT / "plugins" / "inventory" / "roster.py")
roster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(roster)

PASSWORD = b"kit-vault-password"


def vault_loader(password: bytes | None = PASSWORD) -> DataLoader:
    """A loader as ansible-playbook hands it to the inventory: with the CLI's vault secrets, or none (an empty list)."""
    loader = DataLoader()
    loader.set_vault_secrets([] if password is None else [("default", VaultSecret(password))])
    return loader


def encrypted(text: str) -> bytes:
    return VaultLib([("default", VaultSecret(PASSWORD))]).encrypt(text)


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """A kit root as the README sets it up: group_vars/lab_vms/main.yml and an encrypted vault.yml."""
    group_vars = tmp_path / "kit" / "group_vars" / "lab_vms"
    group_vars.mkdir(parents=True)
    (group_vars / "main.yml").write_text("inventory_api_otlp_endpoint: https://jaeger.example\nshared: main\n")
    (group_vars / "vault.yml").write_bytes(encrypted("inventory_api_token: kit-token-0123\nshared: vault\n"))
    (group_vars / "vault.yml.example").write_text("inventory_api_token: replace-me\n")  # not a vars file
    return tmp_path / "kit"


def test_the_kit_root_is_where_the_plugin_lives():
    assert Path(roster.KIT_ROOT) == ROOT
    assert (Path(roster.KIT_ROOT) / "group_vars" / roster.GROUP).is_dir()


def test_lab_vms_files_merge_in_name_order_and_the_vault_decrypts(kit):
    assert roster.kit_group_vars(vault_loader(), str(kit)) == {
        "lab_vms": {
            "inventory_api_otlp_endpoint": "https://jaeger.example",
            "inventory_api_token": "kit-token-0123",
            "shared": "vault",  # vault.yml after main.yml, as host_group_vars reads them
        }
    }


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"all.yml": "a: 1\n"}, {"all": {"a": 1}}),
        ({"all/vars.yml": "a: 1\n", "all/more.yaml": "b: 2\n"}, {"all": {"a": 1, "b": 2}}),
        ({"lab_vms.yml": "t: x\n"}, {"lab_vms": {"t": "x"}}),
        ({"lab_vms/empty.yml": ""}, {}),  # an empty file adds nothing
        ({"lab_vms/.hidden.yml": "t: x\n", "lab_vms/main.yml~": "t: y\n", "section_a.yml": "t: z\n"}, {}),
        ({}, {}),  # no group_vars at all
    ],
)
def test_the_files_are_the_ones_ansible_reads_for_all_and_lab_vms(tmp_path, files, expected):
    for name, text in files.items():
        path = tmp_path / "group_vars" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert roster.kit_group_vars(vault_loader(), str(tmp_path)) == expected


def test_a_template_in_the_kit_vars_is_rendered_as_from_group_vars(tmp_path):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "lab_vms.yml").write_text('base: jaeger\nurl: "https://{{ base }}.example"\n')
    loader = vault_loader()
    variables = roster.kit_group_vars(loader, str(tmp_path))["lab_vms"]
    assert Templar(loader, variables=variables).template(variables["url"]) == "https://jaeger.example"


@pytest.mark.parametrize(
    ("password", "reason"),
    [(None, "Attempting to decrypt but no vault secrets found"), (b"wrong", "Decryption failed")],
)
def test_a_vault_that_cannot_be_decrypted_names_the_file_and_the_fix(kit, password, reason):
    with pytest.raises(roster.KitVarsError) as caught:
        roster.kit_group_vars(vault_loader(password), str(kit))
    vault = kit / "group_vars" / "lab_vms" / "vault.yml"
    assert str(caught.value).startswith(
        f"{vault} (the kit's variables of every roster host) is encrypted with Ansible Vault and cannot be"
        f" decrypted: {reason}"
    )
    assert str(caught.value).endswith("Run again with --ask-vault-pass or --vault-password-file FILE (the password"
                                      " it was encrypted with)")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "problem"),
    [("a: [\n", "cannot be loaded: YAML parsing failed"), ("- a\n", "is not a YAML mapping")],
)
def test_a_kit_vars_file_that_is_not_variables_is_named(tmp_path, text, problem):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(text)
    with pytest.raises(roster.KitVarsError) as caught:
        roster.kit_group_vars(vault_loader(), str(tmp_path))
    assert str(caught.value).startswith(f"{tmp_path / 'group_vars' / 'all.yml'} (the kit's variables of every")
    assert problem in str(caught.value)


def plugin_parse(roster_path: Path, kit: Path, monkeypatch, loader: DataLoader | None = None) -> InventoryData:
    """The plugin's parse() in-process, as Ansible's inventory manager calls it, with kit as the kit root."""
    inventory_loader.add_directory(str(ROOT / "plugins" / "inventory"))
    plugin = inventory_loader.get("roster")
    monkeypatch.setattr(sys.modules[type(plugin).__module__], "KIT_ROOT", str(kit))
    inventory = InventoryData()
    plugin.parse(inventory, loader or vault_loader(), str(roster_path))
    return inventory


def test_a_roster_elsewhere_gets_the_kit_vars_as_lab_vms_group_vars(kit, tmp_path, monkeypatch):
    path = tmp_path / "class" / "roster.csv"
    path.parent.mkdir()
    path.write_text("vm_name\nalice\n")
    inventory = plugin_parse(path, kit, monkeypatch)
    assert inventory.groups["lab_vms"].vars["inventory_api_token"] == "kit-token-0123"
    assert "inventory_api_token" not in inventory.hosts["alice"].vars  # a group variable, the lowest group level


def test_a_roster_in_the_kit_root_leaves_the_kit_vars_to_host_group_vars(kit, monkeypatch):
    """There Ansible reads the kit's group_vars itself (and ranks them higher): no second copy, no vault needed."""
    path = kit / "roster.csv"
    path.write_text("vm_name\nalice\n")
    inventory = plugin_parse(path, kit, monkeypatch, loader=vault_loader(None))
    assert inventory.groups["lab_vms"].vars == {}
    assert list(inventory.hosts) == ["alice"]


def test_a_kit_vault_without_its_password_ends_the_run(kit, tmp_path, monkeypatch, capsys):
    """A SystemExit, not an exception Ansible would catch before handing the CSV to its ini plugin."""
    path = tmp_path / "roster.csv"
    path.write_text("vm_name\nalice\n")
    with pytest.raises(SystemExit) as caught:
        plugin_parse(path, kit, monkeypatch, loader=vault_loader(None))
    assert caught.value.code == 1
    assert f"{kit / 'group_vars' / 'lab_vms' / 'vault.yml'} (the kit's variables" in capsys.readouterr().err
