"""A Jaeger of our own on free ports, for the recorder, the benchmarks and the integration tests:
the test bed's jaeger binary with a minimal config (no Docker needed), or its image in Docker run as a
user would (`docker run -p ...`). Everything started is stopped by stop(), by process or container id.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import envfile

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lab10-testbed"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jaeger_binary() -> str | None:
    if os.environ.get("JAEGER_BIN"):
        return os.environ["JAEGER_BIN"]
    # The test bed's versioned build first (newest), then a plain `jaeger`.
    found = sorted(glob.glob(str(CACHE / "bin" / "jaeger-*")), key=os.path.getmtime, reverse=True)
    return next((p for p in [*found, str(CACHE / "bin" / "jaeger")] if os.access(p, os.X_OK)), None)


def testbed_images() -> dict[str, str]:
    """What `make testbed` wrote to .testbed/images.env ({} before it ran)."""
    return envfile.read(ROOT / ".testbed" / "images.env")


def jaeger_image() -> str | None:
    return testbed_images().get("JAEGER_IMAGE")


CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [jaeger_storage_exporter]}}
  telemetry: {{metrics: {{level: none}}, logs: {{level: warn}}}}
extensions:
  jaeger_query:
    storage: {{traces: mem}}
    http: {{endpoint: "127.0.0.1:{query}"}}
    grpc: {{endpoint: "127.0.0.1:{grpc}"}}
  jaeger_storage:
    backends: {{mem: {{memory: {{max_traces: 100000}}}}}}
receivers:
  otlp:
    protocols: {{http: {{endpoint: "127.0.0.1:{otlp}"}}}}
processors: {{batch: {{}}}}
exporters: {{jaeger_storage_exporter: {{trace_storage: mem}}}}
"""


class LocalJaeger:
    """A Jaeger of our own on free ports: the binary with a minimal config, or the image in docker.

    Everything started here is stopped by stop(), by process id / container id only.
    """

    def __init__(self, prefer: str = "binary", labels: dict | None = None):
        self.prefer = prefer
        self.labels = labels or {"lab10.fixtures": "1"}
        self.proc = None
        self.container = None
        self.workdir = None
        self.query_url = self.otlp_url = ""
        self.version = ""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        binary, image = jaeger_binary(), jaeger_image()
        if binary and (self.prefer == "binary" or not (image and shutil.which("docker"))):
            self._start_binary(binary)
        elif image and shutil.which("docker"):
            self._start_docker(image)
        else:
            raise SystemExit("no Jaeger: set JAEGER_BIN, or run `make testbed` for the binary/image")
        wait_http(self.query_url + "/api/services")
        # The OTLP receiver starts on its own: behind docker-proxy a connection is accepted, then reset,
        # until it listens. Any HTTP answer (405 to a GET) means it does.
        wait_http(self.otlp_url + "/v1/traces", any_answer=True)

    def _start_binary(self, binary: str) -> None:
        self.workdir = tempfile.mkdtemp(prefix="lab10-jaeger-")
        ports = {"query": free_port(), "grpc": free_port(), "otlp": free_port()}
        config = Path(self.workdir, "config.yaml")
        config.write_text(CONFIG.format(**ports))
        self.log = open(Path(self.workdir, "jaeger.log"), "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [binary, f"--config=file:{config}"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # always_off: Jaeger traces itself to localhost:4317 by default, i.e. into whatever Jaeger
            # listens there (someone else's), and it stalls ~10 s on exit when none does.
            env={**os.environ, "JAEGER_LISTEN_HOST": "127.0.0.1", "OTEL_TRACES_SAMPLER": "always_off"},
        )
        self.query_url = f"http://127.0.0.1:{ports['query']}"
        self.otlp_url = f"http://127.0.0.1:{ports['otlp']}"
        gomod = ROOT / "scripts" / "testbed" / "go" / "jaeger" / "go.mod"
        match = re.search(r"github.com/jaegertracing/jaeger (v\S+)", gomod.read_text()) if gomod.exists() else None
        self.version = f"binary {Path(binary).name}, Go module {match.group(1) if match else 'unknown'}"

    def _start_docker(self, image: str) -> None:
        out = subprocess.run(
            [
                "docker",
                "run",
                "-d",
                *(arg for key, value in self.labels.items() for arg in ("--label", f"{key}={value}")),
                "-p",
                "127.0.0.1::16686",
                "-p",
                "127.0.0.1::4318",
                image,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        self.container = out.stdout.strip()

        def port(inner: str) -> str:
            res = subprocess.run(["docker", "port", self.container, inner], check=True, capture_output=True, text=True)
            return res.stdout.split()[0].rsplit(":", 1)[1]

        self.query_url = f"http://127.0.0.1:{port('16686/tcp')}"
        self.otlp_url = f"http://127.0.0.1:{port('4318/tcp')}"
        self.version = f"image {image}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()
        if self.container:
            subprocess.run(["docker", "rm", "-f", "-v", self.container], capture_output=True, check=False)
            self.container = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def wait_http(url: str, timeout: float = 60, any_answer: bool = False) -> None:
    """Return once url answers 2xx (any HTTP status with any_answer); raise the last error after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 -- our own local Jaeger
            return
        except urllib.error.HTTPError:
            if any_answer:
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
