"""The kit's one atomic write (module_utils/lab/files.py): content, owner, group and mode in one rename."""

from __future__ import annotations

import grp
import os
import pwd

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.lab.files import WriteError, write_atomically
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def module():
    with patch_module_args({}):
        yield AnsibleModule(argument_spec={})


def test_a_new_file_gets_its_content_mode_owner_and_group(module, tmp_path):
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    path = tmp_path / "token"
    assert write_atomically(module, str(path), b"secret\n", "0640", user, group) is None
    stat = path.stat()
    assert (path.read_bytes(), oct(stat.st_mode & 0o777)) == (b"secret\n", "0o640")
    assert (stat.st_uid, stat.st_gid) == (os.getuid(), os.getgid())
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary file left


def test_a_new_file_without_a_mode_is_never_more_open_than_the_umask_allows(module, tmp_path):
    path = tmp_path / "report.json"
    write_atomically(module, str(path), b"{}\n")
    assert path.stat().st_mode & 0o077 == 0  # atomic_move ran under umask 077


def test_an_existing_file_is_replaced_and_backed_up(module, tmp_path):
    path = tmp_path / "compose.yml"
    path.write_text("old\n")
    os.chmod(path, 0o600)
    backup = write_atomically(module, str(path), b"new\n", 0o644, backup=True)
    assert (path.read_text(), oct(path.stat().st_mode & 0o777)) == ("new\n", "0o644")
    assert open(backup).read() == "old\n"


def test_a_failed_validation_leaves_the_file_as_it_was(module, tmp_path):
    path = tmp_path / "compose.yml"
    path.write_text("old\n")
    with pytest.raises(WriteError) as failed:
        write_atomically(module, str(path), b"new\n", validate="false %s")
    assert failed.value.context["rc"] == 1 and "left as it was" in failed.value.msg
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["compose.yml"]
