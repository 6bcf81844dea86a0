"""Build a Go command from a pinned wrapper module (scripts/testbed/go/<name>).

The wrapper's go.mod and go.sum pin every dependency (they mirror upstream's, including
replace/exclude directives, which bind only a main module), so builds are reproducible and
verified against go.sum without asking the checksum database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

GO_MIN = (1, 25)


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not go:
        raise SystemExit("testbed: no registry answered and Go is missing: install Go >= 1.25 to build locally")
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"go(\d+)\.(\d+)", out.strip())
    if not match or tuple(map(int, match.groups())) < GO_MIN:
        raise SystemExit(f"testbed: {out.strip()} is too old to build the fallbacks; need Go >= 1.25")
    return go


def build(module_dir: Path, package: str, output: Path, *, ldflags: str = "", log=print) -> Path:
    """Build package from module_dir into output, unless output exists and is newer than go.sum."""
    if output.exists() and output.stat().st_mtime >= (module_dir / "go.sum").stat().st_mtime:
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    log(f"go build {package} (first time: a few minutes)")
    started = time.monotonic()
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
    subprocess.run(
        [_go(), "build", "-trimpath", f"-ldflags=-s -w {ldflags}".strip(), "-o", str(output) + ".tmp", package],
        cwd=module_dir,
        env=env,
        check=True,
    )
    os.replace(str(output) + ".tmp", output)
    log(f"built {output.name} in {time.monotonic() - started:.0f}s")
    return output
