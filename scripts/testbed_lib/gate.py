"""The test Jaeger behind a login, as the course's is: JAEGER_IMAGE and GATE_IMAGE on a network of their own.

The gate (scripts/testbed/gate.Dockerfile: Debian's nginx) answers the query API and the UI like the course's
OIDC front end (oauth2-proxy):
  no Authorization header   302, Location: /oauth2/start?rd=<the request's URI>; that page: 200 HTML, a sign-in form
  a wrong bearer token      401, WWW-Authenticate: Bearer realm="jaeger", error="invalid_token"
  Bearer <token>            proxied to Jaeger's :16686 (without the header)
  /v1/traces (OTLP/HTTP)    proxied to Jaeger's :4318, no token needed
  /ping                     200 "OK" (oauth2-proxy's liveness endpoint)

From pytest (tests/integration/conftest.py's `gated_jaeger` fixture) or a script:

    with GatedJaeger() as gate:
        gate.url         # http://<gate address>: query API, UI and OTLP (exporter endpoint gate.url + "/v1/traces")
        gate.token       # the bearer token it accepts
        gate.query_url   # Jaeger's own query API, without the gate (for comparison)
        gate.network     # the Docker network: connect a lab VM to it to export through the gate
    GatedJaeger(tls=True): also gate.https_url, and gate.ca_pem, the private CA that signed its certificate

From molecule (a prepare on localhost, after the test Jaeger runs with the alias `jaeger` on the network):

    - name: Start the gate in front of the test Jaeger
      community.docker.docker_container:
        name: "{{ lab10_jaeger_name }}-gate"
        image: ${GATE_IMAGE}                     # .env.yml, written by make testbed
        env:
          GATE_TOKEN: "{{ token }}"              # A-Z a-z 0-9 . _ ~ + / = -
          GATE_QUERY_UPSTREAM: jaeger:16686      # the defaults
          GATE_OTLP_UPSTREAM: jaeger:4318
          GATE_TLS: "on"                         # optional: https on 443 too, from a CA made at start
        networks: [{name: "{{ lab10_network }}", aliases: [jaeger-gate], ipv4_address: ...}]
      no_log: true
    # With GATE_TLS: the CA a client needs is /etc/nginx/tls/ca.pem in the container (docker cp / exec cat);
    # the certificate names the container's addresses, its hostname and GATE_TLS_NAMES (comma-separated).
"""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from .local_jaeger import testbed_images, wait_http

LABELS = {"lab10.gate": "1"}
CA_PATH = "/etc/nginx/tls/ca.pem"


class GatedJaeger:
    """Jaeger and its gate on a fresh network; stop() removes all three (containers by id)."""

    def __init__(self, labels: dict | None = None, token: str | None = None, tls: bool = False):
        self.labels = labels or LABELS
        self.token = token or "gate-" + secrets.token_urlsafe(18)
        self.tls = tls
        self.name = f"lab10-gate-{uuid.uuid4().hex[:8]}"
        self.network = ""
        self.jaeger_container = self.gate_container = ""
        self.url = self.otlp_url = self.query_url = self.https_url = self.ca_pem = ""
        self.version = ""

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _docker(self, *args: str, env: dict | None = None) -> str:
        out = subprocess.run(["docker", *args], check=True, capture_output=True, text=True, env=env)
        return out.stdout.strip()

    def _label_options(self) -> list[str]:
        return [arg for key, value in self.labels.items() for arg in ("--label", f"{key}={value}")]

    def _run(self, name: str, image: str, *options: str, env: dict | None = None) -> str:
        network = ["--network", self.network]
        return self._docker("run", "-d", "--name", name, *network, *self._label_options(), *options, image, env=env)

    def address(self, container: str) -> str:
        return self._docker(
            "inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{self.network}").IPAddress}}}}', container
        )

    def start(self) -> None:
        images = testbed_images()
        missing = [key for key in ("JAEGER_IMAGE", "GATE_IMAGE") if not images.get(key)]
        if missing:
            raise SystemExit(f"no {' or '.join(missing)} in .testbed/images.env: run `make testbed`")
        self._docker("network", "create", *self._label_options(), self.name)
        self.network = self.name
        self.jaeger_container = self._run(f"{self.name}-jaeger", images["JAEGER_IMAGE"], "--network-alias", "jaeger")
        # The token goes by environment (`-e NAME` takes the value from ours), never on a command line.
        env = {**os.environ, "GATE_TOKEN": self.token, "GATE_TLS": "on" if self.tls else ""}
        env["GATE_TLS_NAMES"] = "jaeger-gate"
        self.gate_container = self._run(
            f"{self.name}-gate", images["GATE_IMAGE"], "--network-alias", "jaeger-gate",
            *(arg for name in ("GATE_TOKEN", "GATE_TLS", "GATE_TLS_NAMES") for arg in ("-e", name)), env=env,
        )  # fmt: skip
        gate = self.address(self.gate_container)
        self.url = self.otlp_url = f"http://{gate}"
        self.query_url = f"http://{self.address(self.jaeger_container)}:16686"
        self.version = f"jaeger {images['JAEGER_IMAGE']}, gate {images['GATE_IMAGE']}"
        wait_http(self.query_url + "/api/services")
        wait_http(self.url + "/ping")
        # Jaeger's OTLP receiver starts on its own: any answer through the gate but a 50x (405 to a GET).
        wait_upstream(self.url + "/v1/traces")
        if self.tls:
            self.https_url = f"https://{gate}"
            self.ca_pem = self._docker("exec", self.gate_container, "cat", CA_PATH) + "\n"

    def stop(self) -> None:
        for container in (self.gate_container, self.jaeger_container):
            if container:
                subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True, check=False)
        self.gate_container = self.jaeger_container = ""
        if self.network:
            subprocess.run(["docker", "network", "rm", self.network], capture_output=True, check=False)
            self.network = ""

    def logs(self) -> str:
        """The gate's log (nginx's access and error lines), for a failing test's message."""
        if not self.gate_container:
            return ""
        out = subprocess.run(["docker", "logs", self.gate_container], capture_output=True, text=True, check=False)
        return (out.stdout + out.stderr)[-3000:]


def wait_upstream(url: str, timeout: float = 60) -> None:
    """Return once url answers through the gate with anything but 502/503/504 (its upstream is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 -- our own gate
            return
        except urllib.error.HTTPError as exc:
            if exc.code not in (502, 503, 504):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}: no answer from the gate's upstream within {timeout:.0f}s")
        time.sleep(0.3)


@dataclass
class Answer:
    """One HTTP answer, redirects not followed."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def ask(
    url: str,
    authorization: str | None = None,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """method url with this Authorization header (None: none), never following a redirect: the gate's own answer."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
    if authorization is not None:
        request.add_header("Authorization", authorization)
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=10) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers.items()), exc.read())
