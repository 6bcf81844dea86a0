"""The class_roster filter: each host's service name as the role inventory_api names it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "filter" / "class_roster.py"
_spec = importlib.util.spec_from_file_location("class_roster_filter", PLUGIN)
class_roster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(class_roster)


@pytest.mark.parametrize(
    ("host", "hostvars", "service"),
    [
        ("vm1.sysadm.ee", {}, "inventory.vm1.lab.example"),
        ("vm1", {"inventory_api_vm_name": "mari"}, "inventory.mari.lab.example"),
        ("vm1", {"inventory_api_domain": "other.example"}, "inventory.vm1.other.example"),
        ("vm1", {"inventory_api_otel_service_name": "my-own-name"}, "my-own-name"),
    ],
)
def test_the_service_is_named_as_the_role_names_it(host, hostvars, service):
    (row,) = class_roster.roster([host], {host: hostvars}, "lab.example")
    assert row["service"] == service


def test_the_roster_columns_and_the_provisioning_record_are_carried():
    known = {"roster_student": "Mari", "roster_email": "m@x", "roster_section": "tue", "class_provision": {"a": 1}}
    (row,) = class_roster.roster(["vm1"], {"vm1": known}, "sysadm.ee")
    assert row == {
        "host": "vm1",
        "vm_name": "vm1",
        "service": "inventory.vm1.sysadm.ee",
        "student": "Mari",
        "email": "m@x",
        "section": "tue",
        "provision": {"a": 1},
        "evidence": None,
    }


def test_a_hosts_api_token_is_never_read():
    class Guarded(dict):
        def __getitem__(self, key):
            assert key != "inventory_api_token"
            return super().__getitem__(key)

        def get(self, key, default=None):
            assert key != "inventory_api_token"
            return super().get(key, default)

    class_roster.roster(["vm1"], {"vm1": Guarded(inventory_api_token="vaulted")}, "sysadm.ee")
