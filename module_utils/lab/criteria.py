# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's criteria, their one home: the modules import them, the roles read them through the role
lab_criteria (its filter lab_criterion), the controller's plugins through plugins/plugin_utils/kit.py.

Every GET /api/v1/inventory leaves a trace in which OPERATION, a child of PARENT_OPERATION, lasts at least
MIN_DURATION_MS; the service is inventory.<vm_name>.<DOMAIN>. Kept compatible with Python 3.8.
"""

from __future__ import annotations

OPERATION = "validate_inventory_cache"
PARENT_OPERATION = "GET /api/v1/inventory"
MIN_DURATION_MS = 300
DOMAIN = "sysadm.ee"
SERVICE_NAME = "inventory.{vm_name}.{domain}"


def service_name(vm_name, domain=DOMAIN):
    """The service name a VM's traces carry (the role inventory_api's default OTEL_SERVICE_NAME)."""
    return SERVICE_NAME.format(vm_name=vm_name, domain=domain)
