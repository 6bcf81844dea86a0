"""Fixtures for every scenario's testinfra tests (in the folders below); on failure, attach the stack's logs."""

from __future__ import annotations

import json

import pytest
from lab10_checks import COMPOSE


@pytest.fixture(scope="module")
def lab_vars(host) -> dict:
    """The VM's inventory variables, templated as the play saw them (testinfra returns them raw)."""
    raw = host.ansible.get_variables()
    templated = sorted(name for name, value in raw.items() if isinstance(value, str) and "{{" in value)
    if templated:
        expression = "{{ {" + ", ".join(f"'{name}': {name}" for name in templated) + "} }}"
        raw.update(host.ansible("ansible.builtin.debug", json.dumps({"msg": expression}), check=False)["msg"])
    return raw


@pytest.fixture(scope="module")
def service_name(lab_vars) -> str:
    vm_name = lab_vars.get("inventory_api_vm_name") or lab_vars["inventory_hostname"].split(".")[0]
    return f"inventory.{vm_name}.sysadm.ee"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    host = item.funcargs.get("host")
    if report.when == "call" and report.failed and host is not None:
        logs = host.run(f"{COMPOSE} logs --no-color --tail 200")
        report.sections.append(("docker compose logs (lab10)", logs.stdout + logs.stderr))
