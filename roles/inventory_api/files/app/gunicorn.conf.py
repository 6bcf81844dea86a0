"""gunicorn settings for the inventory API (read from the image's /app)."""

import os

wsgi_app = "wsgi:app"
# Inside the container; the host publishes it on 127.0.0.1 only (compose `ports`).
bind = os.environ.get("INVENTORY_API_BIND", "0.0.0.0:5000")  # noqa: S104
# The role sets both (inventory_api_workers, inventory_api_threads; chosen by `make bench`): a request
# holds a thread through its 0.3 s span, so threads, not workers, carry the load.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# No preload: each worker imports wsgi.py after the fork and sets up its own tracer provider.
preload_app = False
timeout = 30
# Long enough for the last span batch to be exported (exporter timeout 3 s) when a worker stops.
graceful_timeout = 15
# No runtime control socket (gunicornc): nothing uses it, and the app user cannot write $HOME=/app.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("INVENTORY_LOG_LEVEL", "info").lower()


def worker_exit(server, worker):
    """Flush queued spans before the worker goes; atexit alone is not reliable for gunicorn workers."""
    import tracing

    tracing.shutdown_active()
