# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kit's one way to write a file: atomically, with owner, group and mode, for every module that writes one
(the role inventory_api's inventory_api_files, class_report_files).

A temporary file beside the target (0600 from mkstemp), written and synced, validated when asked, the old file
backed up when asked (a hard link: complete or absent), then AnsibleModule.atomic_move (SELinux context, the
old file's attributes) and the attributes asked for. The rename runs under umask 077: atomic_move gives a new
file the umask's mode, and the file is never readable by others before its mode is set. Interrupted (SIGHUP,
SIGINT, SIGTERM) before the rename, the target stays as it was with no temporary file and no backup.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import tempfile
import time


class WriteError(Exception):
    """The file is left as it was; .context holds what the module's result should say too (rc, stderr, ...)."""

    def __init__(self, msg, **context):
        super().__init__(msg)
        self.msg = msg
        self.context = context


class Interrupted(BaseException):
    """A signal that ends the run (a BaseException: run_command's `except Exception` must not swallow it)."""


def _interrupted(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


# Ctrl-C on the controller reaches a module as SIGHUP when Ansible runs it through `ssh -tt` (no pipelining),
# a VM shutting down sends SIGTERM: either way the target stays as it was and no file of this run is left.
INTERRUPTS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


def backup_by_link(module, path):
    """The backup in one step, a hard link: complete or absent, never half copied. A copy where links fail."""
    backup = f"{path}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S~')}"
    try:
        os.link(path, backup)
    except OSError:
        return module.backup_local(path)
    return backup


def _move(module, tmp, path):
    old = os.umask(0o077)
    try:
        module.atomic_move(tmp, path)
    finally:
        os.umask(old)


def write_atomically(module, path, data, mode=None, owner=None, group=None, validate=None, backup=False):
    """Make `path` hold `data` (bytes) with that owner, group and mode (None: as they are, or the defaults).

    validate: a command with %s for the new file's path, run before the rename. Returns the backup's path or
    None; raises WriteError when the file is left as it was.
    """
    previous = {number: signal.signal(number, _interrupted) for number in INTERRUPTS}
    tmp = saved = None
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        problem = None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            problem = WriteError(f"cannot write {tmp}: {exc}")
        if problem is None and validate:
            rc, out, err = module.run_command(validate % shlex.quote(tmp))
            if rc != 0:
                problem = WriteError(f"{path} is left as it was: failed to validate the new content",
                                     rc=rc, stdout=out, stderr=err, validate=validate)  # fmt: skip
        if problem is None and backup and os.path.exists(path):
            saved = backup_by_link(module, path)
        if problem is None:
            _move(module, tmp, path)
            attributes = {"path": path, "mode": mode, "owner": owner, "group": group}
            module.set_fs_attributes_if_different(module.load_file_common_arguments(attributes, path=path), False)
            return saved
    except Interrupted as exc:
        if tmp and not os.path.lexists(tmp):  # renamed: the new content is in place, the backup is needed
            return saved
        problem = WriteError(f"{path} is left as it was: interrupted by {exc}")
        if saved:
            with contextlib.suppress(OSError):
                os.unlink(saved)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if tmp:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    raise problem
