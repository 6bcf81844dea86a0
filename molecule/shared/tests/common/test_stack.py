"""The provisioned lab VM: compose settings, the running container, the API and its auth."""

from lab10_checks import COMPOSE_FILE, http, inspect_service


def test_compose_file_sets_the_otel_variables(host, service_name, lab_vars):
    text = host.file(COMPOSE_FILE).content_string
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in text and "http/protobuf" in text
    assert lab_vars["inventory_api_otlp_endpoint"] in text
    assert service_name in text


def test_running_container_has_the_otel_environment(host, service_name, lab_vars):
    env = dict(item.split("=", 1) for item in inspect_service(host, "inventory")["Config"]["Env"])
    assert env["OTEL_SERVICE_NAME"] == service_name
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == lab_vars["inventory_api_otlp_endpoint"]


def test_health_answers_without_a_token(host):
    assert http(host, "/health")[0] == 200


def test_inventory_refuses_a_missing_token(host):
    assert http(host, "/api/v1/inventory")[0] == 401


def test_inventory_answers_with_the_token(host, lab_vars):
    assert http(host, "/api/v1/inventory", lab_vars["inventory_api_token"])[0] == 200
