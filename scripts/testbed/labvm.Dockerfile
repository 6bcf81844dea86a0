# A container standing in for a course VM: systemd as PID 1, its own Docker engine
# with the compose plugin, python3 for Ansible, sudo, and the user centos.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      systemd systemd-sysv dbus docker.io python3 sudo curl ca-certificates iproute2 procps kmod \
 && rm -rf /var/lib/apt/lists/* \
 # Units that make no sense in a container and only slow the boot down.
 && systemctl mask getty.target systemd-logind.service systemd-udevd.service \
      systemd-udev-trigger.service systemd-modules-load.service sys-kernel-config.mount \
      sys-kernel-debug.mount sys-kernel-tracing.mount systemd-remount-fs.service \
 && systemctl enable docker.service \
 && useradd --create-home --home-dir /home/centos --shell /bin/bash centos \
 && echo 'centos ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/centos && chmod 0440 /etc/sudoers.d/centos
COPY docker-compose /usr/libexec/docker/cli-plugins/docker-compose
COPY labvm-entrypoint.sh /usr/local/sbin/labvm-entrypoint
# Debian's daemon, shaped like a course VM's daemon.json (MTU below the outer bridge's).
COPY labvm-daemon.json /etc/docker/daemon.json
VOLUME ["/var/lib/docker"]
STOPSIGNAL SIGRTMIN+3
ENV container=docker
ENTRYPOINT ["/usr/local/sbin/labvm-entrypoint"]
CMD ["/sbin/init"]
