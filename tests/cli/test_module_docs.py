"""The modules' documentation renders (ansible-doc); jaeger_trace's EXAMPLES pass ansible-lint's production profile."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "library" / "jaeger_trace.py"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1"}


class IndentedDumper(yaml.SafeDumper):
    """Indents sequences under their key, as yamllint (and so ansible-lint) expects."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def module_string(name: str) -> str:
    for node in ast.parse(MODULE.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {MODULE}")


def test_ansible_doc_renders_every_section():
    out = subprocess.run(
        [BIN / "ansible-doc", "-M", ROOT / "library", "jaeger_trace"], capture_output=True, text=True, env=ENV
    )
    assert out.returncode == 0, out.stderr
    for heading in ("OPTIONS", "ATTRIBUTES", "EXAMPLES", "RETURN VALUES", "check_mode"):
        assert heading in out.stdout, heading


def test_examples_pass_ansible_lint_production(tmp_path):
    tasks = yaml.safe_load(module_string("EXAMPLES"))
    assert isinstance(tasks, list) and tasks, "EXAMPLES must be a list of tasks"
    playbook = tmp_path / "examples.yml"
    play = [{"name": "Examples of jaeger_trace", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    playbook.write_text("---\n" + yaml.dump(play, Dumper=IndentedDumper, sort_keys=False, width=150))
    out = subprocess.run(
        [BIN / "ansible-lint", "--offline", "--profile", "production", "--nocolor", str(playbook)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**ENV, "ANSIBLE_LIBRARY": str(ROOT / "library")},
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_otel_doctor_documentation_renders():
    out = subprocess.run(
        [Path(sys.executable).parent / "ansible-doc", "-M", ROOT / "library", "otel_doctor"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "RETURN VALUES" in out.stdout and "check_mode" in out.stdout


@pytest.mark.parametrize(("kind", "name"), [("filter", "class_roster"), ("module", "class_report")])
def test_the_class_plugins_documentation_renders(kind, name):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    out = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-doc")), "-t", kind, name],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "EXAMPLES" in out.stdout
