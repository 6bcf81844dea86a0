#!/usr/bin/env python3
"""Re-record tests/fixtures/jaeger/gate_*: the test bed's Jaeger behind its login (scripts/testbed_lib/gate.py).

Starts Jaeger and the gate (JAEGER_IMAGE, GATE_IMAGE of `make testbed`), sends a trace through the gate's open
OTLP ingest with the OpenTelemetry SDK, then asks the query API, the UI and the login page as a client does
with no Authorization header, a wrong bearer token and the right one, redirects not followed. Each answer's
body goes under gate_bodies/; gate_exchanges.json has the request (method, path, params and window as
tests/fixtures/jaeger/jaeger_replay.py's key_of reads them, `auth`: none | wrong | bearer), the status, the
Content-Type and the headers a client reads (Location, WWW-Authenticate); gate_scenario.json the tokens and
the trace sent. Needs Docker.

    .venv/bin/python scripts/record_gate_fixtures.py
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "jaeger"
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(FIXTURES))

from jaeger_replay import key_of  # noqa: E402 -- the replay's notion of "the same request"
from testbed_lib.gate import GatedJaeger, ask  # noqa: E402

# Fixed, so a replay knows which is which; not secrets (the gate lives for the recording only).
TOKEN = "lab10-gate-recorded-token"  # noqa: S105 -- a test token, recorded on purpose
WRONG = "not-the-gate-token"
AUTHS = {"none": None, "wrong": f"Bearer {WRONG}", "bearer": f"Bearer {TOKEN}"}
SERVICE = "inventory.gate-vm.sysadm.ee"
KEPT_HEADERS = ("Location", "WWW-Authenticate")
WINDOW_S = 3600


def queries(now_s: float) -> list[tuple[str, str, dict]]:
    """(api, path, params) of every query asked with each auth. Absolute times: key_of keeps the window."""
    # The window ends a minute from now: an RFC 3339 time in whole seconds would cut off the trace just sent.
    begin_s, end_s = now_s - WINDOW_S, now_s + 60
    start, end = int(begin_s * 1e6), int(end_s * 1e6)
    rfc = "%Y-%m-%dT%H:%M:%SZ"
    return [
        ("v1", "/api/services", {}),
        ("v1", "/api/traces", {"service": SERVICE, "start": str(start), "end": str(end), "limit": "20"}),
        ("v3", "/api/v3/services", {}),
        ("v3", "/api/v3/traces", {
            "query.service_name": SERVICE,
            "query.start_time_min": time.strftime(rfc, time.gmtime(begin_s)),
            "query.start_time_max": time.strftime(rfc, time.gmtime(end_s)),
            "query.num_traces": "20",
        }),
        ("ui", "/search", {}),
    ]  # fmt: skip


def otlp_json(service: str) -> bytes:
    """One span as OTLP/HTTP JSON, as a client without the SDK would send it."""
    now = time.time_ns()
    span = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "GET /health",
            "kind": 2, "startTimeUnixNano": str(now - 10**8), "endTimeUnixNano": str(now)}  # fmt: skip
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}).encode()


def exchange(base: str, api: str, case: str, path: str, params: dict, auth: str, **request) -> dict:
    url = base + path + ("?" + urlencode(params) if params else "")
    answer = ask(url, AUTHS[auth], **request)
    key_path, kept, window = key_of(url)
    return {
        "stage": "gate",
        "api": api,
        "case": case,
        "auth": auth,
        "method": request.get("method", "GET"),
        "path": key_path,
        "params": dict(kept),
        "window_us": window,
        "status": answer.status,
        "content_type": answer.content_type,
        "headers": {name: answer.headers[name] for name in KEPT_HEADERS if name in answer.headers},
        "body": answer.body,
    }


def wait_visible(gate: GatedJaeger, timeout: float = 60) -> None:
    url = f"{gate.url}/api/traces?{urlencode({'service': SERVICE})}"
    deadline = time.monotonic() + timeout
    while True:
        answer = ask(url, AUTHS["bearer"])
        if answer.status == 200 and json.loads(answer.body)["data"]:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the trace sent through the gate is not visible through it after {timeout}s")
        time.sleep(0.3)


def record(gate: GatedJaeger, out: Path) -> None:
    from otlp import emit_trace

    exchanges = [
        exchange(gate.url, "otlp", "otlp_json", "/v1/traces", {}, "none", method="POST",
                 data=otlp_json("json-client.gate-vm.sysadm.ee"), headers={"Content-Type": "application/json"}),
        exchange(gate.url, "ping", "ping", "/ping", {}, "none"),
    ]  # fmt: skip
    trace_id = emit_trace(gate.otlp_url, SERVICE, child_ms=320)
    wait_visible(gate)
    accept = {"Accept": "application/json"}
    for api, path, params in queries(time.time()):
        for auth in AUTHS:
            exchanges.append(exchange(gate.url, api, f"{api}_{auth}", path, params, auth, headers=accept))
    # Where a client without a token is sent: the login page (the Location of the first unauthenticated answer).
    location = next(ex["headers"]["Location"] for ex in exchanges if ex["auth"] == "none" and ex["status"] == 302)
    path, _, query = location.partition("?")
    exchanges.append(exchange(gate.url, "login", "login_page", path, {"rd": query.removeprefix("rd=")}, "none"))
    scenario = {
        "gate": gate.version,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "token": TOKEN,
        "wrong_token": WRONG,
        "service": SERVICE,
        "trace_id": trace_id,
    }
    write(exchanges, scenario, out)


def write(exchanges: list, scenario: dict, out: Path) -> None:
    bodies = out / "gate_bodies"
    shutil.rmtree(bodies, ignore_errors=True)
    bodies.mkdir(parents=True)
    index = []
    for n, ex in enumerate(exchanges, 1):
        slug = re.sub(r"[^a-z0-9]+", "-", f"{ex['case']} {ex['path']}".lower()).strip("-")[:80]
        ext = "html" if "html" in ex["content_type"] else "json" if "json" in ex["content_type"] else "txt"
        name = f"{n:03d}-{slug}.{ext}"
        (bodies / name).write_bytes(ex["body"])
        index.append({**{k: v for k, v in ex.items() if k != "body"}, "body_file": f"gate_bodies/{name}"})
    (out / "gate_exchanges.json").write_text(json.dumps(index, indent=1) + "\n")
    (out / "gate_scenario.json").write_text(json.dumps(scenario, indent=1) + "\n")
    print(f"wrote {len(index)} gate exchanges to {out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=FIXTURES, help="write here instead of tests/fixtures/jaeger")
    args = parser.parse_args()
    with GatedJaeger(token=TOKEN) as gate:
        record(gate, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
