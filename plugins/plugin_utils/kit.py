# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kit's facts for its controller-side plugins, in one home: where the kit is, the DNS-label rule, the
service-name rule (module_utils/lab/criteria.py's) and a reader of module_utils' self-contained files.

Ansible loads a plugin of a plain folder (ansible.cfg's filter, inventory and callback plugins; a role's
filter_plugins and test_plugins) from its file: it cannot import a sibling, and module_utils are importable
only inside a module. So each plugin loads this file from its path (importlib, three lines at its top; a role's
plugins first say, when it is missing, that the role runs from the kit: that check cannot live here) and this
file reads module_utils files from theirs. In a collection this folder is plugins/plugin_utils too
(scripts/sanity.py lays it out so), where module_utils sit under plugins/.
"""

from __future__ import annotations

import importlib.util
import os
import re

from ansible.errors import AnsibleFilterError

# This file is <kit>/plugins/plugin_utils/kit.py.
KIT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
# A VM name: one lowercase DNS label (RFC 1123), for it is the host <vm_name>.<domain> and the service
# inventory.<vm_name>.<domain>.
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_LOADED = {}


def is_dns_label(name):
    """True for one lowercase DNS label: 1-63 letters, digits or '-', not starting or ending with '-'."""
    return isinstance(name, str) and DNS_LABEL.match(name) is not None


def module_utils(name):
    """The kit's module_utils/<name>.py (name: "lab/criteria"), loaded from its file once, or None when the
    kit is not around it (a copy of a plugin elsewhere). Only for files that import nothing of the kit's."""
    if name not in _LOADED:
        for base in (os.path.join(KIT_ROOT, "module_utils"), os.path.join(KIT_ROOT, "plugins", "module_utils")):
            path = os.path.join(base, *name.split("/")) + ".py"
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location(f"_lab10_kit_{name.replace('/', '_')}", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                _LOADED[name] = module
                break
        else:
            return None
    return _LOADED[name]


def service_name(vm_name, domain):
    """The service name a VM's traces carry: module_utils/lab/criteria.py's rule. Its callers are filters: without
    that file, an AnsibleFilterError naming it (not an AttributeError of None)."""
    criteria = module_utils("lab/criteria")
    if criteria is None:
        raise AnsibleFilterError(
            f"the service-name rule's file module_utils/lab/criteria.py is not found under {KIT_ROOT} (nor in"
            " plugins/module_utils/): run from the lab10 kit, whose module_utils/ its plugins read"
        )
    return criteria.service_name(vm_name, domain)
