"""Docker engine helpers for the test bed: find or start an engine, build, probe privileges."""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import docker
import yaml
from docker.errors import APIError, DockerException, ImageNotFound

# How a lab-VM container runs without --privileged: every capability this Docker knows but SYS_RESOURCE
# (missing from some hosts' bounding set), seccomp and apparmor unconfined. Molecule's platforms take them
# from .env.yml (LABVM_CAPABILITIES, LABVM_SECURITY_OPTS), which scripts/testbed.py writes from here; the
# integration tests' lab VMs use them directly, with the base config's tmpfs and cgroup namespace.
LABVM_CAPABILITIES = (
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH",
    "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE",
    "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
    "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
    "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
)  # fmt: skip
LABVM_SECURITY_OPTS = ("seccomp=unconfined", "apparmor=unconfined")
MOLECULE_BASE = Path(__file__).resolve().parents[2] / ".config" / "molecule" / "config.yml"
SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def labvm_settings() -> dict:
    """.env.yml's lab-VM options: YAML flow lists, which molecule interpolates into its platforms."""
    return {
        "LABVM_CAPABILITIES": "[" + ", ".join(LABVM_CAPABILITIES) + "]",
        "LABVM_SECURITY_OPTS": "[" + ", ".join(LABVM_SECURITY_OPTS) + "]",
    }


def labvm_run_options(privileged: bool, base: Path = MOLECULE_BASE) -> dict:
    """docker SDK containers.run() keyword arguments for a lab-VM container, as molecule runs it.

    --privileged where the host allows it; otherwise the capabilities and security options above, with an
    entrypoint that remounts /sys and the cgroups read-write.
    """
    (platform,) = yaml.safe_load(base.read_text(encoding="utf-8"))["platforms"]
    options = {"tmpfs": dict.fromkeys(platform["tmpfs"], ""), "cgroupns": platform["cgroupns_mode"]}
    if privileged:
        return {**options, "privileged": True}
    return {**options, "cap_add": list(LABVM_CAPABILITIES), "security_opt": list(LABVM_SECURITY_OPTS)}


def _client():
    client = docker.from_env(timeout=300)
    client.ping()
    return client


def ensure_engine(log) -> docker.DockerClient:
    try:
        return _client()
    except DockerException:
        pass
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        raise SystemExit(
            "testbed: no Docker engine answers (DOCKER_HOST or /var/run/docker.sock). Start one "
            "(e.g. `sudo systemctl start docker`) and run `make testbed` again; as root on a Debian-family "
            "host it installs and starts the distribution's docker.io itself."
        )
    require_command("dockerd", apt_package="docker.io")
    if Path("/run/systemd/system").exists():
        log("starting docker.service")
        subprocess.run(["systemctl", "start", "docker"], check=True)
    else:
        log("starting dockerd (no systemd here); log: /var/log/lab10-dockerd.log")
        with open("/var/log/lab10-dockerd.log", "ab") as out:
            subprocess.Popen(["dockerd"], stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return _client()
        except DockerException:
            time.sleep(1)
    raise SystemExit("testbed: dockerd did not answer within 60 s; see /var/log/lab10-dockerd.log")


_apt_updated = False


def require_command(command: str, apt_package: str) -> None:
    global _apt_updated
    if shutil.which(command):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"testbed: `{command}` is missing; install the package {apt_package} and run again")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        _apt_updated = True
    subprocess.run(["apt-get", "install", "-y", "-qq", apt_package], check=True, env=env, stdout=subprocess.DEVNULL)


def image_exists(client, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except ImageNotFound:
        return False


def build(client, context: str, tag: str, buildargs: dict[str, str]) -> None:
    """Classic-builder build (works without buildx), streaming the log; raises with its tail."""
    tail: list[str] = []
    for chunk in client.api.build(path=context, tag=tag, buildargs=buildargs, rm=True, forcerm=True, decode=True):
        if "error" in chunk:
            raise SystemExit(f"testbed: building {tag} failed: {chunk['error'].strip()}\n" + "".join(tail[-20:]))
        line = chunk.get("stream", "")
        if line.startswith("Step "):
            print(f"  {line.strip()[:140]}", flush=True)
        tail.append(line)


def privileged_works(client, image: str) -> bool:
    # create + start rather than run(remove=True): a refused start would leave the container behind.
    container = client.containers.create(image, ["true"], privileged=True)
    try:
        container.start()
        return container.wait(timeout=60)["StatusCode"] == 0
    except APIError:
        return False
    finally:
        container.remove(force=True)


def compose_version() -> tuple[int, ...] | None:
    try:
        out = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", out.stdout.strip())
    return tuple(int(x) for x in match.groups()) if match else None


def compose_plugin_path() -> Path | None:
    out = subprocess.run(["docker", "info", "--format", "{{json .ClientInfo.Plugins}}"], capture_output=True, text=True)
    try:
        plugins = json.loads(out.stdout) or []
    except json.JSONDecodeError:
        return None
    paths = [p.get("Path") for p in plugins if p.get("Name") == "compose"]
    return Path(paths[0]) if paths and paths[0] else None


def _https_ok(cafile: str | None) -> bool | None:
    """True: verified; False: certificate rejected; None: could not connect at all."""
    if cafile is None:
        import certifi

        cafile = certifi.where()
    context = ssl.create_default_context(cafile=cafile)
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", context=context, timeout=15).close()
        return True
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        return False if isinstance(reason, ssl.SSLCertVerificationError) else None


def extra_ca_bundle(setting: str) -> Path | None:
    """The CA bundle that package indexes need beyond certifi's, or None.

    `detect`: when certifi's bundle is rejected (a TLS-intercepting proxy) and the system
    bundle works, the system bundle is the answer.
    """
    if setting in ("", "none"):
        return None
    if setting != "detect":
        path = Path(setting)
        if not path.is_file():
            raise SystemExit(f"testbed: LAB10_EXTRA_CA_BUNDLE={setting} is not a file")
        return path
    if _https_ok(None) is not False:
        return None
    for bundle in (os.environ.get("SSL_CERT_FILE"), *SYSTEM_CA_BUNDLES):
        if bundle and Path(bundle).is_file() and _https_ok(bundle):
            return Path(bundle)
    return None
