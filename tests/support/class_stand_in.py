"""The VMs that tests/cli run playbooks/class.yml over, with the stand-in role inventory_api
(tests/fixtures/class/roles): one fine, one whose role fails quoting its secrets, one lost during the role,
one that never answers, one connected that runs no module. No Docker, no lab VM."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

VMS = ("ok-vm", "broken-vm", "lost-vm", "down-vm", "dead-vm")
# The failing VM's secrets: the stand-in quotes both in its error; no record may.
TOKEN = "s3cr3t-token-of-broken"
BECOME_PASSWORD = "sudo-pw-of-broken"


def write_stand_in_class(work: Path) -> None:
    """work/roster.csv (the VMs, each with a student) and work/hosts.yml (how each VM is reached)."""
    (work / "roster.csv").write_text("vm_name,student\n" + "".join(f"{vm},{vm[0].upper()}\n" for vm in VMS))
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False}
    closed = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1}
    flag = work / "lost-vm.lost"
    hosts = {
        "ok-vm": {**local, "doctor_fixture": "healthy"},
        "broken-vm": {
            **local,
            "doctor_fixture": "not_restarted",
            "fail_vm": True,
            "inventory_api_token": TOKEN,
            "ansible_become_password": BECOME_PASSWORD,
        },
        # Answers until the stand-in role touches the flag, then every connection goes to a closed port.
        "lost-vm": {
            **local,
            **closed,
            "lose_vm_flag": str(flag),
            "ansible_connection": f"{{{{ 'ssh' if '{flag}' is exists else 'local' }}}}",
        },
        "down-vm": {**local, **closed},
        # Connected, yet no module runs (a stopped container over the docker connection fails this way).
        "dead-vm": {**local, "ansible_python_interpreter": "/nonexistent/python3"},
    }
    (work / "hosts.yml").write_text(yaml.safe_dump({"lab_vms": {"hosts": hosts}}))
