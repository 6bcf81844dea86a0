#!/bin/sh
# labvm-ssh: put a running lab VM in the SSH state a test needs. Runs as root inside the VM:
#   docker exec VM labvm-ssh wait [SECONDS]         until sshd runs with this VM's own host keys
#   docker exec VM labvm-ssh authorize-key 'KEY' [USER]   USER (centos) accepts the public key KEY
#   docker exec VM labvm-ssh revoke-keys [USER]     USER (centos) accepts no key: a login is refused
#   docker exec -i VM labvm-ssh sudo-password       centos's sudo asks for a password, read on stdin
#   docker exec VM labvm-ssh sudo-nopasswd          centos's sudo as the image ships it (NOPASSWD)
#   docker exec VM labvm-ssh fingerprints           the host keys' fingerprints, as the VM's console shows them
# A change prints "changed"; the same call again prints nothing (Ansible: changed_when on stdout).
# One source for scripts/testbed_lib/labvm_ssh.py and molecule/shared/tasks/labvm_ssh.yml.
set -eu

SUDOERS=/etc/sudoers.d/centos

home_of() {
  getent passwd "$1" | cut -d: -f6
}

# install_file PATH MODE OWNER: stdin becomes PATH unless PATH already holds exactly that.
install_file() {
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then
    rm -f "$tmp"
    return 0
  fi
  chmod "$2" "$tmp"
  chown "$3" "$tmp"
  mv "$tmp" "$1"
  echo changed
}

# sudoers RULE: centos's sudo rule, checked by visudo before it replaces the old one.
sudoers() {
  rule=$(mktemp)
  printf '%s\n' "$1" >"$rule"
  visudo -cqf "$rule"
  install_file "$SUDOERS" 0440 root:root <"$rule"
  rm -f "$rule"
}

case "${1:-}" in
  wait)
    timeout=${2:-120}
    i=0
    until systemctl is-active --quiet ssh.service && [ -s /etc/ssh/ssh_host_ed25519_key.pub ]; do
      i=$((i + 1))
      if [ "$i" -gt "$((timeout * 5))" ]; then
        echo "labvm-ssh: sshd is not running after ${timeout}s:" >&2
        systemctl status --no-pager ssh-hostkeys.service ssh.service >&2 || true
        exit 1
      fi
      sleep 0.2
    done
    ;;
  authorize-key)
    key=${2:?labvm-ssh authorize-key needs a public key}
    user=${3:-centos}
    home=$(home_of "$user")
    install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
    keys="$home/.ssh/authorized_keys"
    { if [ -f "$keys" ]; then grep -vxF "$key" "$keys" || true; fi; printf '%s\n' "$key"; } | install_file "$keys" 0600 "$user:$user"
    ;;
  revoke-keys)
    user=${2:-centos}
    keys="$(home_of "$user")/.ssh/authorized_keys"
    if [ -e "$keys" ]; then
      rm -f "$keys"
      echo changed
    fi
    ;;
  sudo-password)
    IFS= read -r password || [ -n "${password:-}" ]
    [ -n "${password:-}" ] || { echo "labvm-ssh sudo-password: no password on stdin" >&2; exit 2; }
    # Always set (a hash cannot be compared cheaply); "changed" tells whether sudo's rule changed.
    printf 'centos:%s\n' "$password" | chpasswd
    sudoers 'centos ALL=(ALL) ALL'
    ;;
  sudo-nopasswd)
    sudoers 'centos ALL=(ALL) NOPASSWD:ALL'
    ;;
  fingerprints)
    for pub in /etc/ssh/ssh_host_*_key.pub; do
      ssh-keygen -lf "$pub"
    done
    ;;
  *)
    sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
esac
