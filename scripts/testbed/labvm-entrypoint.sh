#!/bin/sh
# Without --privileged, Docker mounts /sys and the cgroup hierarchy read-only; systemd
# and the inner Docker engine need them writable. We hold CAP_SYS_ADMIN with apparmor
# unconfined, so remounting is allowed. Under --privileged this is a no-op.
set -e
mount -o remount,rw /sys 2>/dev/null || true
if [ -d /sys/fs/cgroup ]; then
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  for m in $(awk '$3 ~ /^cgroup2?$/ {print $2}' /proc/self/mounts); do
    # Docker's cgroup mounts are binds: a plain remount reports "busy".
    mount -o remount,bind,rw "$m" 2>/dev/null || mount -o remount,rw "$m" 2>/dev/null || true
  done
fi
exec "$@"
