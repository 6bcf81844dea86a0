#!/usr/bin/env python3
"""Install the collections of a requirements.yml from the `ansible` wheel on PyPI.

For hosts that reach PyPI but not Galaxy. Only the wanted collections (and the
collections they depend on) are extracted from the wheel; the 550 MB `ansible`
package itself is never installed.

Usage: collections_from_wheel.py REQUIREMENTS_YML DEST_DIR
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

# The `ansible` release whose bundled collections match the pins in requirements.yml.
ANSIBLE_WHEEL_VERSION = os.environ.get("ANSIBLE_WHEEL_VERSION", "12.3.0")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lab10-testbed" / "wheels"
PREFIX = "ansible_collections/"


def fail(msg: str) -> None:
    print(f"collections_from_wheel: {msg}", file=sys.stderr)
    sys.exit(2)


def fetch_wheel() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    name = f"ansible-{ANSIBLE_WHEEL_VERSION}-py3-none-any.whl"
    wheel = CACHE / name
    if not wheel.exists():
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-d",
                    tmp,
                    f"ansible=={ANSIBLE_WHEEL_VERSION}",
                ],
                check=True,
            )
            Path(tmp, name).rename(wheel)
    return wheel


def manifest(zf: zipfile.ZipFile, fqcn: str) -> dict:
    ns, name = fqcn.split(".", 1)
    try:
        return json.loads(zf.read(f"{PREFIX}{ns}/{name}/MANIFEST.json"))["collection_info"]
    except KeyError:
        fail(f"collection {fqcn} is not in ansible {ANSIBLE_WHEEL_VERSION}")
        raise  # unreachable


def main() -> None:
    if len(sys.argv) != 3:
        fail(__doc__.strip().splitlines()[-1])
    requirements = yaml.safe_load(Path(sys.argv[1]).read_text())["collections"]
    dest = Path(sys.argv[2])
    with zipfile.ZipFile(fetch_wheel()) as zf:
        wanted = {r["name"]: str(r.get("version", "*")) for r in requirements}
        todo = list(wanted)
        done: set[str] = set()
        while todo:
            fqcn = todo.pop()
            if fqcn in done:
                continue
            info = manifest(zf, fqcn)
            pin = wanted.get(fqcn, "*")
            if pin not in ("*", info["version"]):
                fail(
                    f"{fqcn}: requirements.yml pins {pin}, ansible {ANSIBLE_WHEEL_VERSION} carries "
                    f"{info['version']}; set ANSIBLE_WHEEL_VERSION to a release that carries {pin}"
                )
            ns, name = fqcn.split(".", 1)
            members = [m for m in zf.namelist() if m.startswith(f"{PREFIX}{ns}/{name}/")]
            target = dest / "ansible_collections" / ns / name
            if target.exists():
                subprocess.run(["rm", "-rf", str(target)], check=True)
            zf.extractall(dest, members)
            print(f"collections_from_wheel: {fqcn} {info['version']} -> {target}")
            done.add(fqcn)
            todo.extend(info.get("dependencies") or {})


if __name__ == "__main__":
    main()
