"""inventory_api's tasks run alone by ansible-playbook where they need no Docker (the rest: tests/role)."""

from __future__ import annotations

import http.server
import json
import threading

import yaml
from playbook_run import ROOT, run_playbook

TOKEN = "role-test-token-0123456789"


def test_failed_trigger_request_reports_status_and_error_without_the_token(tmp_path):
    """deploy.yml's trigger tasks alone, against a stub API that answers 403 with a JSON error."""

    class Forbidden(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"error": "wrong token"}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    deploy = yaml.safe_load((ROOT / "roles" / "inventory_api" / "tasks" / "deploy.yml").read_text())
    tasks = [task for task in deploy if task["name"].startswith(("Send the request", "Check that the trigger"))]
    assert len(tasks) == 2
    play = tmp_path / "trigger.yml"
    play.write_text(
        yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}])
    )
    extra = {
        "_inventory_api_token": TOKEN,
        "_inventory_api_has_token": True,
        "inventory_api_trigger_requests": 1,
        "inventory_api_compose_service": "inventory",
        "inventory_api_trigger_url": f"http://127.0.0.1:{server.server_port}/api/v1/inventory",
    }
    try:
        result = run_playbook(play, extra_vars=extra, timeout=120)
    finally:
        server.shutdown()
    assert result.returncode == 2, result.output
    assert "Request 1: HTTP 403, wrong token." in result.stdout, result.output
    assert TOKEN not in result.output
