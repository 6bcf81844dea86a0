"""Inventory API for lab10: a small Flask app traced with OpenTelemetry.

Routes
  GET  /health                      open (container healthcheck, Ansible's wait)
  GET  /api/v1/inventory            every item; runs the traced `validate_inventory_cache` step
  GET  /api/v1/inventory/<item>     one item
  POST /api/v1/inventory/<item>     create, body {"quantity": N}; 409 when it exists
  PUT  /api/v1/inventory/<item>     create or replace, body {"quantity": N}

Apache in front checks the Bearer token already; when a token is configured here too
(INVENTORY_API_TOKEN or INVENTORY_API_TOKEN_FILE) the app checks it as well, so port 5000 is not an
open door on the VM: 401 without a token, 403 with a wrong one.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, jsonify, request
from storage import InventoryStore, ItemExists, StoreError
from tracing import Tracing, setup_tracing

log = logging.getLogger("inventory.app")

DEFAULT_DATA_FILE = "/data/inventory.json"
DEFAULT_CACHE_SLEEP = 0.3
CACHE_SPAN = "validate_inventory_cache"
ITEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Health checks every few seconds would bury the inventory traces in Jaeger.
HEALTH_EXCLUDED_URLS = r"^[a-z]+://[^/]+/health(\?.*)?$"


class TokenUnavailable(Exception):
    """A token file is configured but cannot be read: fail closed."""


@dataclass(frozen=True)
class Settings:
    data_file: str = DEFAULT_DATA_FILE
    token: str = ""
    token_file: str = ""
    cache_sleep: float = DEFAULT_CACHE_SLEEP

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_file=os.environ.get("INVENTORY_DATA_FILE", DEFAULT_DATA_FILE),
            token=os.environ.get("INVENTORY_API_TOKEN", "").strip(),
            token_file=os.environ.get("INVENTORY_API_TOKEN_FILE", "").strip(),
            cache_sleep=parse_sleep(os.environ.get("INVENTORY_CACHE_SLEEP_SECONDS")),
        )

    def expected_token(self) -> str:
        """The token requests must carry, "" when none is configured. Re-read per request so a new token
        file (the role replaces it atomically in a mounted directory) applies without a restart."""
        if self.token:
            return self.token
        if not self.token_file:
            return ""
        try:
            token = Path(self.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TokenUnavailable(f"cannot read INVENTORY_API_TOKEN_FILE {self.token_file}: {exc.strerror}") from exc
        if not token:
            raise TokenUnavailable(f"INVENTORY_API_TOKEN_FILE {self.token_file} is empty")
        return token


def parse_sleep(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return DEFAULT_CACHE_SLEEP
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    # 0 is allowed for `make bench` (the tracing overhead without the sleep); the role asks for > 0.
    if not 0 <= value <= 60:
        log.warning("INVENTORY_CACHE_SLEEP_SECONDS=%r is not a number of seconds in [0, 60]; using %s", raw, 0.3)
        return DEFAULT_CACHE_SLEEP
    return value


def error(status: int, message: str, **headers: str):
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers)
    return response


def read_quantity() -> tuple[int | None, object]:
    """(quantity, None) for a good body, else (None, error response)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, error(400, 'the body must be a JSON object like {"quantity": 3} (Content-Type: application/json)')
    quantity = body.get("quantity")
    # bool is an int in Python; true/false is not a quantity.
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        return None, error(400, '"quantity" must be a non-negative integer, e.g. {"quantity": 3}')
    return quantity, None


def validate_inventory_cache() -> bool:
    """Cache validation step, deliberately slow: the span the lab looks for in Jaeger."""
    app = current_app
    with app.extensions["inventory_tracing"].tracer.start_as_current_span(CACHE_SPAN) as span:
        seconds = app.config["INVENTORY_SETTINGS"].cache_sleep
        span.set_attribute("inventory.cache.sleep_seconds", seconds)
        time.sleep(seconds)
        return True


def create_app(settings: Settings | None = None, tracing: Tracing | None = None) -> Flask:
    settings = settings or Settings.from_env()
    tracing = tracing or setup_tracing()
    app = Flask(__name__)
    app.config["INVENTORY_SETTINGS"] = settings
    app.extensions["inventory_tracing"] = tracing
    store = InventoryStore(settings.data_file)

    @app.before_request
    def check_token():
        if not request.path.startswith("/api/"):
            return None
        try:
            expected = settings.expected_token()
        except TokenUnavailable as exc:
            log.error("%s; refusing API requests until it is fixed", exc)
            return error(503, "the API token is not available on the server")
        if not expected:
            return None
        scheme, given = request.headers.get("Authorization", "").partition(" ")[::2]
        if scheme.lower() != "bearer" or not given.strip():
            return error(
                401, "missing Authorization: Bearer <token>", **{"WWW-Authenticate": 'Bearer realm="inventory"'}
            )
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            return error(403, "wrong token")
        return None

    @app.get("/health")
    def health():
        return jsonify(status="ok", tracing=tracing.enabled)

    @app.get("/api/v1/inventory")
    def list_inventory():
        validate_inventory_cache()
        items = store.load()
        return jsonify(items=items, count=len(items))

    @app.get("/api/v1/inventory/<item>")
    def get_item(item: str):
        quantity = store.get(item)
        if quantity is None:
            return error(404, f"no item {item!r}")
        return jsonify(item=item, quantity=quantity)

    @app.route("/api/v1/inventory/<item>", methods=["POST", "PUT"])
    def set_item(item: str):
        if not ITEM_NAME.match(item):
            return error(400, "item names are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        quantity, problem = read_quantity()
        if problem is not None:
            return problem
        try:
            created = store.put(item, quantity, create_only=request.method == "POST")
        except ItemExists:
            return error(409, f"item {item!r} exists; use PUT to change its quantity")
        return jsonify(item=item, quantity=quantity), 201 if created else 200

    @app.errorhandler(StoreError)
    def store_broken(exc: StoreError):
        log.error("inventory data: %s", exc)
        return error(500, "the inventory data file is unreadable; see the service log")

    @app.errorhandler(404)
    def not_found(_exc):
        return error(404, "not found")

    @app.errorhandler(405)
    def not_allowed(_exc):
        return error(405, "method not allowed")

    if tracing.enabled:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        excluded = None if os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS") else HEALTH_EXCLUDED_URLS
        FlaskInstrumentor().instrument_app(app, tracer_provider=tracing.provider, excluded_urls=excluded)
    else:
        log.warning("tracing is off (%s); the API serves without it", tracing.reason_off)
    return app
