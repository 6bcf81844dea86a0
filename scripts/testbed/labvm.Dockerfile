# A container standing in for a course VM: systemd as PID 1, its own Docker engine
# with the compose plugin, python3 for Ansible, sudo, the user centos, and sshd as a course VM has it
# (centos logs in with a key, no root login, no passwords; host keys made per VM at first boot).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      systemd systemd-sysv dbus docker.io python3 sudo curl ca-certificates iproute2 procps kmod \
      openssh-server \
 && rm -rf /var/lib/apt/lists/* \
 # Debian's postinst made host keys: gone in the same layer, so no layer of the image holds one.
 && rm -f /etc/ssh/ssh_host_* \
 # Units that make no sense in a container and only slow the boot down.
 && systemctl mask getty.target systemd-logind.service systemd-udevd.service \
      systemd-udev-trigger.service systemd-modules-load.service sys-kernel-config.mount \
      sys-kernel-debug.mount sys-kernel-tracing.mount systemd-remount-fs.service \
 && systemctl enable docker.service ssh.service \
 && useradd --create-home --home-dir /home/centos --shell /bin/bash centos \
 && echo 'centos ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/centos && chmod 0440 /etc/sudoers.d/centos
COPY docker-compose /usr/libexec/docker/cli-plugins/docker-compose
COPY labvm-entrypoint.sh /usr/local/sbin/labvm-entrypoint
# Debian's daemon, shaped like a course VM's daemon.json (MTU below the outer bridge's).
COPY labvm-daemon.json /etc/docker/daemon.json
COPY labvm-sshd.conf /etc/ssh/sshd_config.d/lab10.conf
COPY labvm-ssh-hostkeys.service /etc/systemd/system/ssh-hostkeys.service
# The SSH variants a test applies to a running VM (authorize a key, sudo with a password, ...).
COPY labvm-ssh.sh /usr/local/sbin/labvm-ssh
RUN chmod 0755 /usr/local/sbin/labvm-entrypoint /usr/local/sbin/labvm-ssh \
 && chmod 0644 /etc/ssh/sshd_config.d/lab10.conf /etc/systemd/system/ssh-hostkeys.service \
 && systemctl enable ssh-hostkeys.service
VOLUME ["/var/lib/docker"]
EXPOSE 22
STOPSIGNAL SIGRTMIN+3
ENV container=docker
ENTRYPOINT ["/usr/local/sbin/labvm-entrypoint"]
CMD ["/sbin/init"]
