"""The lab VM is reached as a course VM is: SSH as centos with a key and sudo; no root, no passwords; its
own host keys. The variants the tests of the kit need (scripts/testbed_lib/labvm_ssh.py) do what they say."""

from __future__ import annotations

import subprocess

import pytest
from labvms import LabVMs
from playbook_run import ROOT, run_playbook
from testbed_lib.labvm_ssh import (
    address,
    allow_sudo_without_password,
    authorize_key,
    make_key,
    require_sudo_password,
    revoke_keys,
    ssh,
    ssh_argv,
    trust_host_keys,
    vm_fingerprints,
    wait_sshd,
)

pytestmark = pytest.mark.docker

DENIED = "Permission denied (publickey)."


def public_key(key) -> str:
    return key.with_suffix(".pub").read_text()


@pytest.fixture(scope="module")
def course_vm(docker_client, images, tmp_path_factory):
    """One VM for the checks that leave it as it was: centos accepts the controller's key (as ssh_labvm)."""
    vms = LabVMs(docker_client, images)
    try:
        vm = vms.start()
        wait_sshd(vm)
        key = make_key(tmp_path_factory.mktemp("course-vm-key"))
        authorize_key(vm, public_key(key))
        yield vm, key
    finally:
        vms.remove_all()


@pytest.fixture
def known_hosts(tmp_path):
    """An empty UserKnownHostsFile: the controller has seen no host key yet."""
    path = tmp_path / "known_hosts"
    path.touch()
    return path


@pytest.fixture
def trusted(course_vm, known_hosts):
    """(host, key, known_hosts) with the VM's host keys trusted the instructor's way (ssh-keyscan)."""
    vm, key = course_vm
    host = address(vm)
    trust_host_keys([host], known_hosts)
    return host, key, known_hosts


def fingerprint_hashes(lines: list[str]) -> set[str]:
    """The SHA256:... field of `ssh-keygen -l` lines."""
    return {line.split()[1] for line in lines}


def test_image_holds_no_host_key(images):
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "ls", images["LABVM_IMAGE"], "/etc/ssh"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "sshd_config" in listing
    assert [name for name in listing if name.startswith("ssh_host_")] == []


def test_centos_logs_in_with_the_key_and_uses_sudo_without_password(trusted):
    result = ssh(*trusted, "id -un && sudo -n true && echo sudo-ok")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["centos", "sudo-ok"]


def test_root_login_is_refused_even_with_an_authorized_key(course_vm, trusted):
    vm, key = course_vm
    authorize_key(vm, public_key(key), user="root")
    result = ssh(*trusted, "true", user="root")
    assert result.returncode == 255
    assert DENIED in result.stderr


def test_password_login_is_not_offered(trusted):
    """The server lists the methods it accepts: publickey alone (no password, no keyboard-interactive)."""
    host, key, known_hosts = trusted
    argv = ssh_argv(host, key, known_hosts, "true")
    argv[1:1] = ["-o", "PubkeyAuthentication=no"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 255
    assert DENIED in result.stderr


def test_an_unknown_host_key_fails_verification(course_vm, known_hosts):
    vm, key = course_vm
    result = ssh(address(vm), key, known_hosts, "true")
    assert result.returncode == 255
    assert "Host key verification failed." in result.stderr


def test_trusted_fingerprints_are_the_ones_the_vm_shows(course_vm, known_hosts):
    vm, _ = course_vm
    shown = trust_host_keys([address(vm)], known_hosts)
    assert shown, "no fingerprint shown"
    assert fingerprint_hashes(shown) == fingerprint_hashes(vm_fingerprints(vm))
    assert all(address(vm) in line for line in shown), shown


def test_sudo_asks_for_the_password_it_was_given(course_vm, trusted):
    vm, _ = course_vm
    require_sudo_password(vm, "lab10-sudo-secret")
    try:
        refused = ssh(*trusted, "sudo -n true")
        assert refused.returncode == 1
        assert "a password is required" in refused.stderr
        accepted = ssh(*trusted, "sudo -S -p '' true", stdin="lab10-sudo-secret\n")
        assert accepted.returncode == 0, accepted.stderr
    finally:
        allow_sudo_without_password(vm)


def test_a_fresh_vm_refuses_the_key(start_labvm, controller_key, known_hosts):
    vm = start_labvm()
    wait_sshd(vm)
    trust_host_keys([address(vm)], known_hosts)
    result = ssh(address(vm), controller_key, known_hosts, "true")
    assert result.returncode == 255
    assert DENIED in result.stderr


def test_a_revoked_key_is_refused(ssh_labvm, controller_key, known_hosts):
    trust_host_keys([address(ssh_labvm)], known_hosts)
    assert ssh(address(ssh_labvm), controller_key, known_hosts, "true").returncode == 0
    assert revoke_keys(ssh_labvm)
    result = ssh(address(ssh_labvm), controller_key, known_hosts, "true")
    assert result.returncode == 255
    assert DENIED in result.stderr


def test_every_vm_has_its_own_host_keys(course_vm, start_labvm):
    other = start_labvm()
    wait_sshd(other)
    mine, theirs = (fingerprint_hashes(vm_fingerprints(vm)) for vm in (course_vm[0], other))
    assert len(mine) == len(theirs) == 3, (mine, theirs)
    assert not mine & theirs


def test_host_keys_survive_a_reboot(ssh_labvm):
    before = vm_fingerprints(ssh_labvm)
    ssh_labvm.restart(timeout=30)
    wait_sshd(ssh_labvm)
    assert vm_fingerprints(ssh_labvm) == before


def test_variants_report_a_change_once(ssh_labvm, controller_key):
    """Idempotent, as molecule/shared/tasks/labvm_ssh.yml's changed_when reads them."""
    assert not authorize_key(ssh_labvm, public_key(controller_key))
    assert require_sudo_password(ssh_labvm, "pw-one")
    assert not require_sudo_password(ssh_labvm, "pw-two")
    assert revoke_keys(ssh_labvm)
    assert not revoke_keys(ssh_labvm)


def test_the_molecule_tasks_file_sets_the_state_once(start_labvm, controller_key, known_hosts, tmp_path):
    """molecule/shared/tasks/labvm_ssh.yml over the docker connection, as a prepare runs it; then SSH as centos."""
    vm = start_labvm()
    playbook = tmp_path / "prepare.yml"
    playbook.write_text(
        "- name: Set the SSH state\n  hosts: all\n  gather_facts: false\n  tasks:\n"
        f"    - name: Import it\n      ansible.builtin.import_tasks: {ROOT}/molecule/shared/tasks/labvm_ssh.yml\n"
    )
    settings = {
        "ansible_connection": "community.docker.docker",
        "lab10_ssh_public_key": public_key(controller_key),
        "lab10_ssh_sudo_password": "molecule-sudo-secret",
    }
    first = run_playbook(playbook, "-i", f"{vm.name},", "-vvv", extra_vars=settings)  # -vvv shows module args
    assert first.returncode == 0, first.output[-3000:]
    assert "molecule-sudo-secret" not in first.output
    assert first.stats(vm.name)["changed"] == 2, first.output[-3000:]  # the key, the sudo rule
    again = run_playbook(playbook, "-i", f"{vm.name},", extra_vars=settings)
    assert again.stats(vm.name)["changed"] == 0, again.output[-3000:]

    trust_host_keys([address(vm)], known_hosts)
    result = ssh(address(vm), controller_key, known_hosts, "sudo -n true")
    assert "a password is required" in result.stderr
