"""Planting a student's faults on the provisioned lab VM the way a student makes them (editing the
compose file or the app, stopping Jaeger), and taking them back."""

from __future__ import annotations

import shlex
import textwrap
import time

from lab10_checks import COMPOSE, COMPOSE_FILE
from selfsigned import self_signed  # tests/support/, on pytest's pythonpath

APP_FILE = "/home/centos/lab10/inventory-api/app.py"
SAVED = "/root/faults"
TLS_UNIT = "lab10-faults-tls-receiver"
TLS_PORT = 4443
SPAN_CALL = "        validate_inventory_cache()\n"

# An OTLP receiver stand-in with a self-signed certificate: the container's CA bundle cannot trust it.
TLS_RECEIVER = textwrap.dedent(
    f"""
    import http.server, ssl

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.HTTPServer(("0.0.0.0", {TLS_PORT}), Receiver)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain("{SAVED}/tls.crt", "{SAVED}/tls.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
    """
)


class Planter:
    def __init__(self, host, lab_vars, jaeger):
        self.host, self.lab_vars, self.jaeger = host, lab_vars, jaeger
        self.recreate = self.rebuild = self.tls = self.jaeger_stopped = False

    def sh(self, command: str) -> str:
        result = self.host.run(command)
        assert result.rc == 0, f"{command}: {result.stdout} {result.stderr}"
        return result.stdout

    def write(self, path: str, content: str, mode: str = "0644") -> None:
        self.sh(f"install -m {mode} /dev/null {path} && printf %s {shlex.quote(content)} > {path}")

    def save(self) -> None:
        self.sh(f"mkdir -p {SAVED} && cp -n {COMPOSE_FILE} {SAVED}/compose.yml && cp -n {APP_FILE} {SAVED}/app.py")

    def wait_for(self, command: str, tries: int = 60) -> None:
        self.sh(f"for i in $(seq {tries}); do {command} && exit 0; sleep 0.5; done; exit 1")

    def wait_healthy(self) -> None:
        self.wait_for("curl -sf -o /dev/null http://127.0.0.1:5000/health")

    def up(self, *options: str) -> None:
        self.sh(f"{COMPOSE} up -d {' '.join(options)} inventory")
        self.wait_healthy()

    def jaeger_url(self, port: int) -> str:
        return f"http://{self.lab_vars['lab10_jaeger_address']}:{port}"

    def env(self, key: str) -> str:
        """The value of `- KEY=VALUE` in the compose file."""
        line = self.sh(f"grep -m1 -E {shlex.quote(f'^[[:space:]]*- {key}=')} {COMPOSE_FILE}")
        return line.split("=", 1)[1].strip()

    def set_env(self, key: str, value: str, recreate: bool = True) -> None:
        """Change `- KEY=VALUE` in the compose file (the role writes the list form), as a student would."""
        script = "s#^([[:space:]]*- " + key + "=).*#\\1" + value + "#"
        self.sh(f"sed -i -E {shlex.quote(script)} {COMPOSE_FILE}")
        self.sh(f"grep -qxE {shlex.quote(f'[[:space:]]*- {key}={value}')} {COMPOSE_FILE}")
        self.recreate = True
        if recreate:
            self.up()

    def start_tls_receiver(self) -> str:
        cert, key = self_signed("untrusted-otlp.test")
        self.write(f"{SAVED}/tls.crt", cert)
        self.write(f"{SAVED}/tls.key", key, "0600")
        self.write(f"{SAVED}/tls_receiver.py", TLS_RECEIVER)
        self.sh(f"systemd-run --unit {TLS_UNIT} /usr/bin/python3 {SAVED}/tls_receiver.py")
        self.tls = True
        # The app container reaches the VM at its compose network's gateway.
        container = self.sh(f"{COMPOSE} ps -q inventory").strip()
        networks = "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}"
        gateway = self.sh(f"docker inspect -f '{networks}' {container}")
        self.wait_for(f"curl -sk -o /dev/null -X POST https://127.0.0.1:{TLS_PORT}/", tries=20)
        return f"https://{gateway.strip()}:{TLS_PORT}"

    def remove_span_call(self) -> None:
        """The app no longer calls validate_inventory_cache(): edit its source and rebuild, like a student."""
        self.sh(f"grep -qxF {shlex.quote(SPAN_CALL.rstrip())} {APP_FILE}")
        self.sh(f"sed -i 's/^        validate_inventory_cache()$/        pass  # the span call is gone/' {APP_FILE}")
        self.rebuild = True
        self.up("--build")

    def stop_jaeger(self) -> None:
        self.jaeger_stopped = True
        self.jaeger.stop(timeout=5)

    def restore(self) -> None:
        if self.tls:
            self.host.run(f"systemctl stop {TLS_UNIT}")
        if self.rebuild:
            self.sh(f"cp {SAVED}/app.py {APP_FILE}")
        if self.recreate or self.rebuild:
            self.sh(f"cp {SAVED}/compose.yml {COMPOSE_FILE}")
            self.up("--build" if self.rebuild else "")
        if self.jaeger_stopped:
            self.jaeger.start()
            url = self.lab_vars["inventory_api_jaeger_query_url"]
            deadline = time.monotonic() + 60
            while self.host.run(f"curl -sf -o /dev/null {url}/api/services").rc != 0:
                assert time.monotonic() < deadline, "the test Jaeger did not come back"
                time.sleep(0.5)
