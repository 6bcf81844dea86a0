"""Waiting on real services over HTTP: Jaeger ingests asynchronously and starts in its own time."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request


def get_json(url: str, timeout: float = 10):
    """The JSON body of a 200 answer to GET url (anything else raises)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        assert response.status == 200, url
        return json.loads(response.read())


def poll(fetch, timeout: float = 20, interval: float = 0.3):
    """Call fetch until it returns something truthy, and return that; the last falsy result at the timeout.

    A 404 (not there yet), a 503 (a health check while starting) and connection errors (still starting)
    count as "not yet" until the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = fetch()
        except urllib.error.HTTPError as exc:
            if exc.code not in (404, 503) or time.monotonic() > deadline:
                raise
            result = None
        except OSError:
            if time.monotonic() > deadline:
                raise
            result = None
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def wait_http(url: str, timeout: float = 60) -> None:
    """Return once url answers 2xx; raise the last error after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
