"""Fixtures on the test bed's real parts: Jaeger and lab-VM containers from .testbed/images.env.

Everything a fixture starts is removed at teardown, also when the test failed.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from testbed_lib.engine import labvm_run_options  # noqa: E402
from testbed_lib.local_jaeger import LocalJaeger  # noqa: E402

LABEL = {"lab10.test": "1"}


def load_images_env() -> dict[str, str]:
    path = ROOT / ".testbed" / "images.env"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make testbed` first", pytrace=False)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return dict(pairs)


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
    client.close()


@pytest.fixture
def jaeger(docker_client, images):
    """A fresh Jaeger run as a user would: `docker run -p ...:4318 -p ...:16686 IMAGE`."""
    with LocalJaeger("docker", labels=LABEL) as endpoints:
        yield endpoints


@pytest.fixture
def labvm(docker_client, images):
    """A lab-VM container booted to systemd, with /var/lib/docker on its own volume."""
    name = f"lab10-test-vm-{uuid.uuid4().hex[:8]}"
    volume = docker_client.volumes.create(f"{name}-docker", labels=LABEL)
    container = None
    try:
        container = docker_client.containers.run(
            images["LABVM_IMAGE"],
            detach=True,
            name=name,
            hostname=name,
            labels=LABEL,
            volumes={volume.name: {"bind": "/var/lib/docker", "mode": "rw"}},
            **labvm_run_options(images["LABVM_PRIVILEGED"] == "true"),
        )
        yield container
    finally:
        if container is not None:
            container.remove(force=True, v=True)
        volume.remove(force=True)
