"""Every role's defaults/main.yml, meta/argument_specs.yml and README tables agree.

Names, defaults and types must match, so the spec (and the README generated from it) can be trusted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "scripts" / "gen_readme_vars.py"
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
PY_TYPES = {
    "str": str,
    "path": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "list": list,
    "dict": dict,
}


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def options(role: Path) -> dict:
    """Every entry point's options (a default belongs to the entry point that uses it)."""
    merged = {}
    for entry in load(role / "meta" / "argument_specs.yml")["argument_specs"].values():
        merged.update(entry.get("options") or {})
    return merged


def defaults(role: Path) -> dict:
    path = role / "defaults" / "main.yml"
    return load(path) if path.exists() else {}


@pytest.fixture(params=ROLES, ids=[r.name for r in ROLES])
def role(request) -> Path:
    return request.param


def test_there_is_a_role():
    assert any(r.name == "inventory_api" for r in ROLES)


def test_same_names(role):
    spec, values = options(role), defaults(role)
    assert sorted(set(values) - set(spec)) == [], "in defaults/main.yml but not documented in argument_specs.yml"
    assert sorted(set(spec) - set(values)) == [], "documented in argument_specs.yml but missing in defaults/main.yml"


def test_same_defaults(role):
    spec, values = options(role), defaults(role)
    drift = {
        name: (spec[name].get("default"), value)
        for name, value in values.items()
        if name in spec and spec[name].get("default") != value
    }
    assert drift == {}, "name: (argument_specs default, defaults/main.yml value)"


def test_types_match_the_defaults(role):
    spec, values = options(role), defaults(role)
    wrong = {}
    for name, value in values.items():
        kind = spec.get(name, {}).get("type", "str")
        expected = PY_TYPES.get(kind)
        if expected is None:  # raw
            continue
        if isinstance(value, bool) and kind in ("int", "float"):
            wrong[name] = (kind, value)
        elif not isinstance(value, expected):
            wrong[name] = (kind, value)
        elif kind == "list" and "elements" in spec[name]:
            element = PY_TYPES[spec[name]["elements"]]
            if not all(isinstance(item, element) for item in value):
                wrong[name] = (f"list of {spec[name]['elements']}", value)
    assert wrong == {}


def test_every_option_is_described_and_typed(role):
    bad = [name for name, option in options(role).items() if not option.get("description") or "type" not in option]
    assert bad == []


def test_variable_prefixes(role):
    public = f"{role.name}_"
    assert [n for n in defaults(role) if not n.startswith(public)] == []
    internal = role / "vars" / "main.yml"
    if internal.exists():
        assert [n for n in load(internal) if not n.startswith(f"_{public}")] == []


def test_readme_tables_are_current():
    result = subprocess.run([sys.executable, str(GEN), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_check_mode_detects_a_stale_table(tmp_path):
    role_dir = tmp_path / "roles" / "demo"
    (role_dir / "meta").mkdir(parents=True)
    (role_dir / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n      demo_port:\n        type: int\n        default: 80\n"
        "        description: Port with a | pipe and C(code).\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- BEGIN VARS roles/demo -->\nold\n<!-- END VARS roles/demo -->\ntail\n")
    check = [sys.executable, str(GEN), "--check", "--root", str(tmp_path)]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 1
    assert "old" in readme.read_text()
    subprocess.run([sys.executable, str(GEN), "--root", str(tmp_path)], check=True, capture_output=True)
    text = readme.read_text()
    assert "| `demo_port` | `80` | int | Port with a \\| pipe and `code`. |" in text
    assert text.endswith("<!-- END VARS roles/demo -->\ntail\n")
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0


def test_readme_without_markers_is_left_alone(tmp_path):
    shutil.copytree(ROOT / "roles" / "inventory_api" / "meta", tmp_path / "roles" / "inventory_api" / "meta")
    (tmp_path / "README.md").write_text("no markers here\n")
    subprocess.run([sys.executable, str(GEN), "--root", str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path / "README.md").read_text() == "no markers here\n"


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("C(docker compose) and O(inventory_api_port)", "`docker compose` and `inventory_api_port`"),
        ("V(http/protobuf) or RV(trace_url)", "`http/protobuf` or `trace_url`"),
        ("I(the VM's) name", "*the VM's* name"),
        ("no markup (here)", "no markup (here)"),
    ],
)
def test_ansible_markup_to_markdown(text, markdown):
    sys.path.insert(0, str(GEN.parent))
    from gen_readme_vars import plain

    assert plain(text) == markdown
