"""roles/jaeger run for real: ansible-playbook playbooks/jaeger.yml against this host's Docker engine.

Each test gets its own container name, host ports and config directory; teardown runs the role with
`jaeger_state: absent, jaeger_remove_data: true` and then removes by name whatever is still there.
"""

from __future__ import annotations

import json
import random
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
import docker.types
import pytest
from conftest import LABEL, ROOT
from otlp import emit_trace
from playbook_run import run_playbook
from polling import get_json, poll

pytestmark = pytest.mark.docker

PLAYBOOK = ROOT / "playbooks" / "jaeger.yml"


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out now; all held open together so they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class RoleRun:
    changed: int
    output: str


@dataclass
class JaegerRole:
    """One Jaeger the role manages: its variables, endpoints and a way to (re)run the role."""

    name: str
    image: str
    config_dir: Path
    vars_dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['query']}"

    @property
    def otlp_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['otlp_http']}"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['health']}/status"

    def role_vars(self, **overrides) -> dict:
        return {
            "jaeger_image": self.image,
            "jaeger_container_name": self.name,
            "jaeger_container_labels": LABEL,
            "jaeger_config_dir": str(self.config_dir),
            "jaeger_otlp_grpc_port": self.ports["otlp_grpc"],
            "jaeger_otlp_http_port": self.ports["otlp_http"],
            "jaeger_query_port": self.ports["query"],
            "jaeger_health_port": self.ports["health"],
            "jaeger_wait_retries": 60,
            **self.extra,
            **overrides,
        }

    def run(self, *args: str, **overrides) -> RoleRun:
        """ansible-playbook playbooks/jaeger.yml with these variables; fails the test unless it succeeds."""
        extra_vars = self.vars_dir / f"vars-{uuid.uuid4().hex[:6]}.json"
        extra_vars.write_text(json.dumps(self.role_vars(**overrides)))
        run = run_playbook(PLAYBOOK, "-e", f"@{extra_vars}", *args)
        stats = run.stats()
        assert run.returncode == 0 and stats, f"ansible-playbook {' '.join(args)} failed:\n{run.output}"
        return RoleRun(changed=stats["changed"], output=run.output)


@pytest.fixture
def jaeger_role(docker_client, images, tmp_path):
    name = f"lab10-test-jaeger-{uuid.uuid4().hex[:8]}"
    grpc, http, query, health = free_ports(4)
    role = JaegerRole(
        name=name,
        image=images["JAEGER_IMAGE"],
        config_dir=tmp_path / "jaeger-config",
        vars_dir=tmp_path,
        ports={"otlp_grpc": grpc, "otlp_http": http, "query": query, "health": health},
    )
    try:
        yield role
    finally:
        try:
            role.run(jaeger_state="absent", jaeger_remove_data=True)
        finally:
            # Safety net when the role itself could not clean up.
            for container_name in (name, f"{name}-validate", f"{name}-volume-owner"):
                try:
                    docker_client.containers.get(container_name).remove(force=True, v=True)
                except docker.errors.NotFound:
                    pass
            try:
                docker_client.volumes.get(f"{name}-data").remove(force=True)
            except docker.errors.NotFound:
                pass


@pytest.fixture
def network(docker_client):
    """A network with a fixed subnet, like molecule's, so Jaeger can get a fixed address on it."""
    name = f"lab10-test-net-{uuid.uuid4().hex[:8]}"
    for octet in random.sample(range(100, 250), 10):
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=f"172.30.{octet}.0/24")])
        try:
            net = docker_client.networks.create(name, ipam=ipam, labels=LABEL)
            break
        except docker.errors.APIError as exc:  # pool overlaps with another network
            if "overlap" not in str(exc):
                raise
    else:
        pytest.fail("no free 172.30.x.0/24 subnet for the test network")
    net.subnet_prefix = f"172.30.{octet}"
    try:
        yield net
    finally:
        net.remove()


def v3_services(role: JaegerRole) -> list[str]:
    return get_json(f"{role.query_url}/api/v3/services").get("services", [])


def trace_spans(role: JaegerRole, trace_id: str) -> list[dict]:
    return get_json(f"{role.query_url}/api/traces/{trace_id}")["data"][0]["spans"]


def test_memory_mode_serves_traces_idempotently(jaeger_role, docker_client):
    first = jaeger_role.run(jaeger_memory_max_traces=50)
    assert first.changed > 0
    assert get_json(jaeger_role.query_url + "/api/services")["errors"] is None
    assert get_json(jaeger_role.health_url)["healthy"] is True

    container = docker_client.containers.get(jaeger_role.name)
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    bindings = container.attrs["HostConfig"]["PortBindings"]
    assert {port: binding[0]["HostIp"] for port, binding in bindings.items()} == dict.fromkeys(
        ("4317/tcp", "4318/tcp", "16686/tcp", "13133/tcp"), "127.0.0.1"
    )

    service = f"role-memory-{uuid.uuid4().hex[:6]}"
    trace_id = emit_trace(jaeger_role.otlp_url, service, child_ms=20)
    assert poll(lambda: service in v3_services(jaeger_role)), "span never showed up in /api/v3/services"
    # The two spans may be stored a moment apart: wait for the whole trace.
    both = {"GET /api/v1/inventory", "validate_inventory_cache"}
    assert poll(lambda: {span["operationName"] for span in trace_spans(jaeger_role, trace_id)} == both), trace_id

    assert jaeger_role.run(jaeger_memory_max_traces=50).changed == 0, "second run changed something"
    assert jaeger_role.run("--check", jaeger_memory_max_traces=50).changed == 0, "--check predicts a change"
    container.reload()
    started = container.attrs["State"]["StartedAt"]

    # The rendered config is the one running: the memory store refuses queries deeper than max_traces.
    search = f"{jaeger_role.query_url}/api/traces?service={urllib.parse.quote(service)}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(search + "&limit=100")
    assert "max traces" in refused.value.read().decode()

    # A config change restarts the same container (handler), it does not recreate it.
    assert jaeger_role.run(jaeger_memory_max_traces=500).changed == 2  # config file + restart
    container.reload()
    assert container.id == docker_client.containers.get(jaeger_role.name).id
    assert container.attrs["State"]["StartedAt"] != started
    assert get_json(search + "&limit=100")["errors"] is None
    with pytest.raises(urllib.error.HTTPError) as gone:  # memory storage: the trace went with the restart
        trace_spans(jaeger_role, trace_id)
    assert gone.value.code == 404


def test_badger_keeps_a_trace_across_a_restart(jaeger_role, docker_client):
    assert jaeger_role.run(jaeger_storage="badger", jaeger_badger_retention="72h").changed > 0
    volume = docker_client.volumes.get(f"{jaeger_role.name}-data")
    assert volume.attrs["Labels"] == LABEL
    assert "ttl:\n            spans: 72h" in (jaeger_role.config_dir / "config.yaml").read_text()

    service = f"role-badger-{uuid.uuid4().hex[:6]}"
    trace_id = emit_trace(jaeger_role.otlp_url, service, child_ms=20)
    assert poll(lambda: trace_spans(jaeger_role, trace_id)), "trace never stored"

    docker_client.containers.get(jaeger_role.name).restart(timeout=10)
    assert poll(lambda: get_json(jaeger_role.health_url)["healthy"], timeout=30)
    assert len(poll(lambda: trace_spans(jaeger_role, trace_id))) == 2, "trace lost across the restart"
    assert service in v3_services(jaeger_role)

    assert jaeger_role.run(jaeger_storage="badger", jaeger_badger_retention="72h").changed == 0


def test_unpublished_jaeger_on_a_network_alias(network, jaeger_role, docker_client):
    # network first: it is torn down after the container that uses it.
    # The way molecule runs it: no published ports, an alias and a fixed address on the scenario's network.
    address = f"{network.subnet_prefix}.200"
    role_vars = {
        "jaeger_publish_ports": False,
        "jaeger_networks": [{"name": network.name, "aliases": ["jaeger"], "ipv4_address": address}],
    }
    run = jaeger_role.run(**role_vars)
    container = docker_client.containers.get(jaeger_role.name)
    assert container.attrs["HostConfig"]["PortBindings"] in ({}, None)
    endpoint = container.attrs["NetworkSettings"]["Networks"][network.name]
    assert "jaeger" in endpoint["Aliases"]
    assert endpoint["IPAddress"] == address
    # With no ports published and no jaeger_wait_url the role waited on the container's own address.
    assert f"http://{address}:13133/status" in run.output
    assert get_json(f"http://{address}:16686/api/services")["errors"] is None

    wait_url = f"http://{address}:16686/api/services"
    assert jaeger_role.run(**role_vars, jaeger_wait_url=wait_url).changed == 0
