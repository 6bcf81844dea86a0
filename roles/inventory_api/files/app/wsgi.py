"""WSGI entry point, `wsgi:app` for gunicorn.

gunicorn runs without --preload, so each worker imports this module after the fork and builds its
own TracerProvider: the BatchSpanProcessor's export thread would not survive a fork.
"""

import logging
import os

from app import create_app

logging.basicConfig(
    level=os.environ.get("INVENTORY_LOG_LEVEL", "INFO").upper(),
    format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
)

app = create_app()
