"""After converge, everything the student had is still there."""

import json

import yaml
from lab10_checks import COMPOSE, COMPOSE_FILE, http, inspect_service

RECORD = "/root/lab10-preserve"


def live_compose(host) -> dict:
    return yaml.safe_load(host.file(COMPOSE_FILE).content_string)


def seed_compose(host) -> dict:
    return yaml.safe_load(host.file(f"{RECORD}/seed-compose.yml").content_string)


def test_minio_definition_is_untouched(host):
    assert live_compose(host)["services"]["minio"] == seed_compose(host)["services"]["minio"]


def test_minio_container_was_not_recreated(host):
    before = host.file(f"{RECORD}/minio.id").content_string.strip()
    assert host.check_output(f"{COMPOSE} ps -q minio") == before
    assert inspect_service(host, "minio")["State"]["Running"] is True


def test_top_level_volumes_and_networks_are_kept(host):
    live, seed = live_compose(host), seed_compose(host)
    assert live["volumes"] == seed["volumes"]
    assert live["networks"] == seed["networks"]


def test_student_data_is_served_by_the_new_api(host, lab_vars):
    token = lab_vars["inventory_api_token"]
    status, body = http(host, "/api/v1/inventory/widgets", token)
    assert (status, json.loads(body)) == (200, {"item": "widgets", "quantity": 7}), body
    status, body = http(host, "/api/v1/inventory", token)
    assert (status, json.loads(body)) == (200, {"items": {"widgets": 7, "gadgets": 3}, "count": 2}), body


def test_student_comments_are_kept_in_place(host):
    """Each comment line of the student's file is still there, unchanged, above the same key."""
    seed = host.file(f"{RECORD}/seed-compose.yml").content_string.splitlines()
    live = host.file(COMPOSE_FILE).content_string.splitlines()
    comments = [index for index, line in enumerate(seed) if line.lstrip().startswith("#")]
    assert len(comments) == 3
    for index in comments:
        assert seed[index] in live, seed[index]
        key = seed[index + 1].split(":", 1)[0]  # the role replaces the value of `image:`, not the key
        assert live[live.index(seed[index]) + 1].split(":", 1)[0] == key, seed[index]


def test_student_variable_is_kept_in_file_and_container(host):
    inventory = live_compose(host)["services"]["inventory"]
    assert "STUDENT_NOTE=keep-me" in inventory["environment"]
    assert "STUDENT_NOTE=keep-me" in inspect_service(host, "inventory")["Config"]["Env"]


def test_backup_of_the_original_file_exists(host):
    backups = host.check_output(f"ls {COMPOSE_FILE}.*~").split()
    assert backups, "no backup next to the compose file"
    original = host.file(f"{RECORD}/seed-compose.yml").content_string
    assert any(host.file(path).content_string == original for path in backups)
