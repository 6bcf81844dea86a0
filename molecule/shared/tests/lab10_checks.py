"""Checks the molecule scenarios share: requests to the VM's API, its containers, jaeger_trace."""

from __future__ import annotations

import json
import shlex

COMPOSE_FILE = "/home/centos/lab10/docker-compose.yml"
COMPOSE = f"docker compose -p lab10 -f {COMPOSE_FILE}"


def http(host, path: str, token: str | None = None) -> tuple[int, str]:
    """(status, body) of a request from inside the VM to the API on 127.0.0.1:5000."""
    header = f"-H {shlex.quote('Authorization: Bearer ' + token)}" if token else ""
    result = host.run(f"curl -s -o /tmp/body -w '%{{http_code}}' {header} http://127.0.0.1:5000{path}")
    return int(result.stdout or 0), host.file("/tmp/body").content_string


def inspect_service(host, service: str) -> dict:
    container_id = host.check_output(f"{COMPOSE} ps -q {service}")
    return json.loads(host.check_output(f"docker inspect {container_id}"))[0]


def jaeger_trace(host, lab_vars, service: str, **options) -> dict:
    """Run the jaeger_trace module on the VM (it reaches the test Jaeger by its alias)."""
    args = {"url": lab_vars["inventory_api_jaeger_query_url"], "service": service, "timeout": 30, **options}
    # testinfra wants a string (ad-hoc Ansible accepts JSON), runs in check mode unless
    # check=False, and raises on a failed module: the tests want the result either way.
    # With ansible-core 2.19 its --tree output can lack `failed`: assert on `reason`.
    try:
        return host.ansible("jaeger_trace", json.dumps(args), check=False)
    except host.ansible.AnsibleException as exc:
        return exc.result
