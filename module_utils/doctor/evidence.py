# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence from the VM, read-only, through the docker CLI only (lab VMs have no Docker SDK).

gather() asks, in order: the service's container (by compose labels, so a broken compose file
does not hide it), its inspect data and its image's environment, the compose file as compose
resolves it, the container's log since it started, and the probe from inside it. Nothing secret
leaves this module: the environment is reduced to differences and OTEL values, the probe prints
header names only, and a URL's credentials (https://user:password@...) are replaced by ***.
Kept compatible with Python 3.8.
"""

from __future__ import annotations

import json
import os
import subprocess

from ..lab.redact import redact_userinfo
from .classify import (
    effective_service_name,
    env_differences,
    env_list_to_dict,
    resolve_ca_bundle,
    resolve_client_cert,
    resolve_traces_endpoint,
    scan_logs,
    shown_value,
    split_endpoint,
)
from .probe import PROBE

DOCKER_TIMEOUT = 30
LOG_TAIL = 5000
# Tried after the interpreter next to the container's command (a venv's gunicorn -> its python).
DEFAULT_PYTHONS = ("/opt/venv/bin/python", "python3", "python")


def run_command(argv, timeout=DOCKER_TIMEOUT):
    """(rc, stdout, stderr) of a command; rc 127 when it is missing, 124 on a timeout."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        return 127, "", str(exc)
    except subprocess.TimeoutExpired:
        return 124, "", f"no answer within {timeout} s"
    return done.returncode, done.stdout, done.stderr


def first_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


class Gatherer:
    """One VM's evidence about one compose service. run: run_command-like, for tests."""

    def __init__(self, docker, compose_file, project, service, run=run_command):
        self.docker, self.compose_file, self.project, self.service = docker, compose_file, project, service
        self.run = run

    def docker_json(self, *args):
        rc, out, err = self.run([self.docker, *args])
        if rc != 0:
            return None, first_line(err) or f"exit code {rc}"
        try:
            return json.loads(out), None
        except ValueError:
            return None, "unreadable output of docker " + args[0]

    def container_id(self):
        """(id or None, error): the service's newest container, preferring a running one."""
        rc, out, err = self.run(
            [
                self.docker,
                "ps",
                "--all",
                "--filter",
                "label=com.docker.compose.project=" + self.project,
                "--filter",
                "label=com.docker.compose.service=" + self.service,
                "--format",
                '{{.ID}} {{.State}} {{.Label "com.docker.compose.oneoff"}}',
            ]
        )
        if rc != 0:
            return None, first_line(err) or f"docker ps failed with exit code {rc}"
        rows = [line.split() for line in out.splitlines() if line.strip()]
        rows = [row for row in rows if len(row) < 3 or row[2] != "True"]
        running = [row for row in rows if len(row) > 1 and row[1] == "running"]
        chosen = (running or rows or [[None]])[0]
        return chosen[0], None

    def compose_env(self):
        """(exists, env or None, error) of the service in the compose file as compose resolves it."""
        # Through the runner like every other look at the host, so a recording replays it.
        if self.run(["test", "-f", self.compose_file])[0] != 0:
            return False, None, None
        config, error = self.docker_json(
            "compose",
            "--project-directory",
            os.path.dirname(self.compose_file) or ".",
            "--project-name",
            self.project,
            "-f",
            self.compose_file,
            "config",
            "--format",
            "json",
        )
        if error:
            return True, None, error
        service = (config.get("services") or {}).get(self.service)
        if service is None:
            return True, None, f"it has no service {self.service}"
        return True, service.get("environment") or {}, None

    def logs(self, container_id, started_at):
        rc, out, err = self.run(
            [self.docker, "logs", "--timestamps", "--since", started_at, "--tail", str(LOG_TAIL), container_id]
        )
        # stdout and stderr each in order; merged by their timestamps (RFC 3339 sorts as text).
        return sorted((out + "\n" + err).splitlines()) if rc == 0 else []

    def pythons(self, inspect, wanted):
        """The app's own interpreter first: next to its command, or in its VIRTUAL_ENV."""
        found = []
        command = (inspect.get("Config", {}).get("Entrypoint") or []) + (inspect.get("Config", {}).get("Cmd") or [])
        if command and command[0].startswith("/"):
            found.append(os.path.join(os.path.dirname(command[0]), "python"))
        venv = env_list_to_dict(inspect.get("Config", {}).get("Env")).get("VIRTUAL_ENV")
        if venv:
            found.append(venv.rstrip("/") + "/bin/python")
        return list(dict.fromkeys(found + list(wanted or DEFAULT_PYTHONS)))

    def probe(self, container_id, pythons, args):
        """The probe's result from the first interpreter that runs it."""
        tried = []
        for python in pythons:
            rc, out, err = self.run(
                [self.docker, "exec", container_id, python, "-c", PROBE, json.dumps(args)],
                timeout=4 * float(args["timeout"]) + 10,
            )
            if rc == 0 and out.strip():
                try:
                    result = json.loads(out.strip().splitlines()[-1])
                except ValueError:
                    result = None
                if isinstance(result, dict):
                    result["ran"] = True
                    return result
            tried.append("{}: {}".format(python, first_line(err) or f"exit code {rc}"))
        return {"ran": False, "error": "no interpreter ran it ({})".format("; ".join(tried)), "url": args["url"]}

    def gather(self, expected=None, probe=True, probe_timeout=3.0, pythons=None, keep_lines=5, since=None):
        evidence = {
            "docker": {"ok": True},
            "compose": {"file": self.compose_file, "project": self.project, "service": self.service},
            "container": None,
            "expected": expected,
        }
        container_id, error = self.container_id()
        if error:
            evidence["docker"] = {"ok": False, "error": error}
            return evidence
        exists, compose_env, error = self.compose_env()
        evidence["compose"].update(exists=exists, error=error)
        if not container_id:
            return evidence
        inspected, error = self.docker_json("inspect", container_id)
        if error or not inspected:
            evidence["docker"] = {"ok": False, "error": error or "docker inspect returned nothing"}
            return evidence
        inspect = inspected[0]
        state = inspect.get("State") or {}
        evidence["container"] = {
            "id": container_id,
            "name": (inspect.get("Name") or "").lstrip("/"),
            "status": state.get("Status"),
            "running": bool(state.get("Running")),
            "restarting": bool(state.get("Restarting")),
            "exit_code": state.get("ExitCode"),
            "restarts": inspect.get("RestartCount"),
            "started_at": state.get("StartedAt"),
            "health": (state.get("Health") or {}).get("Status"),
            "image": (inspect.get("Config") or {}).get("Image"),
        }
        env = env_list_to_dict((inspect.get("Config") or {}).get("Env"))
        if compose_env is not None:
            image, _error = self.docker_json("image", "inspect", inspect.get("Image") or "")
            image_env = env_list_to_dict(((image or [{}])[0].get("Config") or {}).get("Env"))
            evidence["env_diff"] = [
                {"key": key, "compose": shown_value(key, wanted), "container": shown_value(key, running)}
                for key, wanted, running in env_differences(compose_env, env, image_env)
            ]
        evidence["env"] = {
            key: shown_value(key, value) for key, value in sorted(env.items()) if key.startswith("OTEL_")
        }
        evidence["service_name"] = effective_service_name(env)
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            evidence["tracing_off"] = "OTEL_SDK_DISABLED=true in the container's environment"
        url, source = resolve_traces_endpoint(env)
        evidence["endpoint"] = dict(split_endpoint(url), url=url, source=source)
        evidence["logs"] = scan_logs(self.logs(container_id, state.get("StartedAt") or "0"), keep_lines, since)
        evidence["logs"]["errors"] = evidence["logs"]["errors"][-keep_lines:]
        if probe and evidence["container"]["running"]:
            ca, ca_source = resolve_ca_bundle(env)
            cert, key = resolve_client_cert(env)
            args = {
                "url": url,
                "timeout": probe_timeout,
                "ca": ca,
                "ca_source": ca_source,
                "client_cert": cert,
                "client_key": key,
            }
            evidence["probe"] = self.probe(container_id, self.pythons(inspect, pythons), args)
        # The endpoint, the app's log and the probe may name a URL with credentials.
        return redact_userinfo(evidence)
