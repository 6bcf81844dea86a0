"""Filter `inventory_api_service_name`: `vm_name | inventory_api_service_name(domain)`, the service name a VM's
traces carry (the default of inventory_api_otel_service_name). The rule is module_utils/lab/criteria.py's,
read through the kit's plugin_utils like every other plugin's, so the role, the class roster and the scripts
say it once.
"""

from __future__ import annotations

import importlib.util
import os

# This file is <kit>/roles/inventory_api/filter_plugins/service_name.py.
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


def service_name(vm_name, domain):
    return kit.service_name(vm_name, domain)


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict:
        return {"inventory_api_service_name": service_name}
