"""Send real traces to an OTLP/HTTP endpoint with the OpenTelemetry SDK (tests, fixtures, benchmarks)."""

from __future__ import annotations

import time

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

INVENTORY_ROUTE = "GET /api/v1/inventory"
SLOW_SPAN = "validate_inventory_cache"


def emit_trace(
    otlp_url: str,
    service: str,
    *,
    parent: str = INVENTORY_ROUTE,
    child: str | None = SLOW_SPAN,
    child_ms: float = 320,
    attributes: dict | None = None,
) -> str:
    """Send one trace: a server span `parent` with a child span `child` lasting child_ms.

    Exported synchronously (SimpleSpanProcessor), so the spans are in Jaeger's
    ingestion pipeline when this returns. Returns the trace id as 32 hex digits.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=otlp_url.rstrip("/") + "/v1/traces")))
    tracer = provider.get_tracer("lab10-tests")
    try:
        with tracer.start_as_current_span(parent, kind=SpanKind.SERVER, attributes={"http.method": "GET"}) as root:
            if child is not None:
                with tracer.start_as_current_span(child, attributes=attributes or {}):
                    time.sleep(child_ms / 1000)
        return format(root.get_span_context().trace_id, "032x")
    finally:
        provider.shutdown()
