"""The role's compose merge filter (roles/inventory_api/filter_plugins/compose_merge.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

PLUGIN = Path(__file__).resolve().parents[2] / "roles" / "inventory_api" / "filter_plugins" / "compose_merge.py"
_spec = importlib.util.spec_from_file_location("inventory_api_compose_merge", PLUGIN)
compose_merge_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compose_merge_module)
merge = compose_merge_module.compose_merge

HEADER = "#\n# Ansible managed\n#"
MANAGED = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "https://jaeger.sysadm.ee",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_SERVICE_NAME": "inventory.student-xyz.sysadm.ee",
    "INVENTORY_CACHE_SLEEP_SECONDS": "0.3",
}
ROLE_ARGS = {
    "service": {
        "build": {"context": "/home/centos/lab10/inventory-api", "args": {"BASE_IMAGE": "python:3.11-slim"}},
        "image": "lab10-inventory-api:0123456789ab",
        "healthcheck": {"test": ["CMD", "/opt/venv/bin/python", "-c", "print(1)"], "interval": "10s"},
    },
    "defaults": {"restart": "unless-stopped", "ports": ["127.0.0.1:5000:5000"]},
    "environment": MANAGED,
    "volumes": ["/data/inventory:/data"],
    "volume_targets_removed": ["/app"],
    "keys_removed": ["command", "entrypoint", "working_dir", "user"],
    "header": HEADER,
}

MINIO = {
    "image": "minio/minio:latest",
    "command": "server /data",
    "volumes": ["/data/minio:/data"],
    "networks": ["backend"],
    "environment": {"MINIO_ROOT_USER": "admin"},
}
TOP_VOLUMES = {"minio-cache": {"driver": "local"}}
TOP_NETWORKS = {"backend": {"driver": "bridge"}}

LIST_ENV = """\
# lab10 compose file, edited by hand
services:
  minio:
    image: minio/minio:latest
    command: server /data
    volumes:
      - /data/minio:/data
    networks:
      - backend
    environment:
      MINIO_ROOT_USER: admin
  inventory:
    build: ./inventory
    command: python app.py
    ports:
      - "127.0.0.1:5000:5000"
    environment:
      - FLASK_DEBUG=0   # student's own
      - OTEL_SERVICE_NAME=inventory.typo.sysadm.ee
    volumes:
      - /data/inventory:/data
      - ./inventory:/app
    networks:
      - backend
volumes:
  minio-cache:
    driver: local
networks:
  backend:
    driver: bridge
"""

DICT_ENV = """\
services:
    minio:
        image: minio/minio:latest
        command: server /data
        volumes:
        - /data/minio:/data
        networks:
        - backend
        environment:
            MINIO_ROOT_USER: admin
    inventory:
        image: inventory:latest
        restart: always
        environment:
            FLASK_DEBUG: "0"
            OTEL_EXPORTER_OTLP_PROTOCOL: grpc
        volumes:
        - type: bind
          source: /data/inventory
          target: /data
volumes:
    minio-cache:
        driver: local
networks:
    backend:
        driver: bridge
"""

NO_ENV = """\
services:
  minio:
    image: minio/minio:latest
    command: server /data
    volumes: ["/data/minio:/data"]
    networks: [backend]
    environment:
      MINIO_ROOT_USER: admin
  inventory:
    build: ./inventory
    ports: ["5000:5000"]
volumes:
  minio-cache:
    driver: local
networks:
  backend:
    driver: bridge
"""

NO_INVENTORY = """\
services:
  minio:
    image: minio/minio:latest
    command: server /data
    volumes:
      - /data/minio:/data
    networks:
      - backend
    environment:
      MINIO_ROOT_USER: admin
volumes:
  minio-cache:
    driver: local
networks:
  backend:
    driver: bridge
"""

STUDENT_FILES = {"list-env": LIST_ENV, "dict-env": DICT_ENV, "no-env": NO_ENV, "no-inventory": NO_INVENTORY}


@pytest.fixture(params=[True, False], ids=["ruamel", "pyyaml"])
def use_ruamel(request):
    return request.param


@pytest.fixture(params=sorted(STUDENT_FILES))
def student(request):
    return request.param, STUDENT_FILES[request.param]


def run(text, use_ruamel=True, **overrides):
    return merge(text, "inventory", **{**ROLE_ARGS, **overrides}, use_ruamel=use_ruamel)


def env_of(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {k: (None if v is None else str(v)) for k, v in env.items()}
    return dict(entry.split("=", 1) if "=" in entry else (entry, None) for entry in env)


def test_other_services_volumes_networks_untouched(student, use_ruamel):
    _, text = student
    out = yaml.safe_load(run(text, use_ruamel))
    assert out["services"]["minio"] == MINIO
    assert out["volumes"] == TOP_VOLUMES
    assert out["networks"] == TOP_NETWORKS


def test_managed_variables_set_and_overwritten(student, use_ruamel):
    _, text = student
    env = env_of(yaml.safe_load(run(text, use_ruamel))["services"]["inventory"])
    for key, value in MANAGED.items():
        assert env[key] == value


def test_student_variables_kept(student, use_ruamel):
    name, text = student
    env = env_of(yaml.safe_load(run(text, use_ruamel))["services"]["inventory"])
    if name in ("list-env", "dict-env"):
        assert env["FLASK_DEBUG"] == "0"
    assert set(env) - set(MANAGED) == ({"FLASK_DEBUG"} if name in ("list-env", "dict-env") else set())


MANAGED_ENTRIES = [f"{key}={value}" for key, value in MANAGED.items()]


@pytest.mark.parametrize(
    ("name", "environment"),
    [
        (
            "list-env",
            [
                "FLASK_DEBUG=0",
                "OTEL_SERVICE_NAME=inventory.student-xyz.sysadm.ee",  # the student's typo, corrected in place
                "OTEL_EXPORTER_OTLP_ENDPOINT=https://jaeger.sysadm.ee",
                "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
                "INVENTORY_CACHE_SLEEP_SECONDS=0.3",
            ],
        ),
        (
            "dict-env",
            {
                "FLASK_DEBUG": "0",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",  # was grpc, in place
                "OTEL_EXPORTER_OTLP_ENDPOINT": "https://jaeger.sysadm.ee",
                "OTEL_SERVICE_NAME": "inventory.student-xyz.sysadm.ee",
                "INVENTORY_CACHE_SLEEP_SECONDS": "0.3",
            },
        ),
        ("no-env", MANAGED_ENTRIES),
    ],
)
def test_environment_form_and_order_are_kept(name, environment, use_ruamel):
    """A list stays a list, a mapping a mapping; the student's entries keep their places, ours come after."""
    out = yaml.safe_load(run(STUDENT_FILES[name], use_ruamel))
    assert out["services"]["inventory"]["environment"] == environment
    assert list(out["services"]["inventory"]["environment"]) == list(environment)


def test_list_env_replaced_in_place():
    out = yaml.safe_load(run(LIST_ENV))
    env = out["services"]["inventory"]["environment"]
    assert env[0] == "FLASK_DEBUG=0"
    assert env[1] == "OTEL_SERVICE_NAME=inventory.student-xyz.sysadm.ee"
    assert sum(entry.startswith("OTEL_SERVICE_NAME=") for entry in env) == 1


def test_owned_keys_replaced_and_defaults_only_when_missing(use_ruamel):
    out = yaml.safe_load(run(DICT_ENV, use_ruamel))["services"]["inventory"]
    assert out["image"] == "lab10-inventory-api:0123456789ab"
    assert out["build"]["context"] == "/home/centos/lab10/inventory-api"
    assert out["restart"] == "always"  # the student's restart policy wins
    assert out["ports"] == ["127.0.0.1:5000:5000"]
    no_env = yaml.safe_load(run(NO_ENV, use_ruamel))["services"]["inventory"]
    assert no_env["ports"] == ["5000:5000"]  # their port mapping stays
    assert no_env["restart"] == "unless-stopped"


def test_code_shadowing_mount_and_command_dropped_data_mount_kept(use_ruamel):
    out = yaml.safe_load(run(LIST_ENV, use_ruamel))["services"]["inventory"]
    assert out["volumes"] == ["/data/inventory:/data"]
    assert "command" not in out
    assert out["networks"] == ["backend"]


def test_long_syntax_data_volume_replaced_in_place(use_ruamel):
    out = yaml.safe_load(run(DICT_ENV, use_ruamel))["services"]["inventory"]
    assert out["volumes"] == ["/data/inventory:/data"]


def test_fresh_file_is_complete(use_ruamel):
    text = run("", use_ruamel, top_level={"secrets": {"inventory_api_extra_ca": {"file": "/x/ca.pem"}}})
    assert text.startswith(HEADER + "\n")
    out = yaml.safe_load(text)
    svc = out["services"]["inventory"]
    assert list(svc) == ["build", "image", "restart", "ports", "environment", "volumes", "healthcheck"]
    assert svc["ports"] == ["127.0.0.1:5000:5000"]
    assert svc["restart"] == "unless-stopped"
    assert svc["volumes"] == ["/data/inventory:/data"]
    assert svc["environment"] == MANAGED_ENTRIES
    assert out["secrets"] == {"inventory_api_extra_ca": {"file": "/x/ca.pem"}}


def test_none_is_a_fresh_file():
    assert run(None) == run("")


def test_environment_absent_removes_only_named(use_ruamel):
    text = run(LIST_ENV, use_ruamel, environment_absent=["FLASK_DEBUG", "OTEL_SERVICE_NAME"])
    assert yaml.safe_load(text)["services"]["inventory"]["environment"] == [
        "OTEL_SERVICE_NAME=inventory.student-xyz.sysadm.ee",  # managed: never removed, set in its place
        "OTEL_EXPORTER_OTLP_ENDPOINT=https://jaeger.sysadm.ee",
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
        "INVENTORY_CACHE_SLEEP_SECONDS=0.3",
    ]


def test_duplicate_entries_of_a_managed_variable_become_one(use_ruamel):
    """With two OTEL_SERVICE_NAME entries it would be unclear which one compose uses."""
    text = LIST_ENV.replace(
        "      - FLASK_DEBUG=0   # student's own\n",
        "      - FLASK_DEBUG=0   # student's own\n      - OTEL_SERVICE_NAME=other\n",
    )
    env = yaml.safe_load(run(text, use_ruamel))["services"]["inventory"]["environment"]
    assert env[:3] == [
        "FLASK_DEBUG=0",
        "OTEL_SERVICE_NAME=inventory.student-xyz.sysadm.ee",
        "OTEL_EXPORTER_OTLP_ENDPOINT=https://jaeger.sysadm.ee",
    ]
    assert [entry for entry in env if entry.startswith("OTEL_SERVICE_NAME=")] == [env[1]]


def test_env_values_become_strings():
    text = run("", environment={"WEB_CONCURRENCY": 2, "FLAG": True})
    assert env_of(yaml.safe_load(text)["services"]["inventory"]) == {"WEB_CONCURRENCY": "2", "FLAG": "true"}


def test_idempotent(student, use_ruamel):
    _, text = student
    once = run(text, use_ruamel)
    assert run(once, use_ruamel) == once


# Comments everywhere ruamel.yaml files them differently: before the first key, between entries, after
# an entry the role replaces or removes, at the end of a block and of the file.
COMMENTED = """\
# lab10 compose file, edited by hand
# second line of the header comment

services:
  # object storage for the lab
  minio:
    image: minio/minio:latest   # pinned later
    volumes:
      - /data/minio:/data   # keep me

  # the API (not traced yet)
  inventory:
    build: ./inventory   # my Dockerfile
    # the dev server, for now
    command: python app.py
    # published for Apache only
    ports:
      - "127.0.0.1:5000:5000"   # Apache proxies here
    environment:
      # mine
      - FLASK_DEBUG=0   # student's own
      - OTEL_SDK_DISABLED=true   # while I debug
      # about the name
      - OTEL_SERVICE_NAME=inventory.typo.sysadm.ee   # typo
      # about the last one
      - LAST=1
    volumes:
      - ./inventory:/app   # live code
      # the data
      - /data/inventory:/data
    restart: always   # come back after reboot

  # end of the services
volumes:
  minio-cache:   # scratch
    driver: local
# trailing note
"""
# Lines whose entry the role replaces: their end-of-line comment stays on the entry's new line.
REPLACED = {
    "    build: ./inventory   # my Dockerfile": "    build:",
    "      - OTEL_SERVICE_NAME=inventory.typo.sysadm.ee   # typo": "      - OTEL_SERVICE_NAME=",
}
# Lines the role removes with their end-of-line comment (they describe what is gone).
REMOVED = {"      - OTEL_SDK_DISABLED=true   # while I debug", "      - ./inventory:/app   # live code"}


def code_after(lines: list[str], index: int, survivor=lambda line: line) -> str | None:
    """The first line after lines[index] that is neither blank nor a comment, as survivor() maps it."""
    for line in lines[index + 1 :]:
        if line.strip() and not line.lstrip().startswith("#") and survivor(line) is not None:
            return survivor(line)
    return None


def test_student_comments_stay_byte_identical_in_place():
    out = run(COMMENTED, environment_absent=["OTEL_SDK_DISABLED"], top_level={"secrets": {"ca": {"file": "/x"}}})
    before, after = COMMENTED.splitlines(), out.splitlines()

    def survivor(line: str) -> str | None:
        """line as it stands in the result: the same, its replaced version, or None (removed)."""
        if line in REPLACED:
            return next(row for row in after if row.startswith(REPLACED[line]))
        return line if line in after else None

    position = -1
    for index, line in enumerate(before):
        if "#" not in line or line in REMOVED:
            continue
        if line in REPLACED:
            assert survivor(line).endswith(line[line.index("#") - 1 :].lstrip()), (line, survivor(line))
            continue
        assert line in after, f"lost or changed: {line!r}"
        assert after.index(line) > position, f"out of order: {line!r}"
        position = after.index(line)
        if line.lstrip().startswith("#"):  # a comment line still stands above the same student line
            assert code_after(after, position) == code_after(before, index, survivor), line
    assert after[-1] == "# trailing note"
    assert "- OTEL_SDK_DISABLED=true" not in out and "./inventory:/app" not in out
    assert yaml.safe_load(out)["secrets"] == {"ca": {"file": "/x"}}


def test_quotes_survive_with_ruamel():
    assert '- "127.0.0.1:5000:5000"' in run(LIST_ENV)


@pytest.mark.parametrize(
    ("name", "indent"), [("list-env", "      - FLASK_DEBUG"), ("dict-env", "        - /data/minio")]
)
def test_indentation_style_kept_with_ruamel(name, indent):
    """Every line of the student's file is still there as it was (no re-indentation)."""
    out = run(STUDENT_FILES[name]).splitlines()
    assert any(line.startswith(indent) for line in out)
    untouched = STUDENT_FILES[name].split("  inventory:" if name == "list-env" else "    inventory:")[0]
    assert "\n".join(out).count(untouched) == 1


def test_explicit_document_start_kept(use_ruamel):
    assert "\n---\n" in "\n" + run("---\n" + NO_ENV, use_ruamel).split(HEADER + "\n", 1)[1]


def test_header_added_once():
    once = run(LIST_ENV)
    assert once.count("Ansible managed") == 1
    assert run(once).count("Ansible managed") == 1


def test_changed_header_replaces_ours_but_keeps_student_comments():
    old = run(
        LIST_ENV, header="#\n# Ansible managed: old text (role inventory_api)\n#", header_marker="(role inventory_api)"
    )
    new = run(
        old, header="#\n# Ansible managed: new text (role inventory_api)\n#", header_marker="(role inventory_api)"
    )
    assert "old text" not in new
    assert new.startswith(
        "#\n# Ansible managed: new text (role inventory_api)\n#\n# lab10 compose file, edited by hand\n"
    )


def test_student_leading_comment_block_is_not_taken_for_ours():
    text = "#\n# my notes\n#\n" + NO_ENV
    out = run(text, header_marker="(role inventory_api)")
    assert out.startswith(HEADER + "\n#\n# my notes\n#\nservices:\n")


def test_top_level_secrets_merged_by_name():
    text = "services: {}\nsecrets:\n  theirs:\n    file: ./theirs.txt\n"
    out = yaml.safe_load(run(text, top_level={"secrets": {"ours": {"file": "/x"}}}))
    assert out["secrets"] == {"theirs": {"file": "./theirs.txt"}, "ours": {"file": "/x"}}


def test_other_service_name():
    out = yaml.safe_load(merge(LIST_ENV, "api", environment={"A": "1"}))
    assert out["services"]["api"] == {"environment": ["A=1"]}
    assert out["services"]["inventory"] == yaml.safe_load(LIST_ENV)["services"]["inventory"]


def test_tagged_subclasses_are_accepted():
    """Ansible 2.19 passes str/dict subclasses; the dumpers must still see plain types."""

    class TaggedStr(str):
        pass

    class TaggedDict(dict):
        pass

    out = merge("", "inventory", environment=TaggedDict({TaggedStr("K"): TaggedStr("v")}), use_ruamel=False)
    assert yaml.safe_load(out)["services"]["inventory"]["environment"] == ["K=v"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("services: [1\n", "not valid YAML"),
        ("- a\n- b\n", "not a YAML mapping"),
        ("services: [a, b]\n", "not a mapping"),
        ("services:\n  inventory: 3\n", "not a mapping"),
        ("services:\n  inventory:\n    environment: FOO=1\n", "list (- K=V) or a mapping"),
        ("services:\n  inventory:\n    volumes: /a:/b\n", "volumes must be a list"),
    ],
)
def test_errors_say_nothing_changed(text, fragment, use_ruamel):
    with pytest.raises(compose_merge_module.AnsibleFilterError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        run(text, use_ruamel)


@pytest.mark.parametrize(
    ("entry", "target"),
    [("/a:/b", "/b"), ("/a:/b:ro", "/b"), ("/b", "/b"), ({"type": "bind", "source": "/a", "target": "/b"}, "/b")],
)
def test_volume_target(entry, target):
    assert compose_merge_module._volume_target(entry) == target


def test_filter_module_exports_the_filters():
    assert compose_merge_module.FilterModule().filters() == {
        "inventory_api_compose_merge": merge,
        "inventory_api_compose_override_conflicts": compose_merge_module.compose_override_conflicts,
    }


CODE_AND_DATA_MOUNTS = """\
services:
  inventory:
    build: ./inventory
    volumes:
      - ./inventory:/app
      - ./venv:/opt/venv
      - ./site:/opt/venv/lib/site-packages
      - ./app.py:/app/app.py:ro
      - type: bind
        source: ./storage.py
        target: /app/storage.py
      - ./data:/app/data
      - inv:/app/instance
      - type: volume
        source: inv-cache
        target: /app/cache
volumes:
  inv: {}
  inv-cache: {}
"""

ROLE_VOLUME_ARGS = {
    **ROLE_ARGS,
    "volume_targets_removed": ["/app", "/opt/venv"],
    "volume_roots_removed": ["/opt/venv"],
    "volume_py_files_removed": True,
}


def test_mounts_that_hide_the_code_are_dropped():
    volumes = yaml.safe_load(merge(CODE_AND_DATA_MOUNTS, "inventory", **ROLE_VOLUME_ARGS))["services"]["inventory"][
        "volumes"
    ]
    assert volumes == [
        "./data:/app/data",
        "inv:/app/instance",
        {"type": "volume", "source": "inv-cache", "target": "/app/cache"},
        "/data/inventory:/data",
    ]


def test_data_mounts_under_app_are_kept():
    out = yaml.safe_load(merge(CODE_AND_DATA_MOUNTS, "inventory", **ROLE_VOLUME_ARGS))
    volumes = out["services"]["inventory"]["volumes"]
    assert "./data:/app/data" in volumes  # a bind mount of a data directory
    assert "inv:/app/instance" in volumes  # a named volume
    assert {"type": "volume", "source": "inv-cache", "target": "/app/cache"} in volumes
    assert "/data/inventory:/data" in volumes
    assert out["volumes"] == {"inv": {}, "inv-cache": {}}


def test_exact_target_does_not_reach_below_it():
    """volume_targets_removed alone drops /app itself, nothing under it."""
    volumes = yaml.safe_load(merge(CODE_AND_DATA_MOUNTS, "inventory", **ROLE_ARGS))["services"]["inventory"]["volumes"]
    assert "./inventory:/app" not in volumes
    assert "./app.py:/app/app.py:ro" in volumes
    assert "./data:/app/data" in volumes


@pytest.mark.parametrize("name", ["lab10", None])
def test_project_name_of_the_file_agrees(name, use_ruamel):
    text = ("" if name is None else f"name: {name}\n") + NO_ENV
    out = yaml.safe_load(run(text, use_ruamel, project_name="lab10"))
    assert out.get("name") == name


def test_another_project_name_in_the_file_is_refused(use_ruamel):
    """`name: mylab` makes `docker compose up` (no -p) run project mylab while the role runs lab10."""
    with pytest.raises(compose_merge_module.AnsibleFilterError) as refused:
        run(NO_ENV + "name: mylab\n", use_ruamel, project_name="lab10")
    message = str(refused.value)
    assert "`name: mylab`" in message and "inventory_api_compose_project 'lab10'" in message
    assert "Set inventory_api_compose_project: mylab" in message and "nothing was changed" in message
    assert ("(line 18)" in message) is use_ruamel


OVERRIDE_ARGS = {
    "environment": [*MANAGED, "OTEL_SDK_DISABLED"],
    "keys": ["build", "image", "healthcheck", "command", "entrypoint"],
    "volume_targets": ["/app"],
    "volume_roots": ["/opt/venv"],
    "volume_py_files": True,
}


def test_override_that_keeps_the_roles_settings_is_fine():
    text = "services:\n  inventory:\n    ports: ['8080:5000']\n    environment:\n      - FLASK_DEBUG=1\n  minio: {}\n"
    assert compose_merge_module.compose_override_conflicts(text, "inventory", **OVERRIDE_ARGS) == []


@pytest.mark.parametrize("text", ["", "services:\n  minio:\n    command: x\n", "# only a comment\n"])
def test_override_without_the_service_is_fine(text):
    assert compose_merge_module.compose_override_conflicts(text, "inventory", **OVERRIDE_ARGS) == []


def test_override_conflicts_name_the_key_and_line():
    text = """\
services:
  inventory:
    command: python app.py
    environment:
      OTEL_SDK_DISABLED: "true"
      OTEL_SERVICE_NAME: mine
      FLASK_DEBUG: "1"
    volumes:
      - ./src:/app
      - ./data:/app/data
"""
    assert compose_merge_module.compose_override_conflicts(text, "inventory", **OVERRIDE_ARGS) == [
        "services.inventory.command (line 3)",
        "services.inventory.environment OTEL_SDK_DISABLED (line 4)",
        "services.inventory.environment OTEL_SERVICE_NAME (line 4)",
        "services.inventory.volumes /app (line 8)",
    ]


def test_override_that_is_not_yaml_is_a_conflict():
    (found,) = compose_merge_module.compose_override_conflicts("services: [1\n", "inventory", **OVERRIDE_ARGS)
    assert found.startswith("it is not valid YAML")
