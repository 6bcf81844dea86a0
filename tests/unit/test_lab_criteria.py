"""The lab's criteria have one home, module_utils/lab/criteria.py: the role lab_criteria's vars read it through
the role's filter lab_criterion. These tests fail when a role var holds a value of its own, when the filter and
Python differ, when a role task file spells a criterion out instead of using them, or when the roles stop
depending on lab_criteria."""

from __future__ import annotations

import runpy
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.module_utils.doctor.evidence import DEFAULT_PYTHONS
from ansible.module_utils.lab import criteria as lab_criteria
from ansible.modules import otel_doctor

ROOT = Path(__file__).resolve().parents[2]
ROLE_VARS = yaml.safe_load((ROOT / "roles" / "lab_criteria" / "vars" / "main.yml").read_text())
PYTHON = {
    "_lab_criteria_operation": "OPERATION",
    "_lab_criteria_parent_operation": "PARENT_OPERATION",
    "_lab_criteria_min_duration_ms": "MIN_DURATION_MS",
    "_lab_criteria_domain": "DOMAIN",
}
FILTER = runpy.run_path(str(ROOT / "roles" / "lab_criteria" / "filter_plugins" / "lab_criterion.py"))["lab_criterion"]


def test_the_roles_vars_name_pythons_criteria_and_hold_no_value():
    assert ROLE_VARS == {var: f"{{{{ '{name}' | lab_criterion }}}}" for var, name in PYTHON.items()}


@pytest.mark.parametrize("name", sorted(PYTHON.values()))
def test_the_roles_filter_gives_pythons_values(name):
    assert FILTER(name) == getattr(lab_criteria, name)
    assert type(FILTER(name)) is type(getattr(lab_criteria, name))  # 300 stays a number


def test_the_filter_names_the_criteria_it_knows():
    with pytest.raises(Exception, match="OPERATION, PARENT_OPERATION, MIN_DURATION_MS, DOMAIN"):
        FILTER("SERVICE_NAME")


def rendered_role_vars():
    env = jinja2.Environment(autoescape=True)  # no markup in these values
    env.filters["lab_criterion"] = FILTER
    return {var: env.from_string(value).render() for var, value in ROLE_VARS.items()}


def test_the_service_name_of_the_role_is_pythons():
    """The role's default goes through its filter plugin to lab_criteria.service_name: one rule."""
    defaults = yaml.safe_load((ROOT / "roles" / "inventory_api" / "defaults" / "main.yml").read_text())
    plugin = runpy.run_path(str(ROOT / "roles" / "inventory_api" / "filter_plugins" / "service_name.py"))
    env = jinja2.Environment(autoescape=True)  # no markup in these values
    env.filters.update(plugin["FilterModule"]().filters())
    context = dict(rendered_role_vars(), inventory_api_vm_name="vm42")
    context["inventory_api_domain"] = env.from_string(defaults["inventory_api_domain"]).render(context)
    rendered = env.from_string(defaults["inventory_api_otel_service_name"]).render(context)
    assert rendered == lab_criteria.service_name("vm42") == "inventory.vm42.sysadm.ee"
    assert env.from_string(defaults["inventory_api_otel_service_name"]).render(context, inventory_api_domain="x.y") == (
        "inventory.vm42.x.y"
    )


@pytest.mark.parametrize("role", ["inventory_api", "class"])
def test_the_roles_that_check_traces_depend_on_lab_criteria(role):
    meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
    assert {"role": "lab_criteria"} in meta["dependencies"]


def role_files():
    return sorted(
        path
        for kind in ("tasks", "vars", "defaults")
        for path in ROOT.glob(f"roles/*/{kind}/*.yml")
        if path.parts[-3] != "lab_criteria"
    )


def strings(node):
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize("path", role_files(), ids=lambda p: str(p.relative_to(ROOT / "roles")))
def test_no_role_spells_out_the_span_or_its_parent(path):
    """Values only: a comment may name them."""
    found = [text for text in strings(yaml.safe_load(path.read_text())) if lab_criteria.OPERATION in text]
    found += [text for text in strings(yaml.safe_load(path.read_text())) if lab_criteria.PARENT_OPERATION in text]
    assert found == []


def test_the_doctors_defaults_are_the_shared_constants():
    spec = otel_doctor.DOCUMENTATION
    parsed = yaml.safe_load(spec)["options"]
    assert parsed["operation"]["default"] == lab_criteria.OPERATION
    assert parsed["parent_operation"]["default"] == lab_criteria.PARENT_OPERATION
    assert parsed["min_duration_ms"]["default"] == lab_criteria.MIN_DURATION_MS
    assert parsed["python"]["default"] == list(DEFAULT_PYTHONS)
