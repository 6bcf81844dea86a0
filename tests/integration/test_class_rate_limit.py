"""class.yml on a lab VM whose own Docker daemon is refused by a registry's pull rate limit.

The class chooses its base image once (class_base_image, given with -e as the instructor does) and it names a
registry that has used up its limit: the test bed's nginx (GATE_IMAGE) answering as Docker Hub then
(tests/fixtures/registry/rate-limited-nginx.conf: HTTP 429, TOOMANYREQUESTS), run in the lab VM's network namespace so
that the VM's daemon pulls from it as localhost:5999 (a loopback registry may be plain HTTP without daemon.json).
Nothing of the kit is stood in for: the VM's real daemon and compose fail the build, the role says why, the class
records it and the report names the cause with its fix. No registry stands behind the limit: a refused pull never gets
past it.
"""

from __future__ import annotations

import io
import json
import tarfile
import time

import pytest
import yaml
from labvms import LABEL, LabVMs
from playbook_run import ROOT, run_playbook
from testbed_lib.local_jaeger import LocalJaeger

pytestmark = pytest.mark.docker

NGINX_CONF = ROOT / "tests" / "fixtures" / "registry" / "rate-limited-nginx.conf"
REGISTRY = "localhost:5999"
CLASS_IMAGE = f"{REGISTRY}/mirror/library/python:3.11-slim"
MANIFEST = "/v2/mirror/library/python/manifests/3.11-slim"
TOKEN = "integration-not-a-secret-5d1c"
RESCUE_TASK = "Say why the inventory service did not build or start"


def in_vm(vm, script: str) -> tuple[int, str]:
    result = vm.exec_run(["sh", "-c", script])
    return result.exit_code, result.output.decode(errors="replace").strip()


@pytest.fixture(scope="module")
def booted_vm(docker_client, images):
    """A lab VM booted with its Docker engine up, and no image in it (nothing to build from but a pull)."""
    vms = LabVMs(docker_client, images)
    try:
        yield boot(vms.start())
    finally:
        vms.remove_all()


def boot(labvm):
    code, out = in_vm(
        labvm,
        "systemctl is-system-running --wait >/dev/null; "
        "for i in $(seq 90); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1",
    )
    assert code == 0, f"the lab VM's Docker engine did not start: {out[-500:]}"
    return labvm


@pytest.fixture(scope="module")
def rate_limited_registry(docker_client, images, booted_vm):
    """The refusing registry on the lab VM's loopback (its network namespace), removed before the VM."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        conf = NGINX_CONF.read_bytes()
        info = tarfile.TarInfo("nginx.conf")
        info.size, info.mode = len(conf), 0o644
        tar.addfile(info, io.BytesIO(conf))
    container = docker_client.containers.create(
        images["GATE_IMAGE"],
        entrypoint=["nginx", "-g", "daemon off;"],
        name=f"{booted_vm.name}-registry",
        labels=LABEL,
        network_mode=f"container:{booted_vm.id}",
    )
    try:
        container.put_archive("/etc/nginx", archive.getvalue())
        container.start()
        deadline = time.monotonic() + 30
        while in_vm(booted_vm, f"curl -fsS http://{REGISTRY}/v2/")[0] != 0:
            assert time.monotonic() < deadline, container.logs().decode(errors="replace")[-2000:]
            time.sleep(0.3)
        yield container
    finally:
        container.remove(force=True)


@pytest.fixture(scope="module")
def class_jaeger(docker_client, images):
    with LocalJaeger("docker", labels=LABEL) as endpoints:
        yield endpoints


@pytest.fixture(scope="module")
def class_run(tmp_path_factory, booted_vm, rate_limited_registry, class_jaeger, images):
    """class.yml over a roster of that one VM: (the run, report.json, the registry's access log)."""
    tmp_path = tmp_path_factory.mktemp("class")
    vm = booted_vm.name
    roster = tmp_path / "roster.csv"
    roster.write_text(f"vm_name,student,email,section,host,user\n{vm},Rate Limited,limited@example.edu,A,{vm},root\n")
    # The inventory names its own base image: the class's choice must win over it.
    hosts = {
        "all": {
            "hosts": {
                vm: {
                    "ansible_connection": "community.docker.docker",
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "inventory_api_base_image": images["APP_BASE_IMAGE"],
                    "inventory_api_token": TOKEN,
                    "inventory_api_otlp_endpoint": "http://127.0.0.1:4318",
                }
            }
        }
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    reports = tmp_path / "reports"
    run = run_playbook(
        ROOT / "playbooks" / "class.yml",
        *("-i", str(roster), "-i", str(tmp_path / "hosts.yml")),
        *("-e", f"class_base_image={CLASS_IMAGE}", "-e", f"class_jaeger_url={class_jaeger.query_url}"),
        *("-e", f"class_report_dir={reports}", "-e", "class_grade_timeout=0"),
        timeout=600,
    )
    report_file = reports / "latest" / "report.json"
    assert report_file.exists(), run.output[-4000:]
    return run, json.loads(report_file.read_text()), rate_limited_registry.logs().decode(errors="replace")


def test_a_pull_refused_for_the_rate_limit_is_recorded_with_its_own_reason_and_fix(class_run, booted_vm):
    run, report, access_log = class_run
    # The VM's daemon asked the class's registry for the class's image, and was refused.
    assert f'"HEAD {MANIFEST} HTTP/1.1" 429' in access_log or f'"GET {MANIFEST} HTTP/1.1" 429' in access_log, access_log
    assert run.returncode == 0, run.output[-4000:]
    (student,) = report["students"]
    assert (student["vm_name"], student["status"], student["reason"]) == (
        booted_vm.name,
        "error",
        "registry_rate_limited",
    ), student
    assert student["provision"]["status"] == "failed" and student["provision"]["step"] == RESCUE_TASK, student
    assert CLASS_IMAGE in student["provision"]["msg"] and "toomanyrequests" in student["provision"]["msg"], student
    assert "class_base_image" in student["fix"] and "docker login on the VM" in student["fix"], student["fix"]
    assert report["summary"]["reasons"] == {"registry_rate_limited": 1}, report["summary"]
    assert TOKEN not in run.output and TOKEN not in json.dumps(report)


def test_the_rerun_command_keeps_the_class_base_image(class_run):
    run, _report, _log = class_run
    (rerun,) = [line for line in run.stdout.splitlines() if "Re-run only the 1 failed" in line]
    assert f"-e class_base_image={CLASS_IMAGE}" in rerun, rerun
