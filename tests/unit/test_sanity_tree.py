"""scripts/sanity.py's collection tree: every plugin directory, hard links, the repo's paths in findings."""

from __future__ import annotations

import sys

from playbook_run import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import sanity  # noqa: E402


def test_every_plugin_directory_lands_where_ansible_test_looks(tmp_path):
    repo, base = tmp_path / "repo", tmp_path / "tree"
    files = [
        "library/thing.py",
        "module_utils/thing_util.py",
        "module_utils/family/__init__.py",  # a package: kept as one
        "module_utils/family/part.py",
        "module_utils/family/__pycache__/part.cpython-311.pyc",
        "inventory_plugins/lab_roster.py",  # a new kind: picked up by its name
        "plugins/callback/report.py",
        "roles/demo/tasks/main.yml",
        "roles/demo/filter_plugins/f.py",
        "roles/demo/files/__pycache__/x.cpython-311.pyc",
    ]
    for name in files:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(f"# {name}\n")
    origin = sanity.build_tree(repo, base)
    collection = base / "ansible_collections" / sanity.NAMESPACE / sanity.NAME
    assert origin == {
        "plugins/modules/thing.py": "library/thing.py",
        "plugins/module_utils/thing_util.py": "module_utils/thing_util.py",
        "plugins/module_utils/family/__init__.py": "module_utils/family/__init__.py",
        "plugins/module_utils/family/part.py": "module_utils/family/part.py",
        "plugins/inventory/lab_roster.py": "inventory_plugins/lab_roster.py",
        "plugins/callback/report.py": "plugins/callback/report.py",
    }
    for tree_path, repo_path in origin.items():
        assert (collection / tree_path).lstat().st_ino == (repo / repo_path).stat().st_ino  # a hard link
    assert (collection / "roles/demo/filter_plugins/f.py").samefile(repo / "roles/demo/filter_plugins/f.py")
    assert (collection / "roles/demo/tasks/main.yml").is_file()
    assert not (collection / "roles/demo/files/__pycache__").exists()
    assert (collection / ".git").is_dir() and (collection / "meta" / "runtime.yml").is_file()
