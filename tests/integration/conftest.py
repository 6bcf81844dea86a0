"""Fixtures on the test bed's real parts: Jaeger and lab-VM containers from .testbed/images.env.

Everything a fixture starts is removed at teardown, also when the test failed.
"""

from __future__ import annotations

import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from testbed_lib.engine import labvm_run_options  # noqa: E402

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


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@dataclass
class Jaeger:
    container: object
    query_url: str = ""
    otlp_url: str = ""

    def _refresh(self) -> None:
        self.container.reload()
        ports = self.container.attrs["NetworkSettings"]["Ports"]
        self.query_url = "http://127.0.0.1:{}".format(ports["16686/tcp"][0]["HostPort"])
        self.otlp_url = "http://127.0.0.1:{}".format(ports["4318/tcp"][0]["HostPort"])

    def wait_ready(self) -> None:
        self._refresh()
        wait_http(self.query_url + "/api/services")

    def stop(self) -> None:
        self.container.stop(timeout=5)

    def start(self) -> None:
        # Host ports are assigned anew on start: query_url/otlp_url change.
        self.container.start()
        self.wait_ready()


@pytest.fixture
def jaeger(docker_client, images):
    """A fresh Jaeger run as a user would: `docker run -p ...:4318 -p ...:16686 IMAGE`."""
    container = docker_client.containers.run(
        images["JAEGER_IMAGE"],
        detach=True,
        labels=LABEL,
        ports={"4318/tcp": ("127.0.0.1", None), "16686/tcp": ("127.0.0.1", None)},
    )
    try:
        endpoints = Jaeger(container)
        endpoints.wait_ready()
        yield endpoints
    finally:
        container.remove(force=True, v=True)


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
