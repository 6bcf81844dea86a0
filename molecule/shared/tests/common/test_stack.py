"""The provisioned lab VM: compose settings, the running container, the API and its auth."""

import json

import yaml
from lab10_checks import COMPOSE_FILE, http, inspect_service


def otel_settings(service_name, lab_vars) -> dict:
    return {
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": lab_vars["inventory_api_otlp_endpoint"],
    }


def test_compose_file_sets_the_otel_variables(host, service_name, lab_vars):
    inventory = yaml.safe_load(host.file(COMPOSE_FILE).content_string)["services"]["inventory"]
    env = dict(entry.split("=", 1) for entry in inventory["environment"])
    assert {name: env.get(name) for name in otel_settings(service_name, lab_vars)} == otel_settings(
        service_name, lab_vars
    )


def test_running_container_has_the_otel_environment(host, service_name, lab_vars):
    env = dict(item.split("=", 1) for item in inspect_service(host, "inventory")["Config"]["Env"])
    assert {name: env.get(name) for name in otel_settings(service_name, lab_vars)} == otel_settings(
        service_name, lab_vars
    )


def test_health_answers_without_a_token_and_tracing_is_on(host):
    status, body = http(host, "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok", "tracing": True})


def test_inventory_refuses_a_missing_token(host):
    status, body = http(host, "/api/v1/inventory")
    assert (status, json.loads(body)) == (401, {"error": "missing Authorization: Bearer <token>"})


def test_inventory_answers_with_the_token(host, lab_vars):
    status, body = http(host, "/api/v1/inventory", lab_vars["inventory_api_token"])
    listing = json.loads(body)
    assert status == 200
    assert listing["count"] == len(listing["items"])
