"""The kit under the engines instructors use beyond one control node: ansible-runner (what AWX / Automation
Controller run a job with) and ansible-builder (execution-environment.yml, the image those run it in).

ansible-runner runs class.yml and grade.yml with the kit as the project (private_data_dir/project is a link to
the kit, no ANSIBLE_CONFIG: runner runs the playbook from the project, so the kit's ansible.cfg is the one in
the current folder) and a roster as the inventory, and must leave the same report files as a direct run, plus
runner's own artifacts. No container and nothing provisioned: one VM behind a closed port (unreachable) and
one that answers but runs no module (failed at the first task), so the role never runs; a Jaeger that does not
answer (the report says so for every student, and the run exits 2)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REPORT_FILES = ["failed.txt", "junit.xml", "report.html", "report.json", "report.md"]
ROSTER = "vm_name,student,email\ndown-vm,Dana,dana@example.org\ndead-vm,Dean,dean@example.org\n"
# How the test reaches them (a class's VMs take the roster's defaults: SSH to <vm_name>.<domain>): host_vars
# beside the roster, as an instructor would override one VM's address.
HOST_VARS = {
    "down-vm": {"ansible_host": "127.0.0.1", "ansible_port": 1},
    "dead-vm": {"ansible_connection": "local", "ansible_python_interpreter": "/nonexistent/python3"},
}
SETTINGS = {"class_jaeger_url": "http://127.0.0.1:1", "class_grade_timeout": 3}
# A user's shell with the venv first on PATH (runner starts ansible-playbook from PATH): no ANSIBLE_* of the
# test run's (make exports ANSIBLE_CONFIG, which would hide whether runner finds the kit's ansible.cfg).
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")} | {
    "NO_COLOR": "1",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
}


def write_roster(folder: Path) -> None:
    (folder / "host_vars").mkdir(parents=True)
    (folder / "roster.csv").write_text(ROSTER)
    for vm, hostvars in HOST_VARS.items():
        (folder / "host_vars" / f"{vm}.yml").write_text(yaml.safe_dump(hostvars))


def private_data_dir(base: Path, reports: Path) -> Path:
    """ansible-runner's input directory: the kit as the project, the roster as the inventory, the class's
    settings as extra vars."""
    pdd = base / "runner"
    (pdd / "inventory").mkdir(parents=True)
    (pdd / "env").mkdir()
    (pdd / "project").symlink_to(ROOT)
    write_roster(pdd / "inventory")
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({**SETTINGS, "class_report_dir": str(reports)}))
    return pdd


def runner(pdd: Path, playbook: str, ident: str) -> subprocess.CompletedProcess:
    command = [str(BIN / "ansible-runner"), "run", str(pdd), "-p", f"playbooks/{playbook}.yml", "--ident", ident]
    return subprocess.run(command, cwd=pdd.parent, env=ENV, capture_output=True, text=True, timeout=600)


def direct(folder: Path, playbook: str, reports: Path) -> subprocess.CompletedProcess:
    """The same class run by hand, through the kit's wrapper from the instructor's folder."""
    if not (folder / "roster.csv").exists():
        write_roster(folder)
    settings = [arg for key, value in SETTINGS.items() for arg in ("-e", f"{key}={value}")]
    command = [str(ROOT / "bin" / "lab10"), playbook, "-i", "roster.csv", *settings,
               "-e", f"class_report_dir={reports}"]  # fmt: skip
    return subprocess.run(command, cwd=folder, env=ENV, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """class.yml then grade.yml, through ansible-runner and directly (the two sequences at once)."""
    base = tmp_path_factory.mktemp("runner")
    pdd = private_data_dir(base, base / "runner-reports")

    def through_runner() -> dict:
        return {playbook: runner(pdd, playbook, ident=playbook) for playbook in ("class", "grade")}

    def by_hand() -> dict:
        return {playbook: direct(base / "folder", playbook, base / "direct-reports") for playbook in ("class", "grade")}

    with ThreadPoolExecutor(2) as pool:
        ran, hand = pool.submit(through_runner), pool.submit(by_hand)
        return {"pdd": pdd, "base": base, "runner": ran.result(), "direct": hand.result()}


def reports(root: Path) -> list[Path]:
    """Every run directory under a class_report_dir, oldest first."""
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.is_symlink())


def comparable(report: dict) -> dict:
    """What a report says of each student, in its order, without what differs from run to run (times, run ids,
    paths)."""
    return [
        {
            "vm_name": s["vm_name"],
            "status": s["status"],
            "reason": s["reason"],
            "provision": {k: s.get("provision", {}).get(k) for k in ("status", "step")},
            "checks": [(c["name"], c["ok"]) for c in s.get("checks", [])],
        }
        for s in report["students"]
    ]


def junit_cases(path: Path) -> list[tuple]:
    root = ET.parse(path).getroot()  # noqa: S314 -- a report this test had written
    return sorted(
        (case.get("classname"), case.get("name"), tuple(sorted(child.tag for child in case)))
        for case in root.iter("testcase")
    )


@pytest.mark.parametrize("playbook", ["class", "grade"])
def test_runner_leaves_its_own_artifacts(runs, playbook):
    artifacts = runs["pdd"] / "artifacts" / playbook
    out = runs["runner"][playbook]
    assert (artifacts / "rc").read_text() == "2", out.stdout[-3000:] + out.stderr  # Jaeger did not answer
    assert (artifacts / "status").read_text() == "failed"
    assert out.returncode == 2
    assert "students passed" in (artifacts / "stdout").read_text()
    assert any((artifacts / "job_events").iterdir())


def test_runner_runs_the_playbook_from_the_kit_with_the_kits_ansible_cfg(runs):
    command = json.loads((runs["pdd"] / "artifacts" / "class" / "command").read_text())
    assert Path(command["cwd"]).resolve() == ROOT
    assert "ANSIBLE_CONFIG" not in command["env"]
    # The roster plugin and kit_hosts are the kit's ansible.cfg's: without it no roster host, and kit_hosts fails.
    events = [json.loads(p.read_text()) for p in (runs["pdd"] / "artifacts" / "class" / "job_events").iterdir()]
    hosts = {e["event_data"].get("host") for e in events if e["event"] == "runner_on_ok"}
    assert {"down-vm", "dead-vm"} <= hosts


@pytest.mark.parametrize("playbook", ["class", "grade"])
def test_runner_and_a_direct_run_write_the_same_report(runs, playbook):
    index = ["class", "grade"].index(playbook)
    base = runs["base"]
    through = reports(base / "runner-reports")[index]
    by_hand = reports(base / "direct-reports")[index]
    assert sorted(p.name for p in through.iterdir()) == sorted(p.name for p in by_hand.iterdir()) == REPORT_FILES
    ours, theirs = (json.loads((d / "report.json").read_text()) for d in (through, by_hand))
    assert comparable(ours) == comparable(theirs)
    # class.yml records the provisioning (grade.yml does none): in the roster's order.
    provisioned = {"class": ["unreachable", "failed"], "grade": ["skipped", "skipped"]}[playbook]
    assert [(s["vm_name"], s["provision"]["status"]) for s in ours["students"]] == list(
        zip(["down-vm", "dead-vm"], provisioned, strict=True)
    )
    assert (through / "failed.txt").read_text() == (by_hand / "failed.txt").read_text() == "down-vm\ndead-vm\n"
    assert junit_cases(through / "junit.xml") == junit_cases(by_hand / "junit.xml")
    assert runs["runner"][playbook].returncode == runs["direct"][playbook].returncode


def test_the_summary_under_runner_says_how_to_re_run_the_failed(runs):
    stdout = (runs["pdd"] / "artifacts" / "class" / "stdout").read_text()
    assert "0 of 2 students passed" in stdout
    command = re.search(r"Re-run only the 2 failed .*?: (\S+/bin/lab10 class .*)$", stdout, re.M)
    assert command, stdout[-3000:]
    assert f"-i {runs['pdd'] / 'inventory'}" in command.group(1)


def ee_definition() -> dict:
    return yaml.safe_load((ROOT / "execution-environment.yml").read_text())


def pins(path: Path) -> dict[str, str]:
    """{normalized name: version} of a pip requirements file's `name==version` lines."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version.strip()
    return found


def setup_installs() -> tuple[list[str], list[str]]:
    """The files `make setup` installs from: pip's -r files and ansible-galaxy's, read from scripts/setup.sh."""
    script = (ROOT / "scripts" / "setup.sh").read_text()
    app_pins = re.search(r"^APP_PINS=(\S+)$", script, re.M).group(1)
    pip = next(line for line in script.splitlines() if 'pip" install' in line and " -r " in line)
    words = shlex.split(pip.replace("$APP_PINS", app_pins))
    pip_files = [word for before, word in zip(words, words[1:], strict=False) if before == "-r"]
    galaxy = re.search(r"ansible-galaxy\" collection install .*?-r (\S+)", script, re.S).group(1)
    return pip_files, [galaxy]


def test_the_ee_requirement_files_are_the_ones_make_setup_installs():
    deps = ee_definition()["dependencies"]
    pip_files, galaxy_files = setup_installs()
    assert deps["python"] in pip_files, pip_files  # a file of setup's, not a list of its own
    assert deps["galaxy"] in galaxy_files
    # The app's own pins run on the lab VMs; the controller's Python is requirements.txt.
    assert pip_files == ["requirements.txt", "roles/inventory_api/files/app/requirements.txt"]
    assert deps["python"] == "requirements.txt"


def test_the_ee_has_no_requirement_list_of_its_own():
    deps = ee_definition()["dependencies"]
    assert all(isinstance(deps[key], str) for key in ("python", "galaxy"))
    # ansible-core and ansible-runner come pinned with requirements.txt; the base stage's are unpinned.
    assert "==" not in deps["ansible_core"]["package_pip"] and "==" not in deps["ansible_runner"]["package_pip"]
    assert {"ansible-core", "ansible-runner", "ansible-builder"} <= set(pins(ROOT / "requirements.txt"))


@pytest.fixture(scope="module")
def build_context(tmp_path_factory) -> Path:
    """ansible-builder create: the Containerfile and its build context, written offline (no image built)."""
    context = tmp_path_factory.mktemp("ee") / "context"
    out = subprocess.run(
        [
            str(BIN / "ansible-builder"),
            "create",
            "-f",
            str(ROOT / "execution-environment.yml"),
            "-c",
            str(context),
            "--output-filename",
            "Containerfile",
        ],  # fmt: skip
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return context


def test_ansible_builder_accepts_the_ee_and_writes_a_build_context(build_context):
    containerfile = (build_context / "Containerfile").read_text()
    base_image = ee_definition()["images"]["base_image"]["name"]
    assert f'ARG EE_BASE_IMAGE="{base_image}"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    assert "ansible-galaxy collection install" in containerfile and "introspect" in containerfile


def test_the_build_context_carries_setups_requirements_unchanged(build_context):
    built = build_context / "_build"
    assert pins(built / "requirements.txt") == pins(ROOT / "requirements.txt")
    assert yaml.safe_load((built / "requirements.yml").read_text()) == yaml.safe_load(
        (ROOT / "requirements.yml").read_text()
    )
    assert "openssh-clients" in (built / "bindep.txt").read_text()
