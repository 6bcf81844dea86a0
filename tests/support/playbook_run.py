"""ansible-playbook run for real from a test, with this repository's configuration and collections."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
# A host's result line under a task's header in the default callback's output.
RESULT = re.compile(r"^(ok|changed|skipping|fatal|failed): \[(\S+?)\]", re.MULTILINE)
RECAP = re.compile(
    r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.MULTILINE
)


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment `make` gives Ansible (ansible.cfg, collections/, roles/), without colours or chatter."""
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"),
        "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        **extra,
    }


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def stats(self, host: str = "localhost") -> dict[str, int]:
        """The PLAY RECAP counters of host ({} when the run ended before the recap)."""
        for match in RECAP.finditer(self.stdout):
            if match.group(1) == host:
                keys = ("ok", "changed", "unreachable", "failed", "skipped")
                return dict(zip(keys, map(int, match.groups()[1:]), strict=True))
        return {}

    def task_status(self, task: str, host: str = "localhost") -> str:
        """What the default callback said of host at its first run of task ("role : name"): ok, changed,
        skipping, fatal, failed; "ignored" for a fatal with ignore_errors; "" when the task was not shown."""
        header = self.stdout.find(f"TASK [{task}] ")
        if header < 0:
            return ""
        end = self.stdout.find("\nTASK [", header + 1)
        section = self.stdout[header : end if end >= 0 else len(self.stdout)]
        for match in RESULT.finditer(section):
            if match.group(2) == host:
                status = match.group(1)
                return "ignored" if status == "fatal" and "...ignoring" in section[match.end() :] else status
        return ""


def run_playbook(
    playbook: Path | str,
    *args: str,
    extra_vars: dict | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> PlaybookRun:
    """ansible-playbook PLAYBOOK ARGS -e EXTRA_VARS (as JSON), from the repository's root."""
    cmd = [ANSIBLE_PLAYBOOK, str(playbook), *args]
    if extra_vars is not None:
        cmd += ["-e", json.dumps(extra_vars)]
    result = subprocess.run(
        cmd, cwd=ROOT, env=ansible_env(**(env or {})), capture_output=True, text=True, timeout=timeout, check=False
    )
    return PlaybookRun(result.returncode, result.stdout, result.stderr)
