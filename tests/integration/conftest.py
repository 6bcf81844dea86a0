"""Fixtures on the test bed's real parts: Jaeger and lab-VM containers from .testbed/images.env.

Everything a fixture starts is removed at teardown, also when the test failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from labvms import LABEL, LabVMs

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from testbed_lib import envfile, labvm_ssh  # noqa: E402
from testbed_lib.gate import GatedJaeger  # noqa: E402
from testbed_lib.local_jaeger import LocalJaeger  # noqa: E402


def load_images_env() -> dict[str, str]:
    path = ROOT / ".testbed" / "images.env"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make testbed` first", pytrace=False)
    return envfile.read(path)


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    return load_images_env()


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env(timeout=300)
    yield client
    # Safety net: anything labelled by these fixtures that a crash left behind.
    for container in client.containers.list(all=True, filters={"label": "lab10.test=1"}):
        container.remove(force=True, v=True)
    for volume in client.volumes.list(filters={"label": "lab10.test=1"}):
        volume.remove(force=True)
    for network in client.networks.list(filters={"label": "lab10.test=1"}):
        network.remove()
    client.close()


@pytest.fixture
def jaeger(docker_client, images):
    """A fresh Jaeger run as a user would: `docker run -p ...:4318 -p ...:16686 IMAGE`."""
    with LocalJaeger("docker", labels=LABEL) as endpoints:
        yield endpoints


@pytest.fixture
def gated_jaeger(docker_client, images):
    """A fresh Jaeger behind the gate (scripts/testbed_lib/gate.py): .url, .token, .query_url, .network."""
    with GatedJaeger(labels=LABEL) as gate:
        yield gate


@pytest.fixture
def start_labvm(docker_client, images):
    """start_labvm(): one more lab VM (a docker SDK container), removed after the test."""
    vms = LabVMs(docker_client, images)
    try:
        yield vms.start
    finally:
        vms.remove_all()


@pytest.fixture
def labvm(start_labvm):
    """A lab-VM container booted to systemd, with /var/lib/docker on its own volume."""
    return start_labvm()


def wait_for(vm, command: list[str], ok, timeout: float = 90) -> None:
    """Run command in the lab VM each second until ok(its exec result); fail the test after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = vm.exec_run(command)
        if ok(result):
            return
        time.sleep(1)
    pytest.fail(f"lab VM: {command} did not succeed in {timeout}s: {result.output.decode(errors='replace')[-500:]}")


@pytest.fixture
def booted_labvm(labvm, images):
    """The lab VM booted, its engine up and the app base image loaded into it (as molecule's prepare does)."""
    wait_for(labvm, ["systemctl", "is-system-running"], lambda r: r.output.decode().strip() in ("running", "degraded"))
    wait_for(labvm, ["docker", "info"], lambda r: r.exit_code == 0)
    saved = subprocess.Popen(["docker", "save", images["APP_BASE_IMAGE"]], stdout=subprocess.PIPE)
    subprocess.run(["docker", "exec", "-i", labvm.name, "docker", "load", "-q"], stdin=saved.stdout, check=True)
    assert saved.wait() == 0
    return labvm


@pytest.fixture(scope="session")
def controller_key(tmp_path_factory) -> Path:
    """The controller's SSH key (ed25519, no passphrase): the private key's path; its .pub beside it."""
    return labvm_ssh.make_key(tmp_path_factory.mktemp("controller-ssh"))


@pytest.fixture
def ssh_labvm(start_labvm, controller_key):
    """A lab VM as a course VM is: sshd up, centos accepts controller_key and uses sudo without a password."""
    vm = start_labvm()
    labvm_ssh.wait_sshd(vm)
    labvm_ssh.authorize_key(vm, controller_key.with_suffix(".pub").read_text())
    return vm
