#!/usr/bin/python
# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: class_report_files
short_description: Write one run's report files into a new directory and point a C(latest) link at it
description:
  - Creates O(path) and O(path)/O(run) (each directory it creates gets O(mode) plus the execute bits of its
    read bits, C(0750) for C(0640)), writes every entry of O(files) there atomically (a temporary file renamed
    into place) with O(mode), then replaces the symlink O(path)/O(latest) by one pointing at O(run), also
    atomically, so a reader never sees a half-written report.
  - With O(claim), it only creates a new, empty run directory and returns its name (RV(run)) -- O(run)
    itself, or O(run) with C(-2), C(-3), ... when a run of the same second already took that name -- so two
    runs never write into the same directory.
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
    default: {}
  mode:
    description:
      - Mode of the files; the directories get the same with the execute bits of its read bits.
      - An octal string such as V("0640"), or a number, taken as it is (YAML reads an unquoted V(0640) as 416,
        which is C(0o640)), as M(ansible.builtin.file) does.
    type: raw
    default: "0640"
  claim:
    description:
      - Create a new run directory named after O(run) and write nothing; O(files) and O(latest) are ignored.
    type: bool
    default: false
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
- name: Claim this run's directory (20261125T120000Z, or 20261125T120000Z-2 if taken)
  class_report_files:
    path: /srv/grading/reports
    run: 20261125T120000Z
    claim: true
  register: claimed

- name: Write the report of this run and point reports/latest at it
  class_report_files:
    path: /srv/grading/reports
    run: "{{ claimed.run }}"
    files:
      report.json: "{{ report | to_nice_json }}"
      failed.txt: "student-a\n"
"""

RETURN = r"""
run:
  description: The run's directory name (with O(claim), the one it created).
  returned: always
  type: str
  sample: 20261125T120000Z
dir:
  description: The run's directory.
  returned: always
  type: str
  sample: /srv/grading/reports/20261125T120000Z
paths:
  description: The files written (or, in check mode, that would be), in the order given; none with O(claim).
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

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402

from ..module_utils.lab.files import WriteError, write_atomically  # noqa: E402


class PlanError(ValueError):
    pass


# How many runs of the same second claim() numbers before it gives up.
CLAIM_TRIES = 100


def _component(value, what):
    if not value or value in (".", "..") or "/" in value or "\0" in value:
        raise PlanError(f"{what} must be a single file name, got {value!r}")
    return value


def file_mode(value):
    """`mode` -> int: an octal string ('0640', '640'), or a number taken as it is (YAML's unquoted 0640 = 416)."""
    if isinstance(value, bool):
        raise ValueError(value)
    mode = value if isinstance(value, int) else int(str(value).strip(), 8)
    if not 0 <= mode <= 0o777:
        raise ValueError(value)
    return mode


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


def make_dirs(directory, mode):
    """os.makedirs, with `mode` set on every directory it creates (not only the last one)."""
    missing = []
    while directory and not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            continue  # another run made it meanwhile
        os.chmod(path, mode)


def claim(path, run, mode, check_mode=False):
    """Create path/run, or path/run-2, -3, ... when taken (one mkdir decides: no two runs get the same) -> name."""
    _component(run, "run")
    if not check_mode:
        make_dirs(path, mode)
    for number in range(1, CLAIM_TRIES + 1):
        name = run if number == 1 else f"{run}-{number}"
        target = os.path.join(path, name)
        if check_mode:
            if not os.path.lexists(target):
                return name
            continue
        try:
            os.mkdir(target)
        except FileExistsError:
            continue
        os.chmod(target, mode)
        return name
    raise PlanError(f"{os.path.join(path, run)} and {CLAIM_TRIES - 1} numbered ones exist: clean up {path}")


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
            "files": {"type": "dict", "default": {}},
            "mode": {"type": "raw", "default": "0640"},
            "latest": {"type": "str", "default": "latest"},
            "claim": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        mode = file_mode(p["mode"])
    except (TypeError, ValueError):
        module.fail_json(msg=f"mode must be an octal file mode such as '0640', got {p['mode']!r}")
    if p["claim"]:
        try:
            run = claim(p["path"], p["run"], dir_mode(mode), module.check_mode)
        except PlanError as exc:
            module.fail_json(msg=str(exc))
        except OSError as exc:
            module.fail_json(msg=f"cannot create the run directory in {p['path']}: {exc}")
        module.exit_json(changed=True, run=run, dir=os.path.join(p["path"], run), paths=[])
    try:
        run_dir, writes, link = plan(p["path"], p["run"], p["files"], p["latest"])
    except PlanError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": True, "run": p["run"], "dir": run_dir, "paths": [write[0] for write in writes]}
    if link:
        result["latest"] = link
    if module.check_mode:
        module.exit_json(**result)
    try:
        make_dirs(run_dir, dir_mode(mode))
        for dest, content in writes:
            write_atomically(module, dest, to_bytes(content, errors="surrogate_or_strict"), mode)
        if link:
            point(link, os.path.basename(run_dir))
    except (OSError, WriteError) as exc:
        module.fail_json(msg=f"cannot write the report in {run_dir}: {exc}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
