#!/usr/bin/env python3
"""make testbed: a Docker engine, the compose v2 plugin and the images the tests run on.

Each image is pulled from its upstream registry when one answers, otherwise built here
(debootstrap + docker import for Debian, the Go module proxy for Jaeger and compose).
Idempotent: what exists is reused. Writes .testbed/images.env.

Environment:
  LAB10_EXTRA_CA_BUNDLE  path | detect (default) | none: CA bundle for HTTPS through a
                         TLS-intercepting proxy (passed to app builds as a BuildKit secret).
  LAB10_PULL             auto (default) | never: whether to try upstream registries first.
  LAB10_REGISTRY_PREFIX  e.g. registry.hpc.ut.ee/mirror/ to pull through a mirror.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from testbed_lib import engine, envfile, gobuild, jaeger_pins  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "scripts" / "testbed"
STATE = ROOT / ".testbed"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lab10-testbed"

# Upstream references, pinned. The local fallbacks are built to behave the same.
DEBIAN_UPSTREAM = "debian:12.12-slim"
PYTHON_UPSTREAM = "python:3.11.14-slim-bookworm"
# The Jaeger the tests run is the one roles/jaeger deploys by default; the local build's Go module
# version is pinned in scripts/testbed/go/jaeger/go.mod (a unit test keeps the two in step).
JAEGER_UPSTREAM = jaeger_pins.role_image(ROOT)
JAEGER_VERSION = jaeger_pins.image_version(JAEGER_UPSTREAM)
JAEGER_MODULE_VERSION = jaeger_pins.module_version(HERE / "go" / "jaeger" / "go.mod")
COMPOSE_VERSION = "2.40.3"
COMPOSE_MIN = (2, 18)


def log(msg: str) -> None:
    print(f"testbed: {msg}", flush=True)


def digest(*parts: str | bytes | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            part = part.read_bytes()
        h.update(part if isinstance(part, bytes) else part.encode())
    return h.hexdigest()[:12]


def try_pull(client, ref: str) -> str | None:
    if os.environ.get("LAB10_PULL", "auto") == "never":
        return None
    ref = os.environ.get("LAB10_REGISTRY_PREFIX", "") + ref
    if engine.image_exists(client, ref):
        return ref
    try:
        client.images.pull(ref)
    except Exception as exc:  # noqa: BLE001 - any registry failure means: build it here
        log(f"pull {ref} failed ({str(exc).splitlines()[0][:120]}); building locally")
        return None
    log(f"pulled {ref}")
    return ref


def debian_image(client) -> str:
    pulled = try_pull(client, DEBIAN_UPSTREAM)
    if pulled:
        return pulled
    tag = "lab10-testbed/debian:bookworm"
    if engine.image_exists(client, tag):
        return tag
    engine.require_command("debootstrap", apt_package="debootstrap")
    with tempfile.TemporaryDirectory(prefix="debootstrap-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log("debootstrap bookworm (minbase)")
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", 'CMD ["bash"]', "-", tag], stdin=tar.stdout, check=True)
        if tar.wait() != 0:
            raise SystemExit("testbed: tar of the debootstrap root failed")
    return tag


def build_local(client, name: str, dockerfile: str, base: str, files: dict[str, Path], key: str) -> str:
    """Build scripts/testbed/<dockerfile> FROM base with files in its context, tagged by its inputs."""
    base_id = client.images.get(base).id
    tag = f"lab10-testbed/{name}:{digest(HERE / dockerfile, base_id, key, *files.values())}"
    if engine.image_exists(client, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix=f"build-{name}-") as ctx:
        shutil.copy(HERE / dockerfile, Path(ctx) / "Dockerfile")
        for dest, src in files.items():
            shutil.copy(src, Path(ctx) / dest)
        log(f"building {tag}")
        engine.build(client, ctx, tag, {"BASE_IMAGE": base})
    return tag


def app_base_image(client, debian: str) -> str:
    return try_pull(client, PYTHON_UPSTREAM) or build_local(client, "app-base", "app-base.Dockerfile", debian, {}, "")


def jaeger_image(client, debian: str) -> str:
    pulled = try_pull(client, JAEGER_UPSTREAM)
    if pulled:
        return pulled
    binary = gobuild.build(
        HERE / "go" / "jaeger",
        "github.com/jaegertracing/jaeger/cmd/jaeger",
        CACHE / "bin" / f"jaeger-{JAEGER_MODULE_VERSION}",
        log=log,
    )
    return build_local(client, "jaeger", "jaeger.Dockerfile", debian, {"jaeger": binary}, JAEGER_VERSION)


def compose_plugin() -> Path:
    """The compose v2 plugin binary: the host's if new enough, else built from the module proxy."""
    found = engine.compose_version()
    if found and found >= COMPOSE_MIN:
        path = engine.compose_plugin_path()
        if path:
            return path
    binary = gobuild.build(
        HERE / "go" / "compose",
        "github.com/docker/compose/v2/cmd",
        CACHE / "bin" / f"docker-compose-{COMPOSE_VERSION}",
        ldflags=f"-X github.com/docker/compose/v2/internal.Version=v{COMPOSE_VERSION}",
        log=log,
    )
    target = Path.home() / ".docker" / "cli-plugins" / "docker-compose"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(binary, target)
    log(f"installed compose v{COMPOSE_VERSION} as {target}")
    return target


def labvm_image(client, debian: str, compose: Path) -> str:
    names = ("labvm-entrypoint.sh", "labvm-daemon.json", "labvm-sshd.conf", "labvm-ssh-hostkeys.service")
    files = {"docker-compose": compose, **{name: HERE / name for name in (*names, "labvm-ssh.sh")}}
    return build_local(client, "labvm", "labvm.Dockerfile", debian, files, "")


def gate_image(client, debian: str) -> str:
    """Debian's nginx answering like the course's OIDC front end (scripts/testbed_lib/gate.py runs it)."""
    files = {name: HERE / name for name in ("gate-nginx.conf", "gate-entrypoint.sh")}
    return build_local(client, "gate", "gate.Dockerfile", debian, files, "")


def testbed_settings(images: dict, privileged: bool, compose_version, ca_bundle) -> dict:
    """What .testbed/images.env and .env.yml hold: every ${VAR} the molecule configs read comes from here."""
    return {
        **images,
        # How lab-VM containers run: --privileged where allowed, else all capabilities but
        # SYS_RESOURCE with seccomp/apparmor unconfined (see scripts/testbed/labvm-entrypoint.sh).
        "LABVM_PRIVILEGED": "true" if privileged else "false",
        **engine.labvm_settings(),
        "COMPOSE_VERSION": ".".join(map(str, compose_version or ())),
        "EXTRA_CA_BUNDLE": str(ca_bundle or ""),
    }


def main() -> int:
    started = time.monotonic()
    client = engine.ensure_engine(log)
    # libfaketime: the faults scenario runs the doctor with the controller's clock off the VM's.
    engine.require_command("faketime", apt_package="faketime")
    # The controller's side of the lab VMs' SSH (tests and the ssh scenario: ssh, ssh-keyscan, ssh-keygen).
    for command in ("ssh", "ssh-keyscan", "ssh-keygen"):
        engine.require_command(command, apt_package="openssh-client")
    compose = compose_plugin()
    debian = debian_image(client)
    images = {
        "DEBIAN_IMAGE": debian,
        "APP_BASE_IMAGE": app_base_image(client, debian),
        "JAEGER_IMAGE": jaeger_image(client, debian),
        "LABVM_IMAGE": labvm_image(client, debian, compose),
        "GATE_IMAGE": gate_image(client, debian),
    }
    privileged = engine.privileged_works(client, debian)
    ca_bundle = engine.extra_ca_bundle(os.environ.get("LAB10_EXTRA_CA_BUNDLE", "detect"))
    settings = testbed_settings(images, privileged, engine.compose_version(), ca_bundle)
    STATE.mkdir(exist_ok=True)
    header = "Written by `make testbed` (scripts/testbed.py). Do not edit; re-run it."
    (STATE / "images.env").write_text(envfile.render(settings, header))
    # The same for molecule, which reads .env.yml from the directory it runs in (its default --env-file).
    (ROOT / ".env.yml").write_text(f"# {header}\n" + yaml.safe_dump(settings, default_flow_style=False))
    for key, ref in images.items():
        log(f"{key}={ref} ({client.images.get(ref).attrs['Size'] / 1e6:.0f} MB)")
    log(f"lab VM mode: {'--privileged' if privileged else 'capabilities (no --privileged here)'}")
    log(f"extra CA bundle: {ca_bundle or 'none'}")
    log(f"ready in {time.monotonic() - started:.0f}s -> {STATE / 'images.env'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
