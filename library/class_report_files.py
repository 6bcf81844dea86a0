#!/usr/bin/python
# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: class_report_files
short_description: Write one run's report files into a new directory and point a C(latest) link at it
description:
  - Creates O(path) (mode C(0750)) and O(path)/O(run), writes every entry of O(files) there atomically
    (a temporary file renamed into place) with O(mode), then replaces the symlink O(path)/O(latest) by one
    pointing at O(run), also atomically, so a reader never sees a half-written report.
  - One module call for all files; the role C(class) uses it for the class report, where writing each file
    with M(ansible.builtin.copy) cost most of the run.
version_added: "1.0.0"
author:
  - lab10 tracing kit team (@sysadm-ee-lab10)
options:
  path:
    description: Directory holding one directory per run.
    type: path
    required: true
  run:
    description: Name of this run's directory, a single path component such as V(20261125T120000Z).
    type: str
    required: true
  files:
    description: File name (a single path component) to its text content, written as UTF-8.
    type: dict
    required: true
  mode:
    description: Mode of the files; the directories get the same with the execute bits of its read bits.
    type: raw
    default: "0640"
  latest:
    description: Name of the symlink in O(path) that points at the newest run; empty for none.
    type: str
    default: latest
attributes:
  check_mode:
    support: full
    description: Reports what it would write and changes nothing.
  diff_mode:
    support: none
    description: The files are new ones in a new directory; there is nothing to compare them with.
notes:
  - A O(latest) that exists and is not a symlink is never replaced; the module fails instead.
"""

EXAMPLES = r"""
- name: Write the report of this run and point reports/latest at it
  class_report_files:
    path: /srv/grading/reports
    run: 20261125T120000Z
    files:
      report.json: "{{ report | to_nice_json }}"
      failed.txt: "student-a\n"
"""

RETURN = r"""
dir:
  description: The run's directory.
  returned: always
  type: str
  sample: /srv/grading/reports/20261125T120000Z
paths:
  description: The files written (or, in check mode, that would be), in the order given.
  returned: always
  type: list
  elements: str
latest:
  description: The symlink pointing at the run's directory, when O(latest) is set.
  returned: when O(latest) is not empty
  type: str
  sample: /srv/grading/reports/latest
"""

import os  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402


class PlanError(ValueError):
    pass


def _component(value, what):
    if not value or value in (".", "..") or "/" in value or "\0" in value:
        raise PlanError(f"{what} must be a single file name, got {value!r}")
    return value


def dir_mode(mode):
    """0640 -> 0750: each read bit of the files also gives its class the directory's execute bit."""
    return mode | ((mode & 0o444) >> 2)


def plan(path, run, files, latest):
    """-> (run directory, [(file path, content)], latest link or None); PlanError naming the bad parameter."""
    run_dir = os.path.join(path, _component(run, "run"))
    writes = [(os.path.join(run_dir, _component(name, "files")), content) for name, content in files.items()]
    link = os.path.join(path, _component(latest, "latest")) if latest else None
    if link and os.path.lexists(link) and not os.path.islink(link):
        raise PlanError(f"{link} exists and is not a symlink: move it away, or set latest to another name")
    return run_dir, writes, link


def write_atomically(dest, content, mode):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(to_bytes(content, errors="surrogate_or_strict"))
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def point(link, target):
    """Make `link` a symlink to `target` (relative), replacing the old link in one rename."""
    tmp = f"{link}.tmp-{os.getpid()}"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "run": {"type": "str", "required": True},
            "files": {"type": "dict", "required": True},
            "mode": {"type": "raw", "default": "0640"},
            "latest": {"type": "str", "default": "latest"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        mode = int(str(p["mode"]), 8)
        if not 0 <= mode <= 0o777:
            raise ValueError
    except ValueError:
        module.fail_json(msg=f"mode must be an octal file mode such as '0640', got {p['mode']!r}")
    try:
        run_dir, writes, link = plan(p["path"], p["run"], p["files"], p["latest"])
    except PlanError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": True, "dir": run_dir, "paths": [write[0] for write in writes]}
    if link:
        result["latest"] = link
    if module.check_mode:
        module.exit_json(**result)
    try:
        for directory in (p["path"], run_dir):
            if not os.path.isdir(directory):
                os.makedirs(directory, exist_ok=True)
                os.chmod(directory, dir_mode(mode))
        for dest, content in writes:
            write_atomically(dest, content, mode)
        if link:
            point(link, os.path.basename(run_dir))
    except OSError as exc:
        module.fail_json(msg=f"cannot write the report in {run_dir}: {exc}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
