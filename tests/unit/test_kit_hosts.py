"""kit_hosts: a kit play that would match no host fails with the reason, instead of Ansible's skip and exit 0."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "filter"))
import kit_hosts as kh  # noqa: E402

GROUPS = {"all": ["vm-a", "vm-b", "jaeger"], "lab_vms": ["vm-a", "vm-b"], "section_a": ["vm-a"], "other": ["jaeger"]}


@pytest.mark.parametrize(
    ("limit", "hosts"),
    [
        ("", set()),
        ("vm-a", {"vm-a"}),
        ("vm-a,vm-b", {"vm-a", "vm-b"}),
        ("section_a:other", {"vm-a", "jaeger"}),
        ("unknown-host", {"unknown-host"}),
        ("vm-*", None),
        ("lab_vms:!vm-a", None),
        ("lab_vms:&section_a", None),
        ("lab_vms[0]", None),
        ("~vm-.*", None),
    ],
)
def test_limited_hosts_by_name_or_none_for_a_pattern(limit, hosts):
    assert kh.limited_hosts(limit, GROUPS) == hosts


def test_limited_hosts_reads_an_at_file_relative_to_the_run(tmp_path):
    (tmp_path / "failed.txt").write_text("vm-b\n\n")
    assert kh.limited_hosts("@failed.txt", GROUPS, cwd=str(tmp_path)) == {"vm-b"}


def test_limited_hosts_of_an_at_file_with_a_pattern_is_no_verdict(tmp_path):
    (tmp_path / "failed.txt").write_text("vm-*\n")
    assert kh.limited_hosts("@failed.txt", GROUPS, cwd=str(tmp_path)) is None


def test_limited_hosts_of_a_missing_at_file_is_no_verdict(tmp_path):
    assert kh.limited_hosts("@nothere.txt", GROUPS, cwd=str(tmp_path)) is None


def test_no_lab_vm_without_the_kits_config_names_the_wrapper():
    reason = kh.why_no_host("lab_vms", {"all": []}, None, ["/home/me/roster.csv"], "")
    assert "did not read the kit's ansible.cfg (it read none)" in reason
    assert f"{kh.WRAPPER} grade -i roster.csv" in reason and f"ANSIBLE_CONFIG={kh.KIT_CONFIG}" in reason


def test_no_lab_vm_with_the_kits_config_names_the_inventory():
    reason = kh.why_no_host("lab_vms", {"all": []}, kh.KIT_CONFIG, ["/kit/inventory.ini"], "")
    assert reason.startswith("No host in group lab_vms in the inventory (/kit/inventory.ini)")
    assert "[lab_vms]" in reason


def test_a_limit_outside_the_group_is_named():
    assert kh.why_no_host("lab_vms", GROUPS, kh.KIT_CONFIG, [], "other") == (
        "--limit other leaves no host of group lab_vms (it has 2): check the limit."
    )


@pytest.mark.parametrize("limit", ["", "vm-a", "section_a", "vm-*", "jaeger,vm-b"])
def test_a_play_that_matches_hosts_passes(limit):
    assert kh.why_no_host("lab_vms", GROUPS, "/elsewhere/ansible.cfg", [], limit) == ""


def test_the_filter_returns_the_group_or_raises_the_reason():
    assert kh.kit_hosts("lab_vms", GROUPS) == "lab_vms"
    with pytest.raises(kh.AnsibleFilterError, match="No host in group lab_vms"):
        kh.kit_hosts("lab_vms", {"all": []}, config=None)
