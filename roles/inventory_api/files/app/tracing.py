"""OpenTelemetry tracing for the inventory API, configured only from the standard OTEL_* variables.

- Resource: `Resource.create()` reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
- Exporter: `OTLPSpanExporter()` without an endpoint argument, so the SDK resolves it:
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT verbatim, else OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces"
  (a trailing slash is handled), else http://localhost:4318/v1/traces.
- A hand-built exporter never reads OTEL_EXPORTER_OTLP_PROTOCOL, so a value it cannot honour (grpc,
  http/json) is refused here with a clear log line: tracing stays off, the API keeps serving.
- BatchSpanProcessor exports from a background thread with a short timeout: a Jaeger that is down
  never fails or slows a request.

Tests pass their own span processor (InMemorySpanExporter + SimpleSpanProcessor) and keep the
global provider untouched (`set_global=False`).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

log = logging.getLogger("inventory.tracing")

SUPPORTED_PROTOCOL = "http/protobuf"
DEFAULT_SERVICE_NAME = "inventory-api"
# Seconds per export attempt when OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT is unset (the SDK's own default is 10 s;
# shorter keeps a worker's shutdown quick when the backend is down).
DEFAULT_EXPORT_TIMEOUT = 3.0
TRACER_NAME = "inventory-api"

_active: Tracing | None = None
_active_lock = threading.Lock()


@dataclass
class Tracing:
    """What the app needs: a tracer, and the provider to flush at exit (None when tracing is off)."""

    tracer: trace.Tracer
    provider: TracerProvider | None = None
    reason_off: str = ""
    _shut: bool = field(default=False, repr=False)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def shutdown(self) -> None:
        """Flush queued spans and stop the exporter; safe to call more than once."""
        if self.provider is None or self._shut:
            return
        self._shut = True
        self.provider.shutdown()


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def protocol_problem() -> str:
    """Why the configured OTLP protocol cannot be used, or "" when it can (unset means http/protobuf)."""
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = _env(name)
        if value:
            if value != SUPPORTED_PROTOCOL:
                return (
                    f"{name}={value} is not supported: this service exports OTLP over HTTP with protobuf only; "
                    f"set {name}={SUPPORTED_PROTOCOL}. Tracing is OFF, the API keeps serving."
                )
            return ""  # the signal-specific variable wins over the general one
    return ""


def build_resource() -> Resource:
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def build_exporter():
    """The OTLP/HTTP exporter with the endpoint resolved by the SDK from the environment."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    kwargs = {}
    if not (_env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or _env("OTEL_EXPORTER_OTLP_TIMEOUT")):
        kwargs["timeout"] = DEFAULT_EXPORT_TIMEOUT
    return OTLPSpanExporter(**kwargs)


def _off(reason: str) -> Tracing:
    return Tracing(tracer=trace.NoOpTracerProvider().get_tracer(TRACER_NAME), reason_off=reason)


def setup_tracing(span_processor: SpanProcessor | None = None, *, set_global: bool = True) -> Tracing:
    """Build the provider. Never raises for a bad configuration: the API must serve without tracing."""
    global _active
    if _env("OTEL_SDK_DISABLED").lower() == "true":
        log.warning("tracing: OTEL_SDK_DISABLED=true, no spans are recorded")
        return _off("OTEL_SDK_DISABLED=true")
    problem = protocol_problem()
    if problem:
        log.error("tracing: %s", problem)
        return _off(problem)

    resource = build_resource()
    provider = TracerProvider(resource=resource)
    if span_processor is None:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        try:
            exporter = build_exporter()
        except Exception as exc:  # e.g. an unreadable OTEL_EXPORTER_OTLP_CERTIFICATE
            log.error("tracing: cannot build the OTLP exporter (%s). Tracing is OFF, the API keeps serving.", exc)
            return _off(f"exporter: {exc}")
        span_processor = BatchSpanProcessor(exporter)
        log.info(
            "tracing: service %s exports to %s (OTLP %s)",
            resource.attributes.get(SERVICE_NAME),
            getattr(exporter, "_endpoint", "?"),
            SUPPORTED_PROTOCOL,
        )
    provider.add_span_processor(span_processor)
    tracing = Tracing(tracer=provider.get_tracer(TRACER_NAME), provider=provider)

    if set_global:
        with _active_lock:
            trace.set_tracer_provider(provider)
            _active = tracing
        atexit.register(tracing.shutdown)  # plain `python wsgi.py`/flask runs; gunicorn also calls worker_exit
    return tracing


def shutdown_active() -> None:
    """Flush the process-wide provider (gunicorn's worker_exit hook)."""
    with _active_lock:
        tracing = _active
    if tracing is not None:
        tracing.shutdown()
