"""make unit starts no Ansible CLI and no container: such tests live in tests/cli (make cli) or tests/integration."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent
SUBPROCESS = {"run", "Popen", "check_output", "check_call", "call"}
# A command that is an Ansible CLI, molecule or Docker (by name, or from the venv's bin).
CLI = re.compile(r"ansible|molecule|docker|bin/lab10|[\"']lab10[\"']")


def starts(source: str) -> list[str]:
    """What a test file starts: the command of each subprocess call naming a CLI, and the helpers that do."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
        if owner == "subprocess" and name in SUBPROCESS and node.args:
            command = ast.get_source_segment(source, node.args[0]) or ""
            if CLI.search(command):
                found.append(command)
        elif name == "run_playbook" or (owner == "docker" and name == "from_env"):
            found.append(f"{owner + '.' if owner else ''}{name}()")
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('subprocess.run([BIN / "ansible-doc", "-M", x])', ['[BIN / "ansible-doc", "-M", x]']),
        ("subprocess.run([str(Path(sys.executable).with_name('ansible')), 'localhost'])", 1),
        ('subprocess.run(["docker", "exec", vm, "true"])', 1),
        ("run_playbook(play)", ["run_playbook()"]),
        ("docker.from_env()", ["docker.from_env()"]),
        ('subprocess.run([sys.executable, ROOT / "scripts" / "gen.py"])', []),
        ('subprocess.run(["bash", "-c", script])', []),
        ('module_args = {"docker": "/nonexistent/docker"}', []),
    ],
)
def test_starts_finds_cli_commands_only(source, expected):
    found = starts(source)
    assert (len(found) if isinstance(expected, int) else found) == expected


@pytest.mark.parametrize("path", sorted(UNIT.glob("test_*.py")), ids=lambda p: p.name)
def test_a_unit_test_starts_no_ansible_cli_and_no_container(path):
    found = starts(path.read_text(encoding="utf-8"))
    assert not found, f"{path.name} starts {found}: move it to tests/cli (or tests/integration)"
