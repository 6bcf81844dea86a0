#!/usr/bin/env python3
"""Re-record tests/fixtures/jaeger/ from a real Jaeger v2.

Starts a throw-away Jaeger (the test bed's jaeger binary, else JAEGER_IMAGE with docker) unless
--query-url/--otlp-url name one, sends the scenario's traces with the OpenTelemetry SDK
(tests/support/otlp.py), then runs jaeger_trace's own code for every case against both query APIs while
saving each HTTP exchange: the raw body under bodies/, the request and status in exchanges.json.

Unit tests replay these exchanges; a request is identified by its path and parameters except the
absolute times, which are replaced by the window length, so replays work on any date.

    .venv/bin/python scripts/record_jaeger_fixtures.py
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "jaeger"
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(FIXTURES))

import ansible.module_utils  # noqa: E402
import ansible.modules  # noqa: E402
from jaeger_replay import key_of  # noqa: E402 -- the replay's notion of "the same request"
from testbed_lib.local_jaeger import LocalJaeger  # noqa: E402

# As Ansible runs them (and tests/conftest.py imports them): relative imports resolve inside these packages.
ansible.module_utils.__path__.append(str(ROOT / "module_utils"))
ansible.modules.__path__.append(str(ROOT / "library"))

PARENT = "GET /api/v1/inventory"
CHILD = "validate_inventory_cache"

# What is sent. Each service shows one outcome; the decoys make "nearest names" meaningful.
SCENARIO = {
    "inventory.vm1.sysadm.ee": {"traces": 2, "parent": PARENT, "child": CHILD, "child_ms": 320,
                                "attributes": {"cache.hit": False, "inventory.items": 3}},
    "inventory.vm2.sysadm.ee": {"traces": 1, "parent": PARENT, "child": CHILD, "child_ms": 120, "attributes": {}},
    "inventory.vm4.sysadm.ee": {"traces": 1, "parent": "GET /health", "child": CHILD, "child_ms": 320,
                                "attributes": {}},
    "inventory.vm5.sysadm.ee": {"traces": 1, "parent": PARENT, "child": None, "child_ms": 0, "attributes": {}},
    "minio.vm1.sysadm.ee": {"traces": 1, "parent": "PUT /inventory-bucket", "child": "s3.put_object",
                            "child_ms": 40, "attributes": {}},
    "inventory.vm11.sysadm.ee": {"traces": 1, "parent": PARENT, "child": "load_inventory", "child_ms": 30,
                                 "attributes": {}},
}  # fmt: skip

GOOD = {"operation": CHILD, "parent_operation": PARENT, "min_duration": "300ms", "max_duration": "2s"}
VM1, VM2, VM4, VM5 = (f"inventory.vm{n}.sysadm.ee" for n in (1, 2, 4, 5))

# (case, module params, the reason the case is built to produce). `timeout: 0` = one poll.
CASES = [
    ("ok", {"service": VM1, **GOOD, "attributes": {"cache.hit": False}}, "ok"),
    ("ok_min_traces", {"service": VM1, **GOOD, "min_traces": 2}, "ok"),
    ("ok_any_span", {"service": VM1}, "ok"),
    ("service_unknown", {"service": "inventory.vm9.sysadm.ee", **GOOD}, "service_unknown"),
    ("operation_unknown", {"service": VM5, **GOOD}, "operation_unknown"),
    ("too_short", {"service": VM2, **GOOD}, "too_short"),
    ("too_long", {"service": VM1, "operation": CHILD, "parent_operation": PARENT, "max_duration": "100ms"}, "too_long"),
    ("parent_mismatch", {"service": VM4, **GOOD}, "parent_mismatch"),
    ("attributes_mismatch", {"service": VM1, **GOOD, "attributes": {"cache.hit": True}}, "attributes_mismatch"),
    ("too_few_traces", {"service": VM1, **GOOD, "min_traces": 3}, "too_few_traces"),
    ("no_traces", {"service": VM1, **GOOD, "since": "1ms"}, "no_traces"),
    # fail_fast: the parent's trace is in, so the miss is final.
    ("fail_fast_span_missing", {"service": VM5, **GOOD, "fail_fast": True}, "operation_unknown"),
    ("fail_fast_too_short", {"service": VM2, **GOOD, "fail_fast": True}, "too_short"),
    ("fail_fast_ok", {"service": VM1, **GOOD, "fail_fast": True}, "ok"),
]

# Raw requests recorded for the parser tests: error shapes and a page that is not the API.
RAW = [
    ("v3", "/api/v3/traces", {"query.service_name": VM1}),  # 400: start window missing
    ("v3", "/api/v3/traces", {"query.service_name": VM1, "query.start_time_min": "2020-01-01T00:00:00Z",
                              "query.start_time_max": "2020-01-01T00:01:00Z"}),  # 500: no num_traces
    ("v3", "/api/v3/traces", {"query.service_name": VM1, "query.start_time_min": "2020-01-01T00:00:00Z",
                              "query.start_time_max": "2020-01-01T00:01:00Z",
                              "query.search_depth": "5"}),  # 2.13 knows only num_traces: 500 as above
    ("v1", "/api/traces", {}),  # 400: service missing
    ("v1", "/api/traces", {"service": VM1, "minDuration": "bogus"}),  # 400: bad duration
    ("v1", "/api/traces/00000000000000000000000000000001", {}),  # 404 trace not found
    ("html", "/api/v3/no-such-endpoint", {}),  # the UI's catch-all page: 200 text/html
]  # fmt: skip


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 -- our own local Jaeger
        return json.loads(resp.read())


# --- recording -----------------------------------------------------------------------------------


def replay_key(url: str) -> dict:
    path, params, window = key_of(url)
    return {"path": path, "params": dict(params), "window_us": window}


class Recorder:
    """Keeps every exchange the module makes (the first one per key, stage and api)."""

    def __init__(self):
        self.api = ""
        self.case = ""
        # The same request answers differently before and after the traces are sent.
        self.stage = ""
        self.exchanges = []
        self._seen = set()

    def wrap(self, request_class):
        """A urls.Request subclass whose requests go out for real and are kept here."""
        recorder = self

        class RecordingRequest(request_class):
            def open(self, method, url, **kwargs):
                try:
                    resp = super().open(method, url, **kwargs)
                    status, body, ctype = resp.getcode(), resp.read(), resp.headers.get("Content-Type", "")
                    resp.close()
                except urllib.error.HTTPError as exc:
                    status, body, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
                recorder.keep(url, status, body, ctype)
                if status >= 400:
                    raise urllib.error.HTTPError(url, status, "recorded", {"Content-Type": ctype}, io.BytesIO(body))
                return FakeResponse(status, body, ctype)

        return RecordingRequest

    def keep(self, url, status, body, ctype):
        key = replay_key(url)
        ident = json.dumps([self.stage, self.api, key], sort_keys=True)
        if ident in self._seen:
            return
        self._seen.add(ident)
        entry = {"stage": self.stage, "api": self.api, "case": self.case, **key}
        self.exchanges.append({**entry, "status": status, "content_type": ctype, "body": body})


class FakeResponse:
    def __init__(self, status, body, ctype):
        self.status, self._body, self.headers = status, body, {"Content-Type": ctype}

    def getcode(self):
        return self.status

    def read(self):
        return self._body

    def close(self):
        pass


def run_case(params: dict) -> dict:
    """jaeger_trace as Ansible runs it (AnsibleModule, exit_json/fail_json), result as a dict."""
    from ansible.module_utils.testing import patch_module_args
    from ansible.modules import jaeger_trace

    out = io.StringIO()
    with patch_module_args(params), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        jaeger_trace.main()
    return json.loads(out.getvalue())


def send_scenario(otlp_url: str) -> dict:
    from otlp import emit_trace

    sent = {}
    for service, spec in SCENARIO.items():
        ids = [
            emit_trace(
                otlp_url,
                service,
                parent=spec["parent"],
                child=spec["child"],
                child_ms=spec["child_ms"],
                attributes=spec["attributes"],
            )
            for _ in range(spec["traces"])
        ]
        sent[service] = {**spec, "trace_ids": ids}
    return sent


def wait_ingested(query_url: str, sent: dict, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for service, spec in sent.items():
        url = f"{query_url}/api/traces?service={quote(service)}&limit=100"
        while len(get_json(url)["data"] or []) < spec["traces"]:
            if time.monotonic() > deadline:
                raise SystemExit(f"Jaeger did not show the traces of {service} within {timeout}s")
            time.sleep(0.3)


def record(query_url: str, otlp_url: str, version: str, out: Path = FIXTURES) -> None:
    from ansible.module_utils.jaeger import query as jaeger_query

    recorder = Recorder()
    # The module sends every request through jaeger_query.Request (ansible's urls.Request).
    jaeger_query.Request = recorder.wrap(jaeger_query.Request)
    client = jaeger_query.Client(query_url)

    # An empty Jaeger first: {} / null lists.
    recorder.stage = "empty"
    for api, path in (("v3", "/api/v3/services"), ("v1", "/api/services")):
        recorder.api, recorder.case = api, "empty"
        client.get(path)

    sent = send_scenario(otlp_url)
    wait_ingested(query_url, sent)

    cases = []
    recorder.stage = "scenario"
    for api in ("v3", "v1"):
        for name, params, expect in CASES:
            recorder.api, recorder.case = api, name
            full = {"url": query_url, "api": api, "timeout": 0, **params}
            result = run_case(full)
            if result.get("reason") != expect:
                raise SystemExit(f"case {name} ({api}) gave {result.get('reason')}, not {expect}: {result.get('msg')}")
            cases.append(
                {
                    "name": name,
                    "api": api,
                    "params": {k: v for k, v in full.items() if k != "url"},
                    "expect": expect,
                    "live_msg": result["msg"],
                }
            )
            print(f"{api} {name:20} {result['msg']}")

    recorder.stage = "raw"
    for api, path, params in RAW:
        recorder.api, recorder.case = api, "raw"
        with contextlib.suppress(jaeger_query.JaegerError):
            client.get(path, params)

    write(
        recorder.exchanges,
        {
            "jaeger": version,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "services": sent,
            "cases": cases,
        },
        out,
    )


def write(exchanges: list, scenario: dict, out: Path = FIXTURES) -> None:
    bodies = out / "bodies"
    shutil.rmtree(bodies, ignore_errors=True)
    bodies.mkdir(parents=True)
    index = []
    for n, ex in enumerate(exchanges, 1):
        slug = re.sub(r"[^a-z0-9]+", "-", f"{ex['api']} {ex['case']} {ex['path']}".lower()).strip("-")[:80]
        ext = "html" if "html" in ex["content_type"] else "json"
        name = f"{n:03d}-{slug}.{ext}"
        (bodies / name).write_bytes(ex["body"])
        index.append({**{k: v for k, v in ex.items() if k != "body"}, "body_file": f"bodies/{name}"})
    (out / "exchanges.json").write_text(json.dumps(index, indent=1) + "\n")
    (out / "scenario.json").write_text(json.dumps(scenario, indent=1) + "\n")
    print(f"wrote {len(index)} exchanges to {out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--query-url", help="use this (empty!) Jaeger's query base instead of starting one")
    parser.add_argument("--otlp-url", help="its OTLP/HTTP base, e.g. http://127.0.0.1:4318")
    parser.add_argument("--docker", action="store_true", help="start JAEGER_IMAGE rather than the binary")
    parser.add_argument("--out", type=Path, default=FIXTURES, help="write here instead of tests/fixtures/jaeger")
    args = parser.parse_args()
    if args.query_url:
        if not args.otlp_url:
            parser.error("--query-url needs --otlp-url")
        record(args.query_url.rstrip("/"), args.otlp_url.rstrip("/"), f"external {args.query_url}", args.out)
        return 0
    with LocalJaeger("docker" if args.docker else "binary") as jaeger:
        record(jaeger.query_url, jaeger.otlp_url, jaeger.version, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
