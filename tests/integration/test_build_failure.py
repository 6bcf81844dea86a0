"""inventory_api's image build failing for real on a lab-VM container: the task's message is pip's error.

The role is a copy of roles/inventory_api whose app pins a Flask that does not exist (Flask==9.9), so pip in
the Dockerfile's RUN step fails against the real index; everything else is the role as shipped, run over the
docker connection with the test bed's app base image (no registry).

LAB10_RECORD_BUILD=1 also writes the module's raw result to tests/fixtures/build/ (the unit tests' input);
LAB10_RECORD_BUILD=no-ca records the same build without the test bed's CA bundle (behind a TLS-intercepting
proxy pip then fails on the certificate).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from playbook_run import ROOT, run_playbook

pytestmark = pytest.mark.docker

FIXTURES = ROOT / "tests" / "fixtures" / "build"
TOKEN = "integration-not-a-secret-7f3a"
MISSING_PIN = "Flask==9.9"
RESCUE_TASK = "Say why the inventory service did not build or start"


@pytest.fixture
def broken_role(tmp_path) -> Path:
    """A roles directory whose inventory_api pins a Flask no index has; lab_criteria comes from the repository."""
    roles = tmp_path / "roles"
    role = roles / "inventory_api"
    shutil.copytree(ROOT / "roles" / "inventory_api", role, ignore=shutil.ignore_patterns("__pycache__"))
    pins = role / "files" / "app" / "requirements.txt"
    text = pins.read_text()
    assert "\nFlask==" in text
    pins.write_text(text.replace("\nFlask==", f"\n{MISSING_PIN}\n# was Flask==", 1))
    # The role's filter and test plugins load the kit's plugins/plugin_utils/kit.py from <role>/../../plugins.
    (tmp_path / "plugins").symlink_to(ROOT / "plugins")
    return roles


def provision(tmp_path: Path, vm, roles: Path, images: dict, ca_bundle: str) -> tuple:
    """The role on the VM in a block whose rescue keeps what failed: (the run, the failed task's name and
    result, the compose module's own result)."""
    saved = tmp_path / "failed.json"
    play = {
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Provision",
                "block": [{"name": "Run the role", "ansible.builtin.include_role": {"name": "inventory_api"}}],
                "rescue": [
                    {
                        "name": "Keep what failed",
                        "ansible.builtin.copy": {
                            "dest": str(saved),
                            "content": "{{ {'task': ansible_failed_task.name, 'result': ansible_failed_result,"
                            " 'compose': __inventory_api_up | default({})} | to_json }}",
                            "mode": "0600",
                        },
                        "delegate_to": "localhost",
                    },
                    {"name": "Fail as the role did", "ansible.builtin.fail": {"msg": "the role failed"}},
                ],
            }
        ],
    }
    (tmp_path / "play.yml").write_text(yaml.safe_dump([play], sort_keys=False))
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"{vm.name} ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n"
    )
    role_vars = {
        "inventory_api_base_image": images["APP_BASE_IMAGE"],
        "inventory_api_extra_ca_bundle": ca_bundle,
        "inventory_api_token": TOKEN,
        "inventory_api_otlp_endpoint": "http://127.0.0.1:4318",
        "inventory_api_verify_trace": False,
    }
    run = run_playbook(
        tmp_path / "play.yml",
        "-i",
        str(inventory),
        extra_vars=role_vars,
        env={"ANSIBLE_ROLES_PATH": f"{roles}:{ROOT / 'roles'}"},
        timeout=900,
    )
    failed = json.loads(saved.read_text()) if saved.exists() else {}
    return run, failed


def record(name: str, compose_result: dict) -> None:
    """The module's result as the role's rescue receives it, without what Ansible adds or repeats."""
    kept = {key: compose_result[key] for key in ("msg", "rc", "cmd", "stdout", "stderr") if key in compose_result}
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / name).write_text(json.dumps(kept, indent=1) + "\n")


def test_a_failed_pip_install_fails_the_role_with_pips_error(tmp_path, booted_labvm, broken_role, images):
    record_mode = os.environ.get("LAB10_RECORD_BUILD", "")
    ca_bundle = "" if record_mode == "no-ca" else images.get("EXTRA_CA_BUNDLE", "")
    run, failed = provision(tmp_path, booted_labvm, broken_role, images, ca_bundle)

    assert run.returncode != 0 and failed, run.output[-3000:]
    if record_mode:
        record("pip_no_ca.json" if record_mode == "no-ca" else "pip_missing_version.json", failed["compose"])
    assert failed["task"] == RESCUE_TASK, failed
    msg = failed["result"]["msg"]
    if record_mode == "no-ca":
        return
    assert msg.startswith("The app's image did not build: step [inventory 3/5] RUN set -eu; python3 -m venv"), msg
    assert "failed (exit code 1). Its last lines:\n" in msg
    assert f"ERROR: Could not find a version that satisfies the requirement {MISSING_PIN}" in msg
    assert msg.rstrip().endswith(f"ERROR: No matching distribution found for {MISSING_PIN}"), msg
    assert len(msg.splitlines()) <= 11
    assert "executor failed running" not in msg and "did not complete successfully" not in msg
    # The module's raw output (BuildKit's JSON stream) stays hidden without -vv; the token never shows.
    assert '"vertexes"' not in run.output
    assert TOKEN not in run.output
