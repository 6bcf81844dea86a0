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


@pytest.fixture
def images(docker_client):
    """A repository of four app images, oldest first; the current one is not the newest (a run that went
    back to an earlier app)."""
    repository = f"lab10-test-prune-{uuid.uuid4().hex[:8]}"
    try:
        for tag in ["old1", "old2", "current", "previous"]:
            empty_image(docker_client, repository, tag)
            time.sleep(1.1)  # `docker image ls` shows creation times to the second
        yield repository
    finally:
        for container in docker_client.containers.list(all=True, filters={"ancestor": f"{repository}:old1"}):
            container.remove(force=True)
        for image in docker_client.images.list(repository):
            docker_client.images.remove(image.id, force=True)


def prune(tmp_path, repository):
    play = tmp_path / "prune.yml"
    tasks = [{"name": "Prune", "ansible.builtin.include_tasks": str(ROOT / "roles/inventory_api/tasks/prune.yml")}]
    local = {"hosts": "localhost", "connection": "local", "gather_facts": False}
    play.write_text(yaml.safe_dump([{**local, "tasks": tasks}]))
    extra = {"inventory_api_image_name": repository, "_inventory_api_image": f"{repository}:current"}
    return run_playbook(play, extra_vars=extra)


def tags_of(docker_client, repository) -> set[str]:
    return {tag.split(":")[1] for image in docker_client.images.list(repository) for tag in image.tags}


def test_only_the_current_and_the_previous_image_stay(docker_client, tmp_path, images):
    first = prune(tmp_path, images)
    assert first.returncode == 0, first.output
    assert tags_of(docker_client, images) == {"current", "previous"}
    assert first.stats()["changed"] == 1  # one task, two images removed

    again = prune(tmp_path, images)
    assert again.returncode == 0 and again.stats()["changed"] == 0, again.output


def test_an_old_image_a_container_uses_stays_and_fails_nothing(docker_client, tmp_path, images):
    docker_client.containers.create(f"{images}:old1", command=["/a-students-one-off"])  # never started
    run = prune(tmp_path, images)
    assert run.returncode == 0, run.output
    assert tags_of(docker_client, images) == {"old1", "current", "previous"}
