"""playbooks/trust.yml on a lab VM over its real sshd: a new controller (no known_hosts yet) trusts the VM once with
its fingerprints shown, a second run changes nothing, and a changed host key is never replaced."""

from __future__ import annotations

import os
import subprocess

import pytest
from playbook_run import ROOT
from testbed_lib import labvm_ssh

LAB10 = ROOT / "bin" / "lab10"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")} | {"NO_COLOR": "1"}


def trust(folder, known_hosts) -> subprocess.CompletedProcess:
    return subprocess.run([str(LAB10), "trust", "-i", "roster.csv", "-e", f"lab10_known_hosts={known_hosts}"],
                          cwd=folder, env=ENV, capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture
def folder(labvm, tmp_path):
    labvm_ssh.wait_sshd(labvm)
    (tmp_path / "roster.csv").write_text(f"vm_name,host,user\nvm-a,{labvm_ssh.address(labvm)},centos\n")
    return tmp_path


def test_a_new_controller_trusts_the_vm_once_with_its_fingerprints(folder, labvm):
    known_hosts = folder / "ssh" / "known_hosts"  # neither the folder nor the file exists yet
    first = trust(folder, known_hosts)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert "trusted now: " in first.stdout and "SHA256:" in first.stdout
    assert {line.split()[0] for line in known_hosts.read_text().splitlines()} == {labvm_ssh.address(labvm)}
    second = trust(folder, known_hosts)
    assert second.returncode == 0 and "already trusted: " in second.stdout, second.stdout[-3000:]
    assert "changed=0" in second.stdout.split("PLAY RECAP")[-1]


def test_a_changed_host_key_is_refused_and_kept(folder, labvm, tmp_path_factory):
    other = labvm_ssh.make_key(tmp_path_factory.mktemp("other"))
    address = labvm_ssh.address(labvm)
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"{address} {other.with_suffix('.pub').read_text().split()[0]} "
                           f"{other.with_suffix('.pub').read_text().split()[1]} a comment\n")  # fmt: skip
    before = known_hosts.read_text()
    out = trust(folder, known_hosts)
    assert out.returncode != 0
    assert "with another host key" in out.stdout and "ssh-keygen -R" in out.stdout
    assert known_hosts.read_text() == before
