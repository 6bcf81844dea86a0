"""Facts pinned in one place, and the places that must agree with them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from playbook_run import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from testbed_lib import engine, jaeger_pins  # noqa: E402

APP_PINS = ROOT / "roles" / "inventory_api" / "files" / "app" / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def pins(path: Path) -> dict[str, str]:
    """{normalised name: version} of a requirements file; fails on a line that is not `name==version`."""
    found = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not an exact pin: {line!r}"
        found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def test_each_python_package_is_pinned_once():
    app, tools = pins(APP_PINS), pins(ROOT / "requirements.txt")
    assert {"flask", "gunicorn", "opentelemetry-sdk"} <= set(app)
    assert {"ansible-core", "molecule", "pytest"} <= set(tools)
    assert sorted(set(app) & set(tools)) == []


def test_the_tools_are_locked_against_the_apps_pins():
    """make lock resolves the tools together with the app's pins, so the venv runs what the VMs run."""
    assert "-r roles/inventory_api/files/app/requirements.txt" in (ROOT / "requirements.in").read_text().splitlines()


def test_the_venv_has_the_apps_pins():
    """make setup installed the app's file too (a stale venv fails here, not in an odd test elsewhere)."""
    from importlib.metadata import version

    for name in ("flask", "opentelemetry-sdk", "gunicorn"):
        assert version(name) == pins(APP_PINS)[name]


def test_the_local_jaeger_build_is_the_roles_default_release():
    """The Go wrapper module pins the module version of the release roles/jaeger deploys."""
    release = jaeger_pins.image_version(jaeger_pins.role_image(ROOT))
    go_mod = ROOT / "scripts" / "testbed" / "go" / "jaeger" / "go.mod"
    assert jaeger_pins.module_version(go_mod) == jaeger_pins.module_version_of(release)


@pytest.mark.parametrize(("release", "module"), [("2.0.0", "v1.63.0"), ("2.13.0", "v1.76.0"), ("2.13.2", "v1.76.2")])
def test_jaeger_release_to_module_version(release, module):
    assert jaeger_pins.module_version_of(release) == module


@pytest.mark.parametrize(
    ("image", "tag"),
    [("jaegertracing/jaeger:2.13.0", "2.13.0"), ("registry.example:5000/mirror/jaegertracing/jaeger:2.13.1", "2.13.1")],
)
def test_jaeger_image_version(image, tag):
    assert jaeger_pins.image_version(image) == tag


@pytest.mark.parametrize("image", ["jaegertracing/jaeger:latest", "registry.example:5000/jaeger"])
def test_jaeger_image_without_a_release_tag_is_refused(image):
    with pytest.raises(SystemExit, match="has no X.Y.Z tag"):
        jaeger_pins.image_version(image)


def molecule_platforms() -> list[tuple[str, dict]]:
    """(file, platform) of the base config and of every scenario with its own platforms, as molecule reads them:
    ${VAR}s filled from what scripts/testbed.py writes to .env.yml."""
    settings = engine.labvm_settings()
    found = []
    for path in [ROOT / ".config" / "molecule" / "config.yml", *sorted((ROOT / "molecule").glob("*/molecule.yml"))]:
        text = re.sub(
            r"\$\{(LABVM_CAPABILITIES|LABVM_SECURITY_OPTS)\}", lambda m: settings[m.group(1)], path.read_text()
        )
        found += [(path.name, platform) for platform in yaml.safe_load(text).get("platforms") or []]
    return found


def test_every_lab_vm_platform_takes_its_options_from_the_test_bed():
    platforms = molecule_platforms()
    assert len(platforms) >= 4  # the base's and the class scenario's three
    for _, platform in platforms:
        assert platform["capabilities"] == list(engine.LABVM_CAPABILITIES)
        assert platform["security_opts"] == list(engine.LABVM_SECURITY_OPTS)


def test_integration_lab_vms_run_as_molecules():
    unprivileged = engine.labvm_run_options(False)
    assert unprivileged["cap_add"] == list(engine.LABVM_CAPABILITIES)
    assert "SYS_ADMIN" in unprivileged["cap_add"] and "SYS_RESOURCE" not in unprivileged["cap_add"]
    assert unprivileged["security_opt"] == ["seccomp=unconfined", "apparmor=unconfined"]
    assert unprivileged["tmpfs"] == {"/run": "", "/run/lock": "", "/tmp": ""}  # noqa: S108 - in the container
    assert unprivileged["cgroupns"] == "host"
    assert "privileged" not in unprivileged
    assert engine.labvm_run_options(True) == {"tmpfs": unprivileged["tmpfs"], "cgroupns": "host", "privileged": True}


def rerun_examples() -> list[tuple[str, str]]:
    """(file, command) of every re-run line the README and docs/ show as the kit prints it."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for command in re.findall(r"^Re-run only the \d+ failed \(with this run's class_\* settings\): (.+)$",
                                  path.read_text(encoding="utf-8"), re.M):  # fmt: skip
            found.append((path.name, command))
    return found


def test_the_docs_show_the_rerun_line():
    assert {name for name, _ in rerun_examples()} >= {"README.md", "instructor.md"}


@pytest.mark.parametrize(("doc", "command"), rerun_examples())
def test_a_rerun_line_the_docs_show_is_the_one_the_kit_prints(doc, command):
    """Rebuilt by the kit's own filter (plugins/filter/class_plan.py) from what the example says of its run: the
    playbook, roster, failed.txt, forks and -e settings; the settings a playbook sets itself (class.yml's
    class_grade_timeout) are the playbook's, whatever the example shows."""
    import importlib.util
    import shlex

    spec = importlib.util.spec_from_file_location("class_plan", ROOT / "plugins" / "filter" / "class_plan.py")
    class_plan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(class_plan)
    words = shlex.split(command)
    wrapper, playbook = words[0], words[1]
    assert wrapper.endswith("/bin/lab10"), "the re-run goes through the kit's wrapper"
    pairs = list(zip(words[2::2], words[3::2], strict=True))  # every option takes one value
    options = dict(pairs)  # -i, --limit, -f
    shown = dict(value.split("=", 1) for flag, value in pairs if flag == "-e")
    defaults = yaml.safe_load((ROOT / "roles" / "class" / "defaults" / "main.yml").read_text())
    forced = {}
    for play in yaml.safe_load((ROOT / "playbooks" / f"{playbook}.yml").read_text()):
        forced.update({k: v for k, v in (play.get("vars") or {}).items() if k in defaults})
    settings = {**defaults, **{k: v for k, v in shown.items() if k not in forced}, **forced}
    rebuilt = class_plan.class_rerun(
        wrapper, playbook, [options["-i"]], options["--limit"].lstrip("@"), settings, defaults,
        ["class_jaeger_bearer_token"], ["class_report_dir"], int(options["-f"]) if "-f" in options else None,
    )  # fmt: skip
    assert command == rebuilt, doc
    if "-f" in options:  # the forks a class run takes unless told otherwise: ansible.cfg's
        assert options["-f"] == re.search(r"(?m)^forks = (\d+)", (ROOT / "ansible.cfg").read_text()).group(1), doc
