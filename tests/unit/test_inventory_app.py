"""The inventory API as the role ships it (roles/inventory_api/files/app): routes, auth, storage, spans.

Spans go to an in-memory exporter through a SimpleSpanProcessor, on a provider of the test's own;
the process-wide provider is never set, so tests stay independent.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

APP_DIR = Path(__file__).resolve().parents[2] / "roles" / "inventory_api" / "files" / "app"
sys.path.insert(0, str(APP_DIR))

import app as inventory_app  # noqa: E402
import tracing  # noqa: E402
from storage import InventoryStore, StoreError  # noqa: E402

TOKEN = "s3cret-token-for-tests-0123456789"
TEST_SLEEP = 0.05
OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "INVENTORY_API_TOKEN",
    "INVENTORY_API_TOKEN_FILE",
    "INVENTORY_DATA_FILE",
    "INVENTORY_CACHE_SLEEP_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def spans():
    return InMemorySpanExporter()


def make_app(tmp_path, spans, *, token=TOKEN, token_file="", sleep=TEST_SLEEP):
    settings = inventory_app.Settings(
        data_file=str(tmp_path / "data" / "inventory.json"), token=token, token_file=token_file, cache_sleep=sleep
    )
    tracer = tracing.setup_tracing(SimpleSpanProcessor(spans), set_global=False)
    app = inventory_app.create_app(settings, tracer)
    app.testing = True
    return app


@pytest.fixture
def client(tmp_path, spans):
    app = make_app(tmp_path, spans)
    yield app.test_client()
    app.extensions["inventory_tracing"].shutdown()


def auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


# --- spans -------------------------------------------------------------------------------------


def test_inventory_request_makes_the_span_tree(client, spans):
    assert client.get("/api/v1/inventory", headers=auth()).status_code == 200
    finished = {span.name: span for span in spans.get_finished_spans()}
    assert set(finished) == {"GET /api/v1/inventory", "validate_inventory_cache"}
    server, child = finished["GET /api/v1/inventory"], finished["validate_inventory_cache"]
    assert server.kind is SpanKind.SERVER
    assert server.parent is None
    assert child.parent is not None
    assert child.parent.span_id == server.context.span_id
    assert child.context.trace_id == server.context.trace_id
    assert (child.end_time - child.start_time) / 1e9 >= TEST_SLEEP
    assert child.attributes["inventory.cache.sleep_seconds"] == TEST_SLEEP


def test_configured_sleep_is_honoured(tmp_path, spans):
    app = make_app(tmp_path, spans, sleep=0.12)
    app.test_client().get("/api/v1/inventory", headers=auth())
    (child,) = [s for s in spans.get_finished_spans() if s.name == "validate_inventory_cache"]
    assert (child.end_time - child.start_time) / 1e9 >= 0.12


def test_health_is_not_traced_and_needs_no_token(client, spans):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "tracing": True}
    assert spans.get_finished_spans() == ()


def test_service_name_and_resource_from_env(monkeypatch, spans):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "inventory.student-xyz.sysadm.ee")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=ignored,deployment.environment=lab")
    resource = tracing.setup_tracing(SimpleSpanProcessor(spans), set_global=False).provider.resource
    assert resource.attributes["service.name"] == "inventory.student-xyz.sysadm.ee"
    assert resource.attributes["deployment.environment"] == "lab"


def test_default_service_name():
    assert tracing.build_resource().attributes["service.name"] == "inventory-api"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://jaeger.sysadm.ee"}, "https://jaeger.sysadm.ee/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://jaeger.sysadm.ee/"}, "https://jaeger.sysadm.ee/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, "http://jaeger:4318/v1/traces"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "https://jaeger.sysadm.ee",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example/custom/path",
            },
            "https://collector.example/custom/path",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:4318/v1/traces/"}, "http://x:4318/v1/traces/"),
        ({}, "http://localhost:4318/v1/traces"),
    ],
    ids=["endpoint", "endpoint-trailing-slash", "endpoint-port", "traces-endpoint-wins", "traces-verbatim", "default"],
)
def test_exporter_endpoint_resolution(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    exporter = tracing.build_exporter()
    try:
        assert exporter._endpoint == expected
    finally:
        exporter.shutdown()


def test_exporter_timeout_is_short_unless_configured(monkeypatch):
    exporter = tracing.build_exporter()
    assert exporter._client._timeout == tracing.DEFAULT_EXPORT_TIMEOUT == 3.0  # the SDK's own is 10 s
    exporter.shutdown()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "7")
    exporter = tracing.build_exporter()
    assert exporter._client._timeout == 7
    exporter.shutdown()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    ],
)
def test_unsupported_protocol_turns_tracing_off_but_api_serves(monkeypatch, tmp_path, caplog, name, value):
    monkeypatch.setenv(name, value)
    with caplog.at_level(logging.ERROR, logger="inventory.tracing"):
        tracer = tracing.setup_tracing(set_global=False)
    assert not tracer.enabled
    assert f"{name}={value} is not supported" in caplog.text
    assert "http/protobuf" in caplog.text
    settings = inventory_app.Settings(data_file=str(tmp_path / "inv.json"), token=TOKEN, cache_sleep=TEST_SLEEP)
    client = inventory_app.create_app(settings, tracer).test_client()
    assert client.get("/api/v1/inventory", headers=auth()).status_code == 200
    assert client.get("/health").get_json()["tracing"] is False


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
    ],
    ids=["explicit", "unset", "traces-variable-wins"],
)
def test_supported_protocol(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing.protocol_problem() == ""


@pytest.mark.parametrize(("value", "enabled"), [("true", False), ("TRUE", False), ("false", True), ("", True)])
def test_sdk_disabled(monkeypatch, value, enabled):
    monkeypatch.setenv("OTEL_SDK_DISABLED", value)
    tracer = tracing.setup_tracing(set_global=False)
    assert tracer.enabled is enabled
    tracer.shutdown()


def test_backend_down_does_not_slow_requests(monkeypatch, tmp_path):
    """BatchSpanProcessor exports in the background: nothing listens on this port, requests stay fast."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
    tracer = tracing.setup_tracing(set_global=False)
    assert tracer.enabled
    settings = inventory_app.Settings(data_file=str(tmp_path / "inv.json"), token=TOKEN, cache_sleep=0.01)
    client = inventory_app.create_app(settings, tracer).test_client()
    started = time.monotonic()
    for _ in range(5):
        assert client.get("/api/v1/inventory", headers=auth()).status_code == 200
    assert time.monotonic() - started < 2
    started = time.monotonic()
    tracer.shutdown()  # a refused connection fails fast; shutdown is bounded by the exporter timeout
    assert time.monotonic() - started < tracing.DEFAULT_EXPORT_TIMEOUT + 5


def test_shutdown_flushes_and_is_idempotent(spans, monkeypatch):
    """Spans still queued in the batch processor are exported by shutdown, which stops the provider once."""
    tracer = tracing.setup_tracing(BatchSpanProcessor(spans, schedule_delay_millis=60_000), set_global=False)
    with tracer.tracer.start_as_current_span("queued"):
        pass
    assert spans.get_finished_spans() == ()  # still in the queue
    calls = []
    real_shutdown = tracer.provider.shutdown
    monkeypatch.setattr(tracer.provider, "shutdown", lambda: calls.append(1) or real_shutdown())
    tracer.shutdown()
    tracer.shutdown()
    assert [span.name for span in spans.get_finished_spans()] == ["queued"]
    assert calls == [1]


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(None, 0.3), ("", 0.3), ("0.5", 0.5), ("60", 60.0), ("0", 0.0), ("-1", 0.3), ("60.5", 0.3), ("soon", 0.3),
     ("nan", 0.3)],
)  # fmt: skip
def test_sleep_parsing(raw, seconds):
    """[0, 60] seconds is used as given (0 for make bench: the tracing overhead without the sleep);
    anything else falls back to the lab's 0.3."""
    assert inventory_app.parse_sleep(raw) == seconds


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("INVENTORY_CACHE_SLEEP_SECONDS", "0.4")
    monkeypatch.setenv("INVENTORY_API_TOKEN_FILE", "/run/x")
    settings = inventory_app.Settings.from_env()
    assert settings.cache_sleep == 0.4
    assert settings.token_file == "/run/x"
    assert settings.data_file == "/data/inventory.json"


# --- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, 401),
        ({"Authorization": "Bearer "}, 401),
        (auth("wrong"), 403),
        (auth(TOKEN + "x"), 403),
        (auth(), 200),
        ({"Authorization": f"bearer {TOKEN}"}, 200),
    ],
    ids=["none", "basic", "empty", "wrong", "longer", "right", "scheme-case"],
)
@pytest.mark.parametrize("path", ["/api/v1/inventory", "/api/v1/inventory/apple"])
def test_token_check(client, headers, status, path):
    response = client.get(path, headers=headers)
    expected = 404 if status == 200 and path.endswith("apple") else status
    assert response.status_code == expected
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_file_is_read_per_request(tmp_path, spans):
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    client = make_app(tmp_path, spans, token="", token_file=str(token_file)).test_client()
    assert client.get("/api/v1/inventory", headers=auth("first-token")).status_code == 200
    token_file.write_text("second-token")
    assert client.get("/api/v1/inventory", headers=auth("first-token")).status_code == 403
    assert client.get("/api/v1/inventory", headers=auth("second-token")).status_code == 200


@pytest.mark.parametrize("content", [None, ""], ids=["missing", "empty"])
def test_unreadable_token_file_fails_closed(tmp_path, spans, content):
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    client = make_app(tmp_path, spans, token="", token_file=str(token_file)).test_client()
    assert client.get("/api/v1/inventory", headers=auth("anything")).status_code == 503
    assert client.get("/health").status_code == 200


def test_no_token_configured_means_open(tmp_path, spans):
    client = make_app(tmp_path, spans, token="").test_client()
    assert client.get("/api/v1/inventory").status_code == 200


# --- items and input ---------------------------------------------------------------------------


def test_create_read_update(client):
    assert client.post("/api/v1/inventory/apple", json={"quantity": 3}, headers=auth()).status_code == 201
    assert client.post("/api/v1/inventory/apple", json={"quantity": 4}, headers=auth()).status_code == 409
    assert client.get("/api/v1/inventory/apple", headers=auth()).get_json() == {"item": "apple", "quantity": 3}
    assert client.put("/api/v1/inventory/apple", json={"quantity": 0}, headers=auth()).status_code == 200
    assert client.put("/api/v1/inventory/pear", json={"quantity": 2}, headers=auth()).status_code == 201
    listing = client.get("/api/v1/inventory", headers=auth()).get_json()
    assert listing == {"items": {"apple": 0, "pear": 2}, "count": 2}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"data": "{not json", "content_type": "application/json"}, "JSON object"),
        ({"data": "quantity=3", "content_type": "application/x-www-form-urlencoded"}, "JSON object"),
        ({"json": [1, 2]}, "JSON object"),
        ({"json": {}}, "non-negative integer"),
        ({"json": {"quantity": -1}}, "non-negative integer"),
        ({"json": {"quantity": "3"}}, "non-negative integer"),
        ({"json": {"quantity": 2.5}}, "non-negative integer"),
        ({"json": {"quantity": True}}, "non-negative integer"),
        ({"json": {"quantity": None}}, "non-negative integer"),
    ],
    ids=["broken-json", "form", "array", "no-quantity", "negative", "string", "float", "bool", "null"],
)
@pytest.mark.parametrize("method", ["post", "put"])
def test_bad_input_is_400(client, method, kwargs, fragment):
    response = getattr(client, method)("/api/v1/inventory/apple", headers=auth(), **kwargs)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    assert client.get("/api/v1/inventory/apple", headers=auth()).status_code == 404


def test_bad_item_name_is_400(client):
    response = client.put("/api/v1/inventory/..hidden", json={"quantity": 1}, headers=auth())
    assert response.status_code == 400


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nope").get_json() == {"error": "not found"}
    assert client.delete("/api/v1/inventory/apple", headers=auth()).status_code == 405


# --- persistence -------------------------------------------------------------------------------


def test_data_survives_a_new_app_instance(tmp_path, spans):
    first = make_app(tmp_path, spans).test_client()
    first.put("/api/v1/inventory/apple", json={"quantity": 7}, headers=auth())
    second = make_app(tmp_path, spans).test_client()
    assert second.get("/api/v1/inventory/apple", headers=auth()).get_json()["quantity"] == 7
    on_disk = json.loads((tmp_path / "data" / "inventory.json").read_text())
    assert on_disk == {"apple": 7}
    assert not list((tmp_path / "data").glob("*.tmp"))


def test_existing_data_file_is_used(tmp_path, spans):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "inventory.json").write_text('{"widget": 12}')
    client = make_app(tmp_path, spans).test_client()
    assert client.get("/api/v1/inventory", headers=auth()).get_json()["items"] == {"widget": 12}


def test_corrupt_data_file_is_never_overwritten(tmp_path, spans):
    data = tmp_path / "data" / "inventory.json"
    data.parent.mkdir()
    data.write_text("{half a file")
    client = make_app(tmp_path, spans).test_client()
    assert client.get("/api/v1/inventory", headers=auth()).status_code == 500
    assert client.put("/api/v1/inventory/apple", json={"quantity": 1}, headers=auth()).status_code == 500
    assert data.read_text() == "{half a file"


def test_written_file_is_readable_by_the_group(tmp_path):
    """0640: the host's admin group can read the data (mkstemp alone would leave 0600)."""
    store = InventoryStore(tmp_path / "inv.json")
    store.put("apple", 1)
    assert oct((tmp_path / "inv.json").stat().st_mode & 0o777) == "0o640"


def test_concurrent_writers_lose_no_update(tmp_path, monkeypatch):
    """gunicorn's workers and threads write through stores of their own; the lock file serialises them."""
    real_write = InventoryStore._write

    def slow_write(self, data):  # widen the read-modify-write window a race would need
        time.sleep(0.01)
        real_write(self, data)

    monkeypatch.setattr(InventoryStore, "_write", slow_write)
    path = tmp_path / "inv.json"
    threads = [threading.Thread(target=InventoryStore(path).put, args=(f"item{index}", index)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads(path.read_text()) == {f"item{index}": index for index in range(20)}


def test_leftover_lock_files_of_root_do_not_block_writes():
    """An earlier app (or a student's) run as root left root-only lock files in the data directory: the
    app, running as its own user, still writes. Forked as another user (nobody) when we are root."""
    base = Path(tempfile.mkdtemp())  # pytest's own temp dirs are closed to other users
    try:
        base.chmod(0o755)
        data = base / "data"
        data.mkdir()
        for name in (".inventory.json.lock", "inventory.json.lock"):
            (data / name).touch(mode=0o600)
            (data / name).chmod(0o600 if os.geteuid() == 0 else 0o000)
        if os.geteuid() == 0:
            os.chown(data, 65534, 65534)
        pid = os.fork()
        if pid == 0:  # the child only does this one write, then leaves without pytest's cleanup
            try:
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                InventoryStore(data / "inventory.json").put("apple", 3)
                os._exit(0)
            except BaseException as exc:  # noqa: BLE001 - reported through the exit status
                print(f"child: {exc!r}", file=sys.stderr)
                os._exit(1)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert json.loads((data / "inventory.json").read_text()) == {"apple": 3}
    finally:
        shutil.rmtree(base)


def test_store_rejects_non_object(tmp_path):
    path = tmp_path / "inv.json"
    path.write_text("[1, 2]")
    with pytest.raises(StoreError):
        InventoryStore(path).load()
