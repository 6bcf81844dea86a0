# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kit_hosts: a kit play's host pattern, or an error that says why it would match no host.

Ansible skips a play whose pattern matches no host and exits 0; for the kit that is a run that did nothing,
most often because it was started from another folder without the kit's ansible.cfg (no roster plugin, no
roles), or with an inventory that lists no lab VM. Every kit playbook templates its `hosts:` through this
filter, which playbooks/filter_plugins (a link to this folder, found next to the playbook whatever config is
in effect) provides. Documentation: kit_hosts.yml beside this file (ansible-doc -t filter kit_hosts).
"""

from __future__ import annotations

import importlib.util
import os
import re

from ansible import context
from ansible.errors import AnsibleFilterError

# The kit's shared facts for plugins (plugins/plugin_utils/kit.py), run from their file: a plugin of a plain
# folder imports no sibling.
_PLUGINS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_SPEC = importlib.util.spec_from_file_location("lab10_plugin_kit", os.path.join(_PLUGINS, "plugin_utils", "kit.py"))
kit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(kit)
KIT_ROOT = kit.KIT_ROOT
KIT_CONFIG = os.path.join(KIT_ROOT, "ansible.cfg")
WRAPPER = os.path.join(KIT_ROOT, "bin", "lab10")
# A limit token the filter cannot evaluate by name (patterns, exclusions, intersections, ranges): no verdict.
_PATTERN = re.compile(r"[*?\[\]~!&]")


def limited_hosts(limit, groups, cwd="."):
    """The hosts a simple --limit names (host and group names, @files), or None when it is a pattern."""
    tokens = []
    for token in re.split(r"[,:]", limit or ""):
        token = token.strip()
        if token.startswith("@"):
            try:
                with open(os.path.join(cwd, token[1:]), encoding="utf-8") as handle:
                    tokens.extend(line.strip() for line in handle)
            except OSError:
                return None
        else:
            tokens.append(token)
    names = [token for token in tokens if token]
    if any(_PATTERN.search(name) for name in names):
        return None
    hosts = set()
    for name in names:
        hosts.update(groups.get(name) or [name])
    return hosts


def why_no_host(group, groups, config, sources, limit, cwd="."):
    """Why a play on group matches no host, or "" when it matches some (or the limit cannot be judged)."""
    members = list(groups.get(group) or [])
    if not members:
        if not config or os.path.realpath(config) != os.path.realpath(KIT_CONFIG):
            return (
                f"No host in group {group}: this run did not read the kit's ansible.cfg (it read "
                f"{config or 'none'}), so the roster plugin and the kit's settings are off. Run the kit's playbooks "
                f"through {WRAPPER} (e.g. `{WRAPPER} grade -i roster.csv`), or export ANSIBLE_CONFIG={KIT_CONFIG}."
            )
        listed = ", ".join(sources) or "none"
        return (
            f"No host in group {group} in the inventory ({listed}): list your VM under [{group}] in inventory.ini "
            f"or give a class roster with -i roster.csv."
        )
    chosen = limited_hosts(limit, groups, cwd)
    if chosen is not None and limit and not chosen.intersection(members):
        return f"--limit {limit} leaves no host of group {group} (it has {len(members)}): check the limit."
    return ""


def kit_hosts(group, groups, config=None, sources=(), limit=""):
    """group when a play on it matches hosts; raises AnsibleFilterError with the reason otherwise."""
    # --syntax-check (ansible-lint's, molecule's) templates hosts too, with whatever inventory is at hand.
    if context.CLIARGS.get("syntax"):
        return group
    reason = why_no_host(group, groups, config, list(sources or ()), limit, os.getcwd())
    if reason:
        raise AnsibleFilterError(reason)
    return group


class FilterModule:
    def filters(self):
        return {"kit_hosts": kit_hosts}
