"""inventory_api's checks of its settings: each bad input fails with a message naming that variable alone.

One ansible-playbook run covers every case: each case is a host of its own (local connection) with one
wrong variable, run through the role's preflight (`--tags inventory_api_preflight`; the role's argument
spec is validated under any tag). No Docker needed. That nothing on the host changes on a bad input is
tests/role's business (the whole role, for real).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from playbook_run import ROOT, run_playbook

PLAYBOOK = ROOT / "tests" / "role" / "playbook.yml"
VARIABLE = re.compile(r"\binventory_api_\w+")
BAD_VM_NAMES = ["Bad_Name!", "-student", "student-", "a" * 64, "Student"]

# host: (its one wrong setting, the variables its message must name: the first is the wrong one, the
# others are what the message may point the user to instead).
CASES = {
    "endpoint-no-scheme": ({"inventory_api_otlp_endpoint": "jaeger.sysadm.ee"}, ["inventory_api_otlp_endpoint"]),
    "endpoint-empty": ({"inventory_api_otlp_endpoint": ""}, ["inventory_api_otlp_endpoint"]),
    "traces-endpoint-no-scheme": (
        {"inventory_api_otlp_traces_endpoint": "otel.example.org/v1/traces"},
        ["inventory_api_otlp_traces_endpoint"],
    ),
    "protocol-grpc": ({"inventory_api_otlp_protocol": "grpc"}, ["inventory_api_otlp_protocol"]),
    "service-name-uppercase": (
        {"inventory_api_otel_service_name": "Inventory.Student.sysadm.ee"},
        ["inventory_api_otel_service_name"],
    ),
    "sleep-zero": ({"inventory_api_cache_sleep": 0}, ["inventory_api_cache_sleep"]),
    "sleep-too-long": ({"inventory_api_cache_sleep": 61}, ["inventory_api_cache_sleep"]),
    "batch-delay-negative": ({"inventory_api_otel_bsp_schedule_delay": -1}, ["inventory_api_otel_bsp_schedule_delay"]),
    "ca-bundle-missing": ({"inventory_api_extra_ca_bundle": "/nonexistent/ca.pem"}, ["inventory_api_extra_ca_bundle"]),
    "extra-env-service-name": (
        {"inventory_api_extra_env": {"OTEL_SERVICE_NAME": "x", "FLASK_DEBUG": "0"}},
        ["inventory_api_extra_env", "inventory_api_otlp_protocol", "inventory_api_otel_service_name"],
    ),
    "token-empty": ({"inventory_api_token": ""}, ["inventory_api_token", "inventory_api_require_token"]),
    "token-null": ({"inventory_api_token": None}, ["inventory_api_token", "inventory_api_require_token"]),
    "token-short": ({"inventory_api_token": "1234567"}, ["inventory_api_token", "inventory_api_require_token"]),
    "data-dir-relative": ({"inventory_api_data_dir": "data/inventory"}, ["inventory_api_data_dir"]),
    "compose-file-not-yaml": (
        {"inventory_api_compose_file": "/home/centos/lab10/compose.txt"},
        ["inventory_api_compose_file"],
    ),
    "project-uppercase": ({"inventory_api_compose_project": "Lab10"}, ["inventory_api_compose_project"]),
    "image-name-space": ({"inventory_api_image_name": "my image"}, ["inventory_api_image_name"]),
    "port-too-big": ({"inventory_api_port": 70000}, ["inventory_api_port"]),
    "port-not-a-number": ({"inventory_api_port": "five"}, ["inventory_api_port"]),
    "workers-zero": ({"inventory_api_workers": 0}, ["inventory_api_workers"]),
    "uid-root": ({"inventory_api_app_uid": 0}, ["inventory_api_app_uid"]),
    "query-url-no-scheme": (
        {"inventory_api_verify_trace": True, "inventory_api_jaeger_query_url": "jaeger.sysadm.ee"},
        ["inventory_api_jaeger_query_url", "inventory_api_verify_trace"],
    ),
    **{
        f"vm-name-{index}": ({"inventory_api_vm_name": bad}, ["inventory_api_vm_name"])
        for index, bad in enumerate(BAD_VM_NAMES)
    },
}
# The shown value of the wrong setting, where the message must quote it.
SHOWN = {
    "endpoint-no-scheme": "'jaeger.sysadm.ee'",
    "traces-endpoint-no-scheme": "'otel.example.org/v1/traces'",
    "protocol-grpc": "grpc",
    "service-name-uppercase": "'Inventory.Student.sysadm.ee'",
    "sleep-zero": "inventory_api_cache_sleep 0 ",
    "sleep-too-long": "inventory_api_cache_sleep 61 ",
    "batch-delay-negative": "inventory_api_otel_bsp_schedule_delay -1 ",
    "ca-bundle-missing": "'/nonexistent/ca.pem'",
    "extra-env-service-name": "inventory_api_extra_env sets OTEL_SERVICE_NAME,",
    "data-dir-relative": "inventory_api_data_dir 'data/inventory' is not an absolute path",
    "compose-file-not-yaml": "'/home/centos/lab10/compose.txt'",
    "project-uppercase": "'Lab10'",
    "image-name-space": "'my image'",
    "port-too-big": "inventory_api_port 70000 ",
    "port-not-a-number": "five",
    "workers-zero": "inventory_api_workers 0 is below 1",
    "uid-root": "inventory_api_app_uid 0 is below 1",
    "query-url-no-scheme": "inventory_api_jaeger_query_url 'jaeger.sysadm.ee'",
    **{f"vm-name-{index}": f"inventory_api_vm_name '{bad}'" for index, bad in enumerate(BAD_VM_NAMES)},
}
# The compose probe (skipped when the role installs Docker) on hosts whose PATH starts with a stub `docker`:
# host -> the stub's script. A `docker` without the compose v2 plugin says this and exits 1.
NO_COMPOSE = "docker: 'compose' is not a docker command."
PROBED = {
    "compose-missing": f'echo "{NO_COMPOSE}" >&2; exit 1',
    "compose-present": "echo 2.40.3",
}
GOOD = {
    "inventory_api_vm_name": "student-xyz",
    "inventory_api_token": "preflight-test-token",
    "inventory_api_lab_dir": "/nonexistent/lab10",
    "inventory_api_data_dir": "/nonexistent/data",
    # skips the probe for `docker compose`, which this test does not need
    "inventory_api_install_docker": True,
}


def failure(host_result: dict) -> str:
    """The message of a failed task: its own, or its failed loop items' joined."""
    items = [item.get("msg", "") for item in host_result.get("results", []) if item.get("failed")]
    return "\n".join(items) if items else str(host_result.get("msg", ""))


def stub_docker(directory: Path, script: str) -> str:
    """A directory with an executable `docker` running script; the PATH with it first."""
    directory.mkdir()
    docker = directory / "docker"
    docker.write_text(f"#!/bin/sh\n{script}\n")
    docker.chmod(0o755)
    return f"{directory}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """{host: (name of the task that failed it, message)}, "" for a host nothing failed."""
    hosts = {"all-good": dict(GOOD)}
    for host, (wrong, _) in CASES.items():
        hosts[host] = {**GOOD, **wrong}
    stubs = tmp_path_factory.mktemp("stub-docker")
    for host, script in PROBED.items():
        path = stub_docker(stubs / host, script)
        hosts[host] = {**GOOD, "inventory_api_install_docker": False, "lab10_test_environment": {"PATH": path}}
    for host_vars in hosts.values():
        host_vars.update(ansible_connection="local", ansible_python_interpreter=sys.executable)
    inventory = tmp_path_factory.mktemp("preflight") / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    run = run_playbook(
        PLAYBOOK,
        "-i",
        str(inventory),
        "--tags",
        "inventory_api_preflight",
        "--forks",
        "25",
        extra_vars={"lab10_test_hosts": "all"},
        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
    )
    report = json.loads(run.stdout[run.stdout.index("{") :])
    failed = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") and host not in failed:
                    failed[host] = (task["task"]["name"], failure(result))
    assert set(report["stats"]) == set(hosts), run.output
    return {host: failed.get(host, ("", "")) for host in hosts}


def test_good_settings_pass(outcome):
    assert outcome["all-good"] == ("", "")


@pytest.mark.parametrize("host", sorted(CASES))
def test_the_message_names_the_one_wrong_setting(outcome, host):
    task, msg = outcome[host]
    assert task, f"{host}: no check failed"
    named = list(dict.fromkeys(VARIABLE.findall(msg)))
    assert named == CASES[host][1], msg
    if host in SHOWN:
        assert SHOWN[host] in msg, msg


def test_a_failed_compose_probe_names_the_command_its_error_and_the_fix(outcome):
    task, msg = outcome["compose-missing"]
    assert task == "inventory_api : Check the role's settings", msg
    assert msg.startswith(f"`docker compose version` failed on compose-missing ({NO_COMPOSE})."), msg
    assert msg.endswith("Install Docker with the compose v2 plugin, or set inventory_api_install_docker: true."), msg
    assert "Traceback" not in msg


def test_a_working_compose_probe_passes(outcome):
    """The stub's `docker compose version` succeeds: the rule holds (and the probe's systemctl answers do not
    matter to preflight)."""
    assert outcome["compose-present"] == ("", "")


@pytest.mark.parametrize("host", ["token-null", "port-not-a-number"])
def test_no_python_noise(outcome, host):
    _, msg = outcome[host]
    assert "NoneType" not in msg
    assert "Traceback" not in msg


def test_the_spec_refuses_the_protocol_not_an_assert(outcome):
    """choices in meta/argument_specs.yml is the one place that rule lives."""
    task, msg = outcome["protocol-grpc"]
    assert "Validating arguments against arg spec 'main'" in task
    assert "http/protobuf" in msg


def test_one_check_per_rule():
    """Every rule of the one assert states one rule: an `and` or an `or` across different variables would be two;
    its message names that variable first."""
    tasks = yaml.safe_load((ROOT / "roles" / "inventory_api" / "tasks" / "preflight.yml").read_text())
    (check,) = [task for task in tasks if "ansible.builtin.assert" in task]
    rules = check["vars"]["__inventory_api_preflight"]
    exempt = {"inventory_api_require_token", "inventory_api_verify_trace", "inventory_api_install_docker"}
    for rule in rules:
        names = set(VARIABLE.findall(rule["that"])) - exempt
        assert len(names) <= 1, rule["that"]
        assert not names or VARIABLE.findall(rule["msg"])[0] in names, rule
