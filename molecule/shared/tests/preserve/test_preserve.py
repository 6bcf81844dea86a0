"""After converge, everything the student had is still there."""

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
    assert inspect_service(host, "minio")["State"]["Running"]


def test_top_level_volumes_and_networks_are_kept(host):
    live, seed = live_compose(host), seed_compose(host)
    assert live["volumes"] == seed["volumes"]
    assert seed["networks"].items() <= live["networks"].items()


def test_student_data_is_served_by_the_new_api(host, lab_vars):
    status, body = http(host, "/api/v1/inventory/widgets", lab_vars["inventory_api_token"])
    assert status == 200 and '"quantity": 7' in body.replace(":7", ": 7"), body


def test_student_variable_is_kept_in_file_and_container(host):
    inventory = live_compose(host)["services"]["inventory"]
    assert "STUDENT_NOTE=keep-me" in inventory["environment"]
    assert "STUDENT_NOTE=keep-me" in inspect_service(host, "inventory")["Config"]["Env"]


def test_backup_of_the_original_file_exists(host):
    backups = host.check_output(f"ls {COMPOSE_FILE}.*~").split()
    assert backups, "no backup next to the compose file"
    original = host.file(f"{RECORD}/seed-compose.yml").content_string
    assert any(host.file(path).content_string == original for path in backups)
