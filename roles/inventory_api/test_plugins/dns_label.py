"""Test `lab10_dns_label`: `inventory_api_vm_name is lab10_dns_label`, the rule the roster
plugin applies to vm_name too (plugins/plugin_utils/kit.py holds it once).
"""

from __future__ import annotations

import importlib.util
import os

# This file is <kit>/roles/inventory_api/test_plugins/dns_label.py.
_KIT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
_KIT_PY = os.path.join(_KIT, "plugins", "plugin_utils", "kit.py")
if not os.path.isfile(_KIT_PY):  # the role copied out of the kit: Ansible shows this as the plugin's load error
    raise ImportError(
        f"{_KIT_PY} is missing: the role inventory_api runs from the lab10 kit, it needs the kit's plugins/ (and its"
        " ansible.cfg: module_utils, plugins); run it there, not copied out"
    )
_SPEC = importlib.util.spec_from_file_location("lab10_plugin_kit", _KIT_PY)
kit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(kit)


class TestModule:
    """Ansible entry point."""

    def tests(self) -> dict:
        return {"lab10_dns_label": kit.is_dns_label}
