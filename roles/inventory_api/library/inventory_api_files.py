# Copyright: lab10 tracing kit team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: inventory_api_files
short_description: Put a set of small text files into one directory in one step
description:
  - Makes O(dest) hold each file of O(files) with exactly that content, owner, group and mode. A file whose
    content differs is replaced atomically (a temporary file in O(dest), then a rename); a file that is
    already right is not touched. Other files in O(dest) stay.
  - Interrupted while it writes a file (SIGHUP, SIGINT or SIGTERM: Ctrl-C on the controller through
    C(ssh -tt), a VM shutting down), it fails and leaves that file as it was, with no temporary file and no
    backup of this run.
  - One module run for the whole set, where M(ansible.builtin.copy) runs two modules per file (a
    checksum, then the attributes); the inventory_api role uses it for the app's source, the token file,
    the CA bundle and the compose file.
version_added: "0.1.0"
author:
  - lab10 tracing kit team
options:
  dest:
    description:
      - The directory. Created with O(directory_mode), O(owner) and O(group) when missing; an existing one
        gets them too.
    type: path
    required: true
  files:
    description:
      - File name (no C(/)) to the file's text content.
    type: dict
    required: true
  backup:
    description:
      - Keep the version that new content replaces beside it, as C(<file>.<pid>.<timestamp>~), as
        M(ansible.builtin.copy) does; made in one step (a hard link, a copy where links fail).
    type: bool
    default: false
  validate:
    description:
      - A command that must succeed on each new content before it replaces a file, V(%s) standing for the path
        of the new content (a temporary file in O(dest)). When it fails, the file stays as it was.
    type: str
  directory_mode:
    description:
      - Mode of O(dest), for example V("0755"). Unset leaves an existing directory's mode alone and creates
        a new one with the default mode.
    type: raw
extends_documentation_fragment:
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Content changes of files up to 100 KiB as text, attribute changes as values.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Copy the app's source
  inventory_api_files:
    dest: /home/centos/lab10/inventory-api
    files:
      app.py: "{{ lookup('ansible.builtin.file', 'app/app.py', rstrip=false) }}"
      requirements.txt: "{{ lookup('ansible.builtin.file', 'app/requirements.txt', rstrip=false) }}"
    owner: centos
    group: centos
    mode: "0644"
    directory_mode: "0755"
"""

RETURN = r"""
backup_files:
  description: File name to the path of its backup, for each file replaced with O(backup=true).
  returned: always
  type: dict
  sample: {docker-compose.yml: /home/centos/lab10/docker-compose.yml.2318.2026-11-25@12:57:25~}
dest:
  description: The directory.
  returned: always
  type: str
  sample: /home/centos/lab10/inventory-api
written:
  description: Names of the files whose content was (or, in check mode, would be) written.
  returned: always
  type: list
  elements: str
  sample: [app.py]
"""

import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.lab.files import WriteError, write_atomically  # noqa: E402  (the kit's module_utils)

MAX_DIFF_BYTES = 100 * 1024


def read_current(module, path):
    """The file's bytes, None when it does not exist; anything but a regular file is an error."""
    if not os.path.lexists(path):
        return None
    if os.path.islink(path) or not os.path.isfile(path):
        module.fail_json(msg=f"{path} exists and is not a regular file; move it away", path=path)
    with open(path, "rb") as handle:
        return handle.read()


def content_diff(path, before, after):
    if max(len(before or b""), len(after)) > MAX_DIFF_BYTES:
        text = f"(diff skipped: larger than {MAX_DIFF_BYTES} bytes)\n"
        return {"before_header": path, "after_header": path, "before": text, "after": text}
    return {
        "before_header": path,
        "after_header": path,
        "before": (before or b"").decode("utf-8", "replace"),
        "after": after.decode("utf-8", "replace"),
    }


def write(module, path, data):
    """The kit's atomic write (module_utils/lab/files.py) with this module's owner, group, mode, validate and backup."""
    p = module.params
    try:
        return write_atomically(module, path, data, p["mode"], p["owner"], p["group"], p["validate"], p["backup"])
    except WriteError as exc:
        module.fail_json(msg=exc.msg, path=path, **exc.context)


def ensure_directory(module, dest, result):
    if os.path.isdir(dest):
        return True
    if os.path.lexists(dest):
        module.fail_json(msg=f"dest {dest} exists and is not a directory", path=dest)
    result["changed"] = True
    result["diff"].append({"before": {"path": dest, "state": "absent"}, "after": {"path": dest, "state": "directory"}})
    if module.check_mode:
        return False
    try:
        os.makedirs(dest)
    except OSError as exc:
        module.fail_json(msg=f"cannot create {dest}: {exc}", path=dest)
    return True


def ensure_attributes(module, path, mode, result):
    args = module.load_file_common_arguments(module.params, path=path)
    args["mode"] = mode
    diff = {"before": {"path": path}, "after": {"path": path}}
    if module.set_fs_attributes_if_different(args, False, diff=diff, expand=False):
        result["changed"] = True
        result["diff"].append(diff)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            files=dict(type="dict", required=True),
            directory_mode=dict(type="raw"),
            backup=dict(type="bool", default=False),
            validate=dict(type="str"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    files = module.params["files"]
    if module.params["validate"] and "%s" not in module.params["validate"]:
        module.fail_json(msg="validate must contain %s, the new file's path", validate=module.params["validate"])
    for name in files:
        if not name or "/" in name or name in (".", ".."):
            module.fail_json(msg=f"files: {name!r} is not a plain file name", name=name)

    result = {"changed": False, "dest": dest, "written": [], "backup_files": {}, "diff": []}
    # Plan: what is there, what differs. Then one pass that writes and fixes attributes.
    exists = ensure_directory(module, dest, result)
    if exists:
        ensure_attributes(module, dest, module.params["directory_mode"], result)
    for name in sorted(files):
        path = os.path.join(dest, name)
        data = files[name].encode("utf-8") if isinstance(files[name], str) else str(files[name]).encode("utf-8")
        before = read_current(module, path) if exists else None
        if before != data:
            result["changed"] = True
            result["written"].append(name)
            result["diff"].append(content_diff(path, before, data))
            backup = None if module.check_mode else write(module, path, data)
            if backup:
                result["backup_files"][name] = backup
        if os.path.exists(path):
            ensure_attributes(module, path, module.params["mode"], result)
    if not module._diff:
        del result["diff"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
