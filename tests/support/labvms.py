"""Lab-VM containers from the test bed's image, for the integration tests (any fixture scope)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from testbed_lib.engine import labvm_run_options  # noqa: E402

# Everything the integration tests start carries it: their session's teardown removes what a crash left.
LABEL = {"lab10.test": "1"}


class LabVMs:
    """Lab-VM containers booting systemd, each with /var/lib/docker on its own volume; remove_all() at teardown."""

    def __init__(self, client, images: dict[str, str]):
        self.client, self.images = client, images
        self.containers, self.volumes = [], []

    def start(self):
        name = f"lab10-test-vm-{uuid.uuid4().hex[:8]}"
        volume = self.client.volumes.create(f"{name}-docker", labels=LABEL)
        self.volumes.append(volume)
        container = self.client.containers.run(
            self.images["LABVM_IMAGE"],
            detach=True,
            name=name,
            hostname=name,
            labels=LABEL,
            volumes={volume.name: {"bind": "/var/lib/docker", "mode": "rw"}},
            **labvm_run_options(self.images["LABVM_PRIVILEGED"] == "true"),
        )
        self.containers.append(container)
        return container

    def remove_all(self) -> None:
        for container in self.containers:
            container.remove(force=True, v=True)
        for volume in self.volumes:
            volume.remove(force=True)
        self.containers, self.volumes = [], []
