"""The Jaeger version, read where it is pinned: roles/jaeger's default image and the Go wrapper module.

Jaeger v2's Go module path has no /v2, so release v2.X.Y is published as module version v1.(X+63).Y
(v2.0.0 was v1.63.0; v2.13.0 is v1.76.0).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

MODULE = "github.com/jaegertracing/jaeger"
V2_TO_V1_MINOR = 63


def role_image(root: Path) -> str:
    """jaeger_image of roles/jaeger/defaults/main.yml, e.g. jaegertracing/jaeger:2.13.0."""
    defaults = yaml.safe_load((root / "roles" / "jaeger" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    return str(defaults["jaeger_image"])


def image_version(image: str) -> str:
    """The tag of an image reference: jaegertracing/jaeger:2.13.0 -> 2.13.0."""
    name = image.rsplit("/", 1)[-1]
    tag = name.rsplit(":", 1)[-1] if ":" in name else ""
    if not re.fullmatch(r"\d+\.\d+\.\d+", tag):
        raise SystemExit(f"testbed: jaeger_image {image!r} has no X.Y.Z tag to build a local Jaeger of")
    return tag


def module_version(go_mod: Path) -> str:
    """The version go.mod requires of Jaeger's module, e.g. v1.76.0."""
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(MODULE)}\s+(v\S+)", go_mod.read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"testbed: {go_mod} does not require {MODULE}")
    return match.group(1)


def module_version_of(release: str) -> str:
    """The Go module version of a Jaeger v2 release: 2.13.0 -> v1.76.0."""
    major, minor, patch = (int(part) for part in release.split("."))
    if major != 2:
        raise ValueError(f"not a Jaeger v2 release: {release}")
    return f"v1.{minor + V2_TO_V1_MINOR}.{patch}"
