"""The role's inventory_api_files module, run for real (its own process, as Ansible runs it) on a temp dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "roles" / "inventory_api" / "library" / "inventory_api_files.py"
FILES = {"app.py": "print('hi')\n", "requirements.txt": "Flask==3.1.3\n"}
# The module as a script, with the kit's module_utils importable (ansiballz ships them beside it).
AS_ANSIBLE_RUNS_IT = (
    "import runpy, sys, ansible.module_utils; module, utils = sys.argv[1:]; del sys.argv[1:]; "
    "ansible.module_utils.__path__.append(utils); runpy.run_path(module, run_name='__main__')"
)


def run(args: dict, *flags: str) -> dict:
    """The module's JSON result; `--check` and `--diff` become the flags Ansible passes along."""
    internal = {"_ansible_check_mode": "--check" in flags, "_ansible_diff": "--diff" in flags}
    proc = subprocess.run(
        [sys.executable, "-c", AS_ANSIBLE_RUNS_IT, str(MODULE), str(ROOT / "module_utils")],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": {**args, **internal}}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return json.loads(proc.stdout)


@pytest.fixture
def dest(tmp_path) -> Path:
    return tmp_path / "app"


def args(dest: Path, **extra) -> dict:
    return {"dest": str(dest), "files": FILES, "mode": "0644", "directory_mode": "0750", **extra}


def test_creates_the_directory_and_every_file(dest):
    result = run(args(dest))
    assert result["changed"] is True
    assert result["written"] == ["app.py", "requirements.txt"]
    assert oct(dest.stat().st_mode & 0o777) == "0o750"
    for name, content in FILES.items():
        assert (dest / name).read_text() == content
        assert oct((dest / name).stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)  # no temp file left


def test_second_run_changes_nothing(dest):
    run(args(dest))
    before = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    result = run(args(dest))
    assert result["changed"] is False
    assert result["written"] == []
    assert {p.name: p.stat().st_mtime_ns for p in dest.iterdir()} == before


def test_only_the_changed_file_is_written_and_others_stay(dest):
    run(args(dest))
    (dest / "students-notes.txt").write_text("mine\n")
    untouched = (dest / "requirements.txt").stat().st_mtime_ns
    result = run(args(dest, files={**FILES, "app.py": "print('new')\n"}))
    assert result["written"] == ["app.py"]
    assert (dest / "app.py").read_text() == "print('new')\n"
    assert (dest / "requirements.txt").stat().st_mtime_ns == untouched
    assert (dest / "students-notes.txt").read_text() == "mine\n"


def test_a_wrong_mode_is_fixed_without_rewriting(dest):
    run(args(dest))
    (dest / "app.py").chmod(0o600)
    result = run(args(dest))
    assert result["changed"] is True
    assert result["written"] == []
    assert oct((dest / "app.py").stat().st_mode & 0o777) == "0o644"


def test_check_mode_reports_and_writes_nothing(dest):
    result = run(args(dest), "--check", "--diff")
    assert result["changed"] is True
    assert result["written"] == ["app.py", "requirements.txt"]
    assert not dest.exists()
    assert {"before_header": str(dest / "app.py"), "after_header": str(dest / "app.py"), "before": "",
            "after": "print('hi')\n"} in result["diff"]  # fmt: skip


def test_check_mode_on_a_changed_file_shows_its_diff(dest):
    run(args(dest))
    result = run(args(dest, files={**FILES, "app.py": "print('new')\n"}), "--check", "--diff")
    assert result["changed"] is True
    diff = [d for d in result["diff"] if d.get("after_header") == str(dest / "app.py")]
    assert diff == [{"before_header": str(dest / "app.py"), "after_header": str(dest / "app.py"),
                     "before": "print('hi')\n", "after": "print('new')\n"}]  # fmt: skip
    assert (dest / "app.py").read_text() == "print('hi')\n"


def test_a_symlink_in_place_of_a_file_is_refused(dest, tmp_path):
    dest.mkdir()
    target = tmp_path / "elsewhere.py"
    target.write_text("keep\n")
    (dest / "app.py").symlink_to(target)
    result = run(args(dest))
    assert result["failed"] is True
    assert result["msg"] == f"{dest / 'app.py'} exists and is not a regular file; move it away"
    assert target.read_text() == "keep\n"


@pytest.mark.parametrize("name", ["../evil", "sub/app.py", ".", ""])
def test_a_name_with_a_path_is_refused(dest, name):
    result = run(args(dest, files={name: "x"}))
    assert result["failed"] is True
    assert result["msg"] == f"files: {name!r} is not a plain file name"
    assert not dest.exists()


def test_backup_keeps_the_replaced_version_beside_it(dest):
    run(args(dest))
    result = run(args(dest, files={**FILES, "app.py": "print('new')\n"}, backup=True))
    backups = list(dest.glob("app.py.*~"))
    assert len(backups) == 1
    assert backups[0].read_text() == "print('hi')\n"
    assert result["backup_files"] == {"app.py": str(backups[0])}
    assert not list(dest.glob("requirements.txt.*~"))  # unchanged: nothing to back up


def test_failed_validation_leaves_the_file_and_no_temp_file(dest):
    run(args(dest))
    check = "grep -q hi %s"  # the new content lacks "hi"
    result = run(args(dest, files={**FILES, "app.py": "print('new')\n"}, validate=check, backup=True))
    assert result["failed"] is True
    assert result["msg"] == f"{dest / 'app.py'} is left as it was: failed to validate the new content"
    assert (dest / "app.py").read_text() == "print('hi')\n"
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)  # no temp file, no backup


def test_validation_sees_the_new_content(dest):
    result = run(args(dest, files={"app.py": "print('hi again')\n"}, validate="grep -q 'hi again' %s"))
    assert result["changed"] is True
    assert (dest / "app.py").read_text() == "print('hi again')\n"


def test_validate_needs_the_placeholder(dest):
    result = run(args(dest, validate="true"))
    assert result["failed"] is True
    assert result["msg"] == "validate must contain %s, the new file's path"
    assert not dest.exists()


@pytest.mark.parametrize("signal_name", ["HUP", "INT", "TERM"])
def test_interrupted_while_validating_leaves_the_file_and_nothing_else(dest, signal_name):
    """Ctrl-C reaches the module as SIGHUP through `ssh -tt`, a VM going down sends SIGTERM: mid-write, the
    target stays as it was, with no temp file and no backup of this run."""
    run(args(dest))
    interrupt = f"sh -c 'kill -{signal_name} $PPID; sleep 5' %s"  # $PPID: the module itself
    result = run(args(dest, files={**FILES, "app.py": "print('new')\n"}, validate=interrupt, backup=True))
    assert result["failed"] is True
    assert result["msg"] == f"{dest / 'app.py'} is left as it was: interrupted by SIG{signal_name}"
    assert (dest / "app.py").read_text() == "print('hi')\n"
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES)  # no temp file, no backup


def test_backup_is_complete_in_one_step(dest):
    """A hard link to the replaced version: there is no moment with a half-copied backup."""
    run(args(dest))
    replaced = (dest / "app.py").stat().st_ino
    run(args(dest, files={**FILES, "app.py": "print('new')\n"}, backup=True))
    (backup,) = dest.glob("app.py.*~")
    assert backup.stat().st_ino == replaced
