#!/usr/bin/env python3
"""The sample class report of docs/sample-report/ (`make docs`): report.html, report.md, report.json and report.png.

A class of 17 (CLASS below): the Jaeger answer is recorded from a real Jaeger (jaeger_answer.json, `--record`:
one trace per student as their app would send it, then the real jaeger_trace module over the class, with the
course's UI for the links); the provisioning records are class.yml's, with the messages Ansible, sudo and the
role give (the registry's from the role's own filter); two VMs carry the doctor's evidence recorded on the test
bed (tests/fixtures/doctor/). The report is rendered by the role's own report tasks (tests/fixtures/class/
render.yml: the module class_report and templates/class_report.*), with a fixed run and time, so a test can
regenerate it and compare bytes (tests/cli/test_sample_report.py). report.png is headless Chromium's screenshot
of report.html; report.png.source holds the sha256 of the report.html it was taken from.

    .venv/bin/python scripts/gen_sample_report.py                 # docs/sample-report/, with the screenshot
    .venv/bin/python scripts/gen_sample_report.py --out DIR --no-png
    .venv/bin/python scripts/gen_sample_report.py --record        # re-record jaeger_answer.json (test bed's Jaeger)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "docs" / "sample-report"
ANSWER = SAMPLE / "jaeger_answer.json"
FIXTURES = ROOT / "tests" / "fixtures" / "class"
RUN = "20261125T120000Z"  # render.yml's fixed run and time
REPORTS = ("report.html", "report.md", "report.json")
UI_URL = "https://jaeger.sysadm.ee"
SSH = "Failed to connect to the host via ssh: "
SUDO_STEP = "Check that the VM answers and runs modules"
BUILD_STEP = "Say why the inventory service did not build or start"
ROUTE = "GET /health"

# vm_name, student, section, what their app sends (emit_trace's keywords, `service` for a typo; None: nothing),
# class.yml's provisioning record (None: the student set the VM up), the doctor's recorded evidence (or None).
CLASS = (
    ("aarne", "Aarne Põld", "Tue 10-12", {"child_ms": 301}, None, None),
    ("birgit", "Birgit Kask", "Tue 10-12", {"child_ms": 318}, "ok", None),
    ("carmen", "Carmen Lill", "Tue 10-12", {"child_ms": 305}, None, None),
    ("dmitri", "Dmitri Ivanov", "Tue 10-12", {"child_ms": 322}, "ok", None),
    ("eliise", "Eliise Tamm", "Tue 10-12", {"child_ms": 452}, None, None),
    ("frank", "Frank Mets", "Tue 10-12", {"child_ms": 310}, None, None),
    ("gerli", "Gerli Saar", "Wed 14-16", {"child_ms": 320}, "ok", None),
    ("hannes", "Hannes Rebane", "Wed 14-16", {"child_ms": 303}, None, None),
    ("ingrid", "Ingrid Kuusk", "Wed 14-16", {"child_ms": 40}, None, None),
    ("joosep", "Joosep Org", "Wed 14-16", {"child_ms": 120}, "ok", "healthy"),
    ("kaisa", "Kaisa Lepp", "Wed 14-16", {"child": None}, None, None),
    ("lauri", "Lauri Vaher", "Wed 14-16", {"parent": ROUTE}, None, None),
    ("maria", "Maria Sepp", "Wed 14-16", {"service": "inventory-maria.sysadm.ee"}, None, None),
    ("nikolai", "Nikolai Petrov", "Thu 12-14", None, "ssh_key_refused", None),
    ("oskar", "Oskar Kivi", "Thu 12-14", None, "become_password_missing", None),
    ("piret", "Piret Raud", "Thu 12-14", None, "registry_rate_limited", None),
    ("reet", "Reet Mänd", "Thu 12-14", None, "ok", "wrong_port"),
)


def service(vm_name: str) -> str:
    """The lab's service-name rule (module_utils/lab/criteria.py, self-contained: loaded from its file)."""
    spec = importlib.util.spec_from_file_location("lab10_criteria", ROOT / "module_utils" / "lab" / "criteria.py")
    criteria = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(criteria)
    return criteria.service_name(vm_name)


def provision_record(kind: str | None, vm_name: str) -> dict | None:
    """class.yml's record of a VM: status, the failed step and Ansible's message, as provision.yml writes it."""
    if kind is None:
        return None
    if kind == "ok":
        return {"status": "ok", "step": "", "msg": ""}
    if kind == "ssh_key_refused":
        msg = f"{SSH}centos@{vm_name}.sysadm.ee: Permission denied (publickey,gssapi-keyex,gssapi-with-mic)."
        return {"status": "unreachable", "step": "connect", "msg": msg}
    if kind == "become_password_missing":
        return {"status": "failed", "step": SUDO_STEP, "msg": "Missing sudo password"}
    sys.path.insert(0, str(ROOT / "roles" / "inventory_api" / "filter_plugins"))
    from build_error import rate_limit_message  # the role's own words for Docker Hub's refusal

    return {"status": "failed", "step": BUILD_STEP, "msg": rate_limit_message("python:3.11-slim")}


def write_inventory(folder: Path) -> tuple[Path, Path]:
    """The class as class.yml leaves it: the roster CSV and each VM's provisioning record and evidence."""
    roster = folder / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["vm_name", "student", "email", "section"])
        for vm_name, student, section, *_rest in CLASS:
            writer.writerow([vm_name, student, f"{vm_name}@example.edu", section])
    hosts = {}
    for vm_name, _student, _section, _sent, kind, evidence in CLASS:
        host = {}
        if kind is not None:
            host["class_provision"] = provision_record(kind, vm_name)
        if evidence:
            host["doctor_fixture"] = evidence
        if host:
            hosts[vm_name] = host
    records = folder / "provision.yml"
    records.write_text(json.dumps({"lab_vms": {"hosts": hosts}}, indent=1, ensure_ascii=False) + "\n")
    return roster, records


def render(out: Path) -> None:
    """report.html, report.md and report.json as the role writes them, copied to `out`."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        roster, records = write_inventory(folder)
        # The kit's ansible.cfg alone: no setting of the caller's environment changes the files.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "LAB10_"))}
        env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), NO_COLOR="1")
        command = [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i", str(roster), "-i", str(records), str(FIXTURES / "render.yml"),
            "-e", f"class_fixture={ANSWER}", "-e", f"class_report_dir={folder / 'reports'}",
        ]  # fmt: skip
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"rendering the sample report failed:\n{done.stdout[-3000:]}{done.stderr}")
        out.mkdir(parents=True, exist_ok=True)
        for name in REPORTS:
            shutil.copyfile(folder / "reports" / RUN / name, out / name)
            (out / name).chmod(0o644)


def html_digest(html: Path) -> str:
    return hashlib.sha256(html.read_bytes()).hexdigest()


def screenshot(out: Path, width: int = 1280, height: int = 1700) -> None:
    """report.png: headless Chromium's picture of report.html, and report.png.source (the page's sha256)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("report.png needs Debian's chromium: apt-get install -y chromium fonts-dejavu-core (as root)")
    html, png = out / "report.html", out / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        command = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            f"--user-data-dir={profile}", "--force-device-scale-factor=1", f"--window-size={width},{height}",
            f"--screenshot={png}", html.as_uri(),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not png.exists():
        sys.exit(f"chromium made no screenshot:\n{done.stderr[-2000:]}")
    (out / "report.png.source").write_text(f"{html_digest(html)}  report.html\n")


def record() -> None:
    """jaeger_answer.json: each student's trace sent to a Jaeger of our own, then the class graded in one call."""
    sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "scripts")]
    from otlp import emit_trace
    from record_class_fixture import CRITERIA, run_module
    from testbed_lib.local_jaeger import LocalJaeger

    with LocalJaeger() as jaeger:
        for vm_name, _student, _section, sent, _kind, _evidence in CLASS:
            if sent is not None:
                emit_trace(jaeger.otlp_url, **{"service": service(vm_name), **sent})
        time.sleep(2)  # past Jaeger's ingestion
        services = [service(vm_name) for vm_name, *_rest in CLASS]
        answer = run_module({"url": jaeger.query_url, "ui_url": UI_URL, "services": services, **CRITERIA})
    # The recording Jaeger's own address stays out: the module was asked as http://localhost:16686 would be.
    text = json.dumps(answer, indent=1, sort_keys=True, ensure_ascii=False).replace(
        jaeger.query_url, "http://localhost:16686"
    )
    ANSWER.write_text(text + "\n")
    print(f"recorded {answer.get('summary')} in {ANSWER}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=SAMPLE, help="where the files go (default docs/sample-report)")
    parser.add_argument("--no-png", action="store_true", help="only report.html, report.md and report.json")
    parser.add_argument("--record", action="store_true", help="re-record jaeger_answer.json first (needs Jaeger)")
    args = parser.parse_args()
    if args.record:
        record()
    render(args.out)
    if not args.no_png:
        screenshot(args.out)
    print(f"sample report in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
