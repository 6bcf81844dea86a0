"""The test bed's .testbed/images.env: KEY=value lines that a shell sources cleanly and Python reads back."""

from __future__ import annotations

import shlex
from pathlib import Path


def render(settings: dict, header: str) -> str:
    """`# header` then KEY=value, each value shell-quoted (`set -a; . images.env` must not run a word of it)."""
    return "\n".join([f"# {header}", *(f"{key}={shlex.quote(str(value))}" for key, value in settings.items())]) + "\n"


def read(path: Path) -> dict[str, str]:
    """{KEY: value} of a file render() wrote ({} when it does not exist)."""
    if not path.exists():
        return {}
    pairs = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            pairs[key] = "".join(shlex.split(value)) if value else ""
    return pairs
