#!/usr/bin/env python3
"""make sanity: `ansible-test sanity` on this repository, laid out as a collection of symlinks.

ansible-test only tests a collection (`.../ansible_collections/<ns>/<name>/`). This builds one in a
temp directory out of links to the real files, so every finding points at a file you can edit:

  library/*.py                      -> plugins/modules/
  module_utils/**/*.py              -> plugins/module_utils/  (its packages kept)
  <kind>_plugins/*.py, plugins/<kind>/*.py (top level) -> plugins/<kind>/  (filter, inventory, callback, ...)
  roles/<role>                      -> roles/<role>  (their filter_plugins, library, files come along)

A new plugin directory of any of those shapes is picked up without a change here. The test runs on
this venv's Python, locally (no Docker). Arguments are passed on to `ansible-test sanity`.

ansible-test installs each test's tools (pylint, yamllint, ...) into its own venvs under
~/.ansible/test/venv, bootstrapping pip there with a script it downloads from a host that only
answers in Ansible's CI; where it cannot, a stand-in that bootstraps pip with the standard library's
ensurepip and then installs the same pinned pip from PyPI is put in its place.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE, NAME = "lab10", "kit"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
# Top-level directories whose Python files are plugins of a fixed kind (ansible.cfg's library, module_utils).
FIXED_DIRS = {"library": "modules", "module_utils": "module_utils"}
GET_PIP_SHIM = '''\
"""Stand-in for get-pip.py, written by lab10's scripts/sanity.py: ensurepip, then pip install ARGS."""
import ensurepip
import os
import runpy
import sys

environ = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
os.environ.clear()
os.environ.update(environ)  # ensurepip switched pip's configuration (a CA bundle, say) off
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install", *args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
'''


def plugin_dirs(root: Path) -> dict[Path, str]:
    """{source directory: plugins/<kind>} for every plugin directory at the top of the repository."""
    found = {root / name: kind for name, kind in FIXED_DIRS.items() if (root / name).is_dir()}
    for path in sorted(root.glob("*_plugins")):
        if path.is_dir():
            found[path] = path.name.removesuffix("_plugins")
    for path in sorted((root / "plugins").glob("*")) if (root / "plugins").is_dir() else ():
        if path.is_dir():
            found[path] = path.name
    return found


def link(source: Path, target: Path) -> None:
    """Hard-link source at target: ansible-test skips symlinks, and a copy would go stale."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, target)


def build_tree(root: Path, base: Path) -> dict[str, str]:
    """The collection tree under base, hard links into root; returns {path in the tree: path in root}."""
    collection = base / "ansible_collections" / NAMESPACE / NAME
    origin = {}
    for source, kind in plugin_dirs(root).items():
        for path in sorted(source.rglob("*")):  # packages too (module_utils/jaeger/__init__.py, ...)
            inside = path.relative_to(source)
            if any(part.startswith(".") or part == "__pycache__" for part in inside.parts):
                continue
            if path.is_file() and path.suffix in (".py", ".yml", ".yaml"):
                target = collection / "plugins" / kind / inside
                link(path, target)
                origin[str(target.relative_to(collection))] = str(path.relative_to(root))
    for directory, dirs, files in os.walk(root / "roles"):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            path = Path(directory) / name
            if path.suffix != ".pyc":
                link(path, collection / path.relative_to(root))
    (collection / "meta").mkdir(exist_ok=True)
    (collection / "meta" / "runtime.yml").write_text('---\nrequires_ansible: ">=2.19"\n')
    (collection / "galaxy.yml").write_text(
        f"---\nnamespace: {NAMESPACE}\nname: {NAME}\nversion: 0.1.0\nreadme: README.md\nauthors: [lab10]\n"
    )
    (collection / "README.md").write_text("Built by scripts/sanity.py from hard links; not a real collection.\n")
    # ansible-test lists files with git from the nearest repository up the tree: that would be this
    # repository, which ignores .cache/. A repository of the tree's own lists every file in it.
    subprocess.run(["git", "init", "-q", str(collection)], check=True)
    return origin


def pip_version() -> str:
    """The pip version ansible-test bootstraps into its venvs (pinned in its source)."""
    import ansible_test._internal.python_requirements as requirements

    match = re.search(r"pip='([0-9.]+)'", Path(requirements.__file__).read_text(encoding="utf-8"))
    if not match:
        raise SystemExit("sanity: cannot find the pip version ansible-test bootstraps")
    return match.group(1)


def ensure_get_pip() -> None:
    """Put the stand-in where ansible-test looks for its cached bootstrap script, unless one is there."""
    version = pip_version()
    cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(GET_PIP_SHIM)


def main(argv: list[str]) -> int:
    ensure_get_pip()
    base = ROOT / ".cache" / "sanity"
    shutil.rmtree(base, ignore_errors=True)
    origin = build_tree(ROOT, base)
    collection = base / "ansible_collections" / NAMESPACE / NAME
    ansible_test = Path(sys.executable).with_name("ansible-test")
    cmd = [str(ansible_test), "sanity", "--python", PYTHON, "--color", "no", *argv]
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": f"{base}:{ROOT / 'collections'}"}
    with subprocess.Popen(
        cmd, cwd=collection, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        for line in proc.stdout:
            for tree_path, repo_path in origin.items():  # findings name the file to edit
                line = line.replace(tree_path, repo_path)
            print(line, end="", flush=True)
    if proc.returncode == 0:
        shutil.rmtree(base, ignore_errors=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
