"""The test bed's gate (Jaeger behind a login, scripts/testbed_lib/gate.py) replayed by a real HTTP server.

tests/fixtures/jaeger/gate_exchanges.json holds the gate's real answers (scripts/record_gate_fixtures.py) to no
Authorization header (`none`), a wrong bearer token (`wrong`) and the right one (`bearer`): status, Content-Type,
Location, WWW-Authenticate and body, redirects not followed. gate_replay.FakeGate hands them to a stand-in for
ansible's urls.Request; GateReplay serves them on 127.0.0.1 as the gate answered them, so the client under test
runs its whole HTTP layer on them, ansible's redirect handling included (what a redirect is followed into shows).
"""

from __future__ import annotations

import http.server
import threading

from gate_replay import gate_body, load_gate_exchanges, load_gate_scenario
from jaeger_replay import key_of


def gate_exchange(case: str) -> dict:
    """The recorded GET exchange of `case` (v3_none, v1_wrong, login_page, ui_bearer, ...)."""
    hits = [ex for ex in load_gate_exchanges() if ex["case"] == case and ex["method"] == "GET"]
    assert hits, f"no recorded gate exchange {case}"
    return hits[0]


class GateReplay:
    """A real HTTP server answering GETs as the recorded gate did: by path, parameters (times aside) and auth.

    `requests` lists (path, auth) of every request, so a test can tell whether a redirect was followed;
    `overrides` maps a path to a recorded exchange served there instead (a login page in place of the API).
    """

    def __init__(self, overrides: dict | None = None):
        self.token = load_gate_scenario()["token"]
        self.table: dict = {}
        for ex in load_gate_exchanges():
            if ex["method"] == "GET":
                self.table.setdefault((ex["path"], ex["auth"]), []).append(ex)
        self.overrides = overrides or {}
        self.requests: list[tuple[str, str]] = []
        replay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 -- http.server's naming
                header = self.headers.get("Authorization")
                auth = "none" if header is None else ("bearer" if header == f"Bearer {replay.token}" else "wrong")
                path = self.path.split("?")[0]
                replay.requests.append((path, auth))
                ex = replay.overrides.get(path) or replay.find(self.path, auth)
                if ex is None:
                    self.send_response(599, "not recorded")
                    self.end_headers()
                    return
                data = gate_body(ex)
                self.send_response(ex["status"])
                self.send_header("Content-Type", ex["content_type"])
                for name, value in ex["headers"].items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def find(self, target: str, auth: str) -> dict | None:
        """The recorded answer to this path and auth: the one with the same parameters, else the path's first
        (the gate decides on the Authorization header alone; only the `bearer` answers depend on the query)."""
        path, params, _window = key_of(target)
        candidates = self.table.get((path, auth)) or []
        same = [ex for ex in candidates if tuple(sorted(ex["params"].items())) == params]
        if same or auth == "bearer":
            return (same or [None])[0]
        return candidates[0] if candidates else None

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
