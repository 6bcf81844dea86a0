"""Test `lab10_dns_label`: `inventory_api_vm_name is lab10_dns_label`, the rule the roster
plugin applies to vm_name too (plugins/plugin_utils/kit.py holds it once).
"""

from __future__ import annotations

import importlib.util
import os

# This file is <kit>/roles/inventory_api/test_plugins/dns_label.py.
_KIT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
_SPEC = importlib.util.spec_from_file_location(
    "lab10_plugin_kit", os.path.join(_KIT, "plugins", "plugin_utils", "kit.py")
)
kit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(kit)


class TestModule:
    """Ansible entry point."""

    def tests(self) -> dict:
        return {"lab10_dns_label": kit.is_dns_label}
