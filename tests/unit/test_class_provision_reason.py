"""A VM's provisioning record -> the report's reason: the cause Ansible's error names, not the symptom."""

from __future__ import annotations

import pytest
from ansible.module_utils.lab.vocabulary import GRADER_VERDICTS
from ansible.module_utils.report import class_report as cr
from ansible.module_utils.report.provision import REASONS, provision_reason

# Ansible's own messages (ssh connection plugin, become, community.docker's compose build), as class.yml records them.
SSH = "Failed to connect to the host via ssh: "


@pytest.mark.parametrize(
    ("status", "msg", "reason"),
    [
        ("unreachable", SSH + "Host key verification failed.", "host_key_unknown"),
        (
            "unreachable",
            SSH + "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
            "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n"
            "Host key for 172.28.14.10 has changed and you have requested strict checking.\r\n"
            "Host key verification failed.",
            "host_key_changed",
        ),
        ("unreachable", SSH + "centos@172.28.14.12: Permission denied (publickey).", "ssh_key_refused"),
        ("failed", "Missing sudo password", "become_password_missing"),
        ("failed", "Incorrect sudo password", "become_password_wrong"),
        (
            "failed",
            "Error response from daemon: toomanyrequests: You have reached your unauthenticated pull rate limit.",
            "registry_rate_limited",
        ),
        ("unreachable", SSH + "connect to host 172.28.14.13 port 22: Connection refused", "vm_unreachable"),
        (
            "failed",
            "step [inventory 3/5] RUN pip install: WARNING: Retrying after connection broken by "
            "'429 Too Many Requests' (5 such lines)",
            "provision_failed",
        ),
        ("unreachable", "The VM stopped answering during the role", "vm_unreachable"),
        ("failed", "compose file /home/centos/lab10/docker-compose.yml, line 4: not valid YAML", "provision_failed"),
    ],
)
def test_the_cause_in_the_error_names_the_reason(status, msg, reason):
    assert provision_reason({"status": status, "step": "connect", "msg": msg}) == reason


@pytest.mark.parametrize("status", ["ok", "skipped", None])
def test_a_provisioning_that_did_not_fail_has_no_reason(status):
    assert provision_reason({"status": status, "msg": "Host key verification failed"}) is None


@pytest.mark.parametrize("reason", REASONS)
def test_every_provisioning_reason_has_words_and_a_fix(reason):
    assert GRADER_VERDICTS[reason].msg and GRADER_VERDICTS[reason].fix


@pytest.mark.parametrize(
    ("reason", "must_say", "must_not_say"),
    [
        ("ssh_key_refused", "authorized_keys", "Start the VM"),
        ("host_key_unknown", "bin/lab10 trust", "Start the VM"),
        ("become_password_missing", "-K", "Start the VM"),
        ("registry_rate_limited", "class_base_image=registry.hpc.ut.ee/mirror/", "Start the VM"),
        ("registry_rate_limited", "docker login on the VM", "Start the VM"),
    ],
)
def test_a_cause_gets_its_own_fix_not_start_the_vm(reason, must_say, must_not_say):
    fix = cr.describe(reason, {"step": "connect"})["fix"]
    assert must_say in fix and must_not_say not in fix


def test_the_report_and_its_junit_name_the_cause():
    step = "Check that the VM answers and runs modules"
    provision = {"status": "failed", "step": step, "msg": "Missing sudo password"}
    report = cr.build_report(
        [], [{"host": "vm", "vm_name": "vm", "service": "inventory.vm.sysadm.ee", "provision": provision}],
        ["vm"], "20261125T120000Z", "2026-11-25T12:00:00Z", "http://jaeger:16686", "7d",
        {"operation": "validate_inventory_cache", "parent_operation": "GET /api/v1/inventory", "min_duration_ms": 300},
    )  # fmt: skip
    (entry,) = report["students"]
    assert (entry["status"], entry["reason"]) == ("error", "become_password_missing")
    assert "-K" in entry["fix"]
    (suite,) = cr.junit(report)["suites"]
    assert suite["cases"][0]["type"] == "become_password_missing"
