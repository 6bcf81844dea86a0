"""inventory_api's prune.yml on this host's real Docker engine: old app images go, two stay."""

from __future__ import annotations

import io
import tarfile
import time
import uuid

import pytest
import yaml
from playbook_run import ROOT, run_playbook

pytestmark = pytest.mark.docker


def empty_image(client, repository: str, tag: str) -> None:
    """A distinct (by its creation time) image without layers' content."""
    data = io.BytesIO()
    tarfile.open(fileobj=data, mode="w").close()
    client.api.import_image_from_data(data.getvalue(), repository=repository, tag=tag)


def test_only_the_current_and_the_previous_image_stay(docker_client, tmp_path):
    repository = f"lab10-test-prune-{uuid.uuid4().hex[:8]}"
    # Oldest first; the current one is not the newest (a run that went back to an earlier app).
    order = ["old1", "old2", "current", "previous"]
    try:
        for tag in order:
            empty_image(docker_client, repository, tag)
            time.sleep(1.1)  # `docker image ls` shows creation times to the second
        play = tmp_path / "prune.yml"
        tasks = [{"name": "Prune", "ansible.builtin.include_tasks": str(ROOT / "roles/inventory_api/tasks/prune.yml")}]
        play.write_text(
            yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}])
        )
        extra = {"inventory_api_image_name": repository, "_inventory_api_image": f"{repository}:current"}

        first = run_playbook(play, extra_vars=extra)
        assert first.returncode == 0, first.output
        tags = {tag.split(":")[1] for image in docker_client.images.list(repository) for tag in image.tags}
        assert tags == {"current", "previous"}
        assert first.stats()["changed"] == 1  # one task, two images removed

        again = run_playbook(play, extra_vars=extra)
        assert again.returncode == 0 and again.stats()["changed"] == 0, again.output
    finally:
        for image in docker_client.images.list(repository):
            docker_client.images.remove(image.id, force=True)
