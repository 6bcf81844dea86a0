"""Filter `lab_criterion`: `'OPERATION' | lab_criterion`, one of the lab's criteria read from their one home,
module_utils/lab/criteria.py (the modules' code and the otel_doctor defaults read the same file), so the
role's vars/main.yml names them and holds no value of its own.
"""

from __future__ import annotations

import importlib.util
import os

from ansible.errors import AnsibleFilterError

# This file is <kit>/roles/lab_criteria/filter_plugins/lab_criterion.py.
_KIT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
_KIT_PY = os.path.join(_KIT, "plugins", "plugin_utils", "kit.py")
if not os.path.isfile(_KIT_PY):  # the role copied out of the kit: Ansible shows this as the plugin's load error
    raise ImportError(
        f"{_KIT_PY} is missing: the role lab_criteria runs from the lab10 kit, it needs the kit's plugins/ (and its"
        " ansible.cfg: module_utils, plugins); run it there, not copied out"
    )
_SPEC = importlib.util.spec_from_file_location("lab10_plugin_kit", _KIT_PY)
kit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(kit)
NAMES = ("OPERATION", "PARENT_OPERATION", "MIN_DURATION_MS", "DOMAIN")


def lab_criterion(name):
    criteria = kit.module_utils("lab/criteria")
    if criteria is None or name not in NAMES:
        raise AnsibleFilterError(
            f"lab_criterion: {name!r} is not one of {', '.join(NAMES)} of module_utils/lab/criteria.py"
        )
    return getattr(criteria, name)


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict:
        return {"lab_criterion": lab_criterion}
