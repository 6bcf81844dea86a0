"""A lab VM reached as a course VM is: over SSH, as centos with a key, with sudo.

The lab-VM image (scripts/testbed/labvm.Dockerfile) runs Debian's sshd with root and password logins off;
each VM makes its own host keys at first boot. A fresh VM authorizes no key: it refuses every login until
a key is authorized. The variants a test needs are applied to a running VM by the script the image ships
(scripts/testbed/labvm-ssh.sh), so Python and Ansible do the same thing:

  variant                         Python (this module)                 inside the VM, as root
  (a) centos accepts a key        authorize_key(vm, public_key)        labvm-ssh authorize-key 'KEY'
  (b) sudo asks for a password    require_sudo_password(vm, password)  labvm-ssh sudo-password  (password on stdin)
      sudo back to NOPASSWD       allow_sudo_without_password(vm)      labvm-ssh sudo-nopasswd
  (c) the VM refuses the key      a fresh VM, or revoke_keys(vm)       labvm-ssh revoke-keys
  (d) host key not yet known      a fresh VM and an empty known_hosts file; trust_host_keys() is the
                                  instructor's step: ssh-keyscan, then `ssh-keygen -lf` shows the fingerprints

From Ansible (a molecule prepare, over its docker connection), import molecule/shared/tasks/labvm_ssh.yml, or:

    - name: Authorize the controller's key for centos
      ansible.builtin.command: labvm-ssh authorize-key {{ lookup('ansible.builtin.file', key + '.pub') | quote }}
      register: __lab10_key
      changed_when: "'changed' in __lab10_key.stdout"
    - name: Make centos's sudo ask for a password
      ansible.builtin.command: labvm-ssh sudo-password
      args: {stdin: "{{ sudo_password }}"}
      register: __lab10_sudo
      changed_when: "'changed' in __lab10_sudo.stdout"
      no_log: true

A VM is a container name or id (or anything with .id, e.g. a docker SDK container). The controller reaches it
at address(vm) on its Docker network: the bridge is on this host, no port is published, and nothing but SSH
as centos is used to log in (no docker connection, no root login).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

USER = "centos"
SCRIPT = "labvm-ssh"


def _name(vm) -> str:
    return getattr(vm, "id", vm)


def vm_script(vm, *args: str, stdin: str | None = None, timeout: float = 180) -> str:
    """`docker exec VM labvm-ssh ARGS` (root in the VM); its stdout. Raises with its stderr when it fails."""
    result = subprocess.run(
        ["docker", "exec", "-i", _name(vm), SCRIPT, *args],
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"labvm-ssh {args[0]} on {_name(vm)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def wait_sshd(vm, timeout: float = 120) -> float:
    """Wait until the VM's sshd runs with its own host keys and answers at address(vm):22; seconds waited."""
    started = time.monotonic()
    vm_script(vm, "wait", str(int(timeout)), timeout=timeout + 10)
    wait_banner(address(vm), timeout=max(1.0, timeout - (time.monotonic() - started)))
    return time.monotonic() - started


def authorize_key(vm, public_key: str, user: str = USER) -> bool:
    """(a) user (centos) logs in with public_key (the text of a .pub file). True when that changed the VM."""
    return "changed" in vm_script(vm, "authorize-key", public_key.strip(), user)


def revoke_keys(vm, user: str = USER) -> bool:
    """(c) user authorizes no key: every key login is refused with `Permission denied (publickey)`."""
    return "changed" in vm_script(vm, "revoke-keys", user)


def require_sudo_password(vm, password: str) -> bool:
    """(b) centos's sudo asks for a password (`centos ALL=(ALL) ALL`), and centos's password is `password`."""
    return "changed" in vm_script(vm, "sudo-password", stdin=password + "\n")


def allow_sudo_without_password(vm) -> bool:
    """centos's sudo as the image ships it: `centos ALL=(ALL) NOPASSWD:ALL`."""
    return "changed" in vm_script(vm, "sudo-nopasswd")


def vm_fingerprints(vm) -> list[str]:
    """The VM's host key fingerprints as its console shows them (`ssh-keygen -lf` on each public key)."""
    return vm_script(vm, "fingerprints").splitlines()


def address(vm, network: str | None = None) -> str:
    """The VM's IPv4 address on network (default: its only, or first, network)."""
    fmt = "{{range $name, $net := .NetworkSettings.Networks}}{{$name}} {{$net.IPAddress}}\n{{end}}"
    out = subprocess.run(
        ["docker", "inspect", "--format", fmt, _name(vm)], capture_output=True, text=True, check=True
    ).stdout
    addresses = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
    if network:
        return addresses[network]
    if not addresses:
        raise RuntimeError(f"{_name(vm)} has no IPv4 address")
    return next(iter(addresses.values()))


def make_key(directory: Path, name: str = "id_ed25519") -> Path:
    """A new passphrase-less ed25519 key pair in directory; the private key's path (the public one: + .pub)."""
    path = Path(directory) / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab10-controller", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def wait_banner(host: str, port: int = 22, timeout: float = 60) -> None:
    """Return once host:port sends an SSH banner (sshd, not just an open port); raise after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no SSH banner from {host}:{port} within {timeout:.0f}s")
        time.sleep(0.2)


def scan_host_keys(host: str, port: int = 22, timeout: int = 5) -> str:
    """`ssh-keyscan host`: the host's public keys as known_hosts lines (comments dropped)."""
    result = subprocess.run(
        ["ssh-keyscan", "-T", str(timeout), "-p", str(port), host], capture_output=True, text=True, check=False
    )
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    if not lines:
        raise RuntimeError(f"ssh-keyscan {host}: no host key ({result.stderr.strip()[-300:]})")
    return "\n".join(lines) + "\n"


def fingerprints(known_hosts: str) -> list[str]:
    """`ssh-keygen -lf -` over known_hosts lines: `256 SHA256:... host (ED25519)`, one per key."""
    result = subprocess.run(["ssh-keygen", "-lf", "-"], input=known_hosts, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def trust_host_keys(hosts: list[str], known_hosts: Path, port: int = 22) -> list[str]:
    """The instructor's step on a new class: scan each host's keys into known_hosts; the fingerprints to check."""
    scanned = "".join(scan_host_keys(host, port) for host in hosts)
    with open(known_hosts, "a", encoding="utf-8") as out:
        out.write(scanned)
    return fingerprints(scanned)


def ssh_argv(host: str, key: Path, known_hosts: Path, *command: str, user: str = USER, port: int = 22) -> list[str]:
    """ssh as a course's controller logs in: this key only, no password prompt, known host keys only."""
    return [
        "ssh",
        "-i",
        str(key),
        "-p",
        str(port),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "ConnectTimeout=10",
        "-F",
        "/dev/null",
        f"{user}@{host}",
        *command,
    ]


def ssh(host: str, key: Path, known_hosts: Path, *command: str, user: str = USER, stdin: str = "", timeout=60):
    """Run command on host over SSH (ssh_argv), stdin its input; the CompletedProcess, whatever its exit status."""
    return subprocess.run(
        ssh_argv(host, key, known_hosts, *command, user=user),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
