"""inventory_api enables and starts the VM's Docker engine (course VMs are rebooted; the container comes back
only with the engine), and leaves the systemd task out when preflight's probe found the engine enabled and
active already. The role as shipped, run for real on a lab-VM container over the docker connection."""

from __future__ import annotations

import pytest
import yaml
from playbook_run import ROOT, run_playbook

pytestmark = pytest.mark.docker

TOKEN = "integration-not-a-secret-2b9e"
ENGINE_TASK = "inventory_api : Enable and start the Docker engine"


def in_vm(vm, *command: str) -> str:
    """command's stdout in the lab VM (its exit code is the caller's business: is-enabled exits 1 on disabled)."""
    return vm.exec_run(list(command), stderr=False).output.decode(errors="replace").strip()


def provision(tmp_path, vm, images):
    play = [{"name": "Provision", "hosts": "all", "gather_facts": False, "roles": [{"role": "inventory_api"}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"{vm.name} ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n"
    )
    role_vars = {
        "inventory_api_base_image": images["APP_BASE_IMAGE"],
        "inventory_api_extra_ca_bundle": images.get("EXTRA_CA_BUNDLE", ""),
        "inventory_api_token": TOKEN,
        "inventory_api_otlp_endpoint": "http://127.0.0.1:4318",
        "inventory_api_verify_trace": False,
    }
    return run_playbook(
        tmp_path / "play.yml",
        "-i",
        str(inventory),
        extra_vars=role_vars,
        env={"ANSIBLE_ROLES_PATH": str(ROOT / "roles")},
        timeout=900,
    )


def test_a_disabled_engine_is_enabled_again_and_an_enabled_one_is_left_alone(tmp_path, booted_labvm, images):
    vm = booted_labvm
    in_vm(vm, "systemctl", "disable", "docker.service")
    assert in_vm(vm, "systemctl", "is-enabled", "docker.service") == "disabled"
    assert in_vm(vm, "systemctl", "is-active", "docker.service") == "active"

    first = provision(tmp_path, vm, images)
    assert first.returncode == 0, first.output[-3000:]
    assert first.task_status(ENGINE_TASK, vm.name) == "changed", first.output[-3000:]
    assert in_vm(vm, "systemctl", "is-enabled", "docker.service") == "enabled"

    # Enabled and active now: the probe's answer spares the systemd task (the controller's CPU, make bench).
    again = provision(tmp_path, vm, images)
    assert again.returncode == 0, again.output[-3000:]
    assert again.task_status(ENGINE_TASK, vm.name) == "skipping", again.output[-3000:]
    assert in_vm(vm, "systemctl", "is-enabled", "docker.service") == "enabled"
