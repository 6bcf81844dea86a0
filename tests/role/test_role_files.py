"""The real inventory_api role, run by ansible-playbook against this machine (connection local).

`inventory_api_deploy: false` (or check mode) keeps Docker's engine out of it: the role writes the app,
the token and the merged compose file under a temp dir, and validates the compose file with the real
`docker compose config` (the CLI plugin only; no engine needed).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from playbook_run import ROOT, PlaybookRun, run_playbook

PLAYBOOK = ROOT / "tests" / "role" / "playbook.yml"
TOKEN = "role-test-token-0123456789"


def _compose_works() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def engine_enabled_and_active() -> bool:
    """What preflight's probe asks systemd here: docker.service enabled and active (no systemctl: no)."""
    try:
        answers = [
            subprocess.run(["systemctl", verb, "docker.service"], capture_output=True, text=True).stdout.strip()
            for verb in ("is-enabled", "is-active")
        ]
    except OSError:
        return False
    return answers == ["enabled", "active"]


pytestmark = pytest.mark.skipif(
    not _compose_works(), reason="`docker compose` is missing: `make testbed` installs the compose plugin"
)

STUDENT_COMPOSE = """\
# lab10 stack, by the student
services:
  minio:
    image: minio/minio:latest
    command: server /data --console-address ":9001"
    volumes:
      - /data/minio:/data   # keep me
    networks:
      - backend
  inventory:
    build: ./inventory
    command: python app.py
    ports:
      - "127.0.0.1:5000:5000"
    environment:
      - STUDENT_VAR=keep-me
      - OTEL_SERVICE_NAME=wrong-name
    volumes:
      - /data/inventory:/data
    networks:
      - backend
volumes:
  minio-cache: {}
networks:
  backend:
    driver: bridge
"""


class Lab:
    """A temp 'VM': lab dir, data dir, extra vars; runs the role on it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.lab = base / "lab10"
        self.compose = self.lab / "docker-compose.yml"
        self.data = base / "data" / "inventory"
        self.ca = base / "extra-ca.pem"
        self.ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        self.vars = {
            "inventory_api_lab_dir": str(self.lab),
            "inventory_api_data_dir": str(self.data),
            "inventory_api_owner": user,
            "inventory_api_group": group,
            # chown to another uid needs root; uid 0 is refused by the role (the app must not run as root)
            "inventory_api_app_uid": os.getuid() or 10001,
            "inventory_api_vm_name": "student-xyz",
            "inventory_api_token": TOKEN,
            "inventory_api_deploy": False,
        }

    def run(self, *args: str, **extra) -> tuple[PlaybookRun, dict[str, int]]:
        result = run_playbook(PLAYBOOK, *args, extra_vars={**self.vars, **extra})
        return result, result.stats()

    def snapshot(self) -> dict[str, tuple]:
        """Every path under the temp 'VM' with its type, mode, owner, mtime and content."""
        state = {}
        for path in sorted(self.base.rglob("*")):
            info = path.lstat()
            content = path.read_bytes() if path.is_file() else None
            state[str(path.relative_to(self.base))] = (info.st_mode, info.st_uid, info.st_mtime_ns, content)
        return state


def output(result: PlaybookRun) -> str:
    return result.output


@pytest.fixture
def student_lab(tmp_path) -> Lab:
    lab = Lab(tmp_path)
    lab.lab.mkdir()
    lab.compose.write_text(STUDENT_COMPOSE)
    (lab.lab / ".env").write_text("MINIO_TAG=latest\n")
    return lab


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory):
    """A student's lab10 after one real run of the role (shared: every test here only reads it)."""
    lab = Lab(tmp_path_factory.mktemp("provisioned"))
    lab.lab.mkdir()
    lab.compose.write_text(STUDENT_COMPOSE)
    result, stats = lab.run()
    assert result.returncode == 0, output(result)
    lab.first_stats = stats
    return lab


def test_first_run_changes_things(provisioned):
    assert provisioned.first_stats["changed"] > 0
    assert provisioned.first_stats["failed"] == 0


def test_merge_keeps_the_students_stack(provisioned):
    before, after = yaml.safe_load(STUDENT_COMPOSE), yaml.safe_load(provisioned.compose.read_text())
    assert after["services"]["minio"] == before["services"]["minio"]
    assert after["volumes"] == before["volumes"]
    assert after["networks"] == before["networks"]
    inventory = after["services"]["inventory"]
    env = dict(entry.split("=", 1) for entry in inventory["environment"])
    assert env["STUDENT_VAR"] == "keep-me"
    assert env["OTEL_SERVICE_NAME"] == "inventory.student-xyz.sysadm.ee"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "https://jaeger.sysadm.ee"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert inventory["networks"] == ["backend"]
    assert inventory["ports"] == ["127.0.0.1:5000:5000"]
    assert inventory["build"]["context"] == str(provisioned.lab / "inventory-api")
    assert "command" not in inventory
    assert inventory["volumes"] == [
        f"{provisioned.data}:/data:z",  # the student's mount of the same target, replaced in place
        f"{provisioned.lab}/inventory-api-secrets:/run/inventory-api/secrets:ro,z",
    ]
    assert after["services"]["minio"]["volumes"] == ["/data/minio:/data"]  # the student's own: no `z` added
    lines = provisioned.compose.read_text().splitlines()
    header = lines.index("# lab10 stack, by the student")  # right below the role's header, as the first line was
    assert lines[header - 1] == "#" and lines[header + 1] == "services:"
    assert "      - /data/minio:/data   # keep me" in lines


def test_backup_of_the_original_is_kept(provisioned):
    backups = list(provisioned.lab.glob("docker-compose.yml.*~"))
    assert len(backups) == 1
    assert backups[0].read_text() == STUDENT_COMPOSE


def test_result_is_valid_for_docker_compose(provisioned):
    result = subprocess.run(
        ["docker", "compose", "-f", str(provisioned.compose), "config", "--quiet"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_app_and_token_files(provisioned):
    app = provisioned.lab / "inventory-api"
    source = ROOT / "roles" / "inventory_api" / "files" / "app"
    shipped = sorted(path.name for path in source.iterdir() if path.is_file() and not path.name.startswith("."))
    assert {"Dockerfile", "requirements.txt", "app.py", "wsgi.py"} <= set(shipped)
    assert sorted(path.name for path in app.iterdir()) == shipped  # no __pycache__, no temp file left behind
    for name in shipped:
        assert (app / name).read_bytes() == (source / name).read_bytes()
        assert oct((app / name).stat().st_mode & 0o777) == "0o644"
    assert oct(app.stat().st_mode & 0o777) == "0o755"
    token = provisioned.lab / "inventory-api-secrets" / "api_token"
    assert token.read_text() == TOKEN + "\n"
    assert oct(token.stat().st_mode & 0o777) == "0o600"
    assert oct(token.parent.stat().st_mode & 0o777) == "0o700"
    assert provisioned.data.is_dir()


def test_second_run_changes_nothing(provisioned):
    before = provisioned.snapshot()
    result, stats = provisioned.run()
    assert result.returncode == 0, output(result)
    assert stats["changed"] == 0, output(result)
    assert provisioned.snapshot() == before


def test_check_diff_shows_the_change_and_changes_nothing(provisioned):
    """Also: a changed token shows up neither in the diff nor in verbose output."""
    before = provisioned.snapshot()
    result, stats = provisioned.run(
        "--check",
        "--diff",
        "-v",
        inventory_api_otlp_endpoint="https://otel.example.org",
        inventory_api_token="new-token-42",
    )
    assert result.returncode == 0, output(result)
    assert stats["changed"] >= 2  # compose file and token file
    assert "new-token-42" not in output(result)
    assert TOKEN not in output(result)
    assert "-      - OTEL_EXPORTER_OTLP_ENDPOINT=https://jaeger.sysadm.ee" in result.stdout
    assert "+      - OTEL_EXPORTER_OTLP_ENDPOINT=https://otel.example.org" in result.stdout
    assert provisioned.snapshot() == before


def test_check_mode_on_a_fresh_vm_writes_nothing(tmp_path):
    """Deploy on, CA bundle on: the compose/up/handler steps must cope with a project that does not exist."""
    lab = Lab(tmp_path)
    before = lab.snapshot()
    result, stats = lab.run("--check", "--diff", inventory_api_deploy=True, inventory_api_extra_ca_bundle=str(lab.ca))
    assert result.returncode == 0, output(result)
    assert stats["changed"] > 0
    assert "+      - OTEL_SERVICE_NAME=inventory.student-xyz.sysadm.ee" in result.stdout
    # the engine is enabled for the VM's reboots unless preflight's probe found it enabled and active already;
    # a missing unit is no error in check mode (tests/integration/test_engine_enable.py: the real change)
    status = result.task_status("inventory_api : Enable and start the Docker engine")
    assert status in ({"skipping"} if engine_enabled_and_active() else {"ok", "changed", "ignored"}), output(result)
    assert not lab.lab.exists()
    assert lab.snapshot() == before


def test_fresh_vm_gets_a_complete_file(tmp_path):
    lab = Lab(tmp_path)
    result, _ = lab.run(inventory_api_extra_ca_bundle=str(lab.ca))
    assert result.returncode == 0, output(result)
    compose = yaml.safe_load(lab.compose.read_text())
    inventory = compose["services"]["inventory"]
    assert inventory["ports"] == ["127.0.0.1:5000:5000"]
    assert inventory["restart"] == "unless-stopped"
    assert inventory["healthcheck"]["test"][0] == "CMD"
    assert inventory["build"]["secrets"] == [{"source": "inventory_api_extra_ca", "target": "extra_ca"}]
    assert re.fullmatch(r"lab10-inventory-api:[0-9a-f]{12}", inventory["image"])
    assert compose["secrets"]["inventory_api_extra_ca"]["file"] == str(lab.lab / "inventory-api-certs" / "extra-ca.pem")
    env = dict(entry.split("=", 1) for entry in inventory["environment"])
    assert env["OTEL_EXPORTER_OTLP_CERTIFICATE"] == "/etc/inventory-api/certs/extra-ca.pem"
    assert env["INVENTORY_API_TOKEN_FILE"] == "/run/inventory-api/secrets/api_token"
    assert f"{lab.lab}/inventory-api-certs:/etc/inventory-api/certs:ro,z" in inventory["volumes"]
    assert not list(lab.lab.glob("docker-compose.yml.*~"))  # nothing to back up
    again, stats = lab.run(inventory_api_extra_ca_bundle=str(lab.ca))
    assert again.returncode == 0 and stats["changed"] == 0, output(again)


@pytest.mark.parametrize(
    "bad",
    [{"inventory_api_vm_name": "Bad_Name!"}, {"inventory_api_token": None}, {"inventory_api_workers": 0}],
    ids=["first-check", "token", "last-check"],
)
def test_bad_input_fails_before_anything_changes(student_lab, bad):
    """Each message is tests/cli/test_preflight.py's business; here: the whole role stops before any change."""
    before = student_lab.snapshot()
    result, stats = student_lab.run(**bad)
    assert result.returncode == 2, output(result)
    assert stats["failed"] == 1 and stats["changed"] == 0, output(result)
    assert f"{next(iter(bad))} " in result.stdout
    assert student_lab.snapshot() == before


def test_broken_compose_file_stops_before_anything_is_written(student_lab):
    student_lab.compose.write_text("services:\n  minio: [unclosed\n")
    before = student_lab.snapshot()
    result, _ = student_lab.run()
    assert result.returncode != 0
    assert "not valid YAML, nothing was changed" in output(result)
    assert student_lab.snapshot() == before


def test_compose_file_elsewhere_still_gets_the_lab_directory(tmp_path):
    lab = Lab(tmp_path)
    elsewhere = tmp_path / "stack" / "compose.yaml"
    umask = os.umask(0o077)  # a directory made only as a parent of another would be 0700
    try:
        result, _ = lab.run(inventory_api_compose_file=str(elsewhere))
    finally:
        os.umask(umask)
    assert result.returncode == 0, output(result)
    assert yaml.safe_load(elsewhere.read_text())["services"]["inventory"]["image"].startswith("lab10-inventory-api:")
    for directory in (elsewhere.parent, lab.lab):
        assert oct(directory.stat().st_mode & 0o777) == "0o755"
        assert directory.stat().st_uid == os.getuid()
    assert (lab.lab / "inventory-api" / "app.py").is_file()


def test_null_ca_bundle_is_no_ca_bundle(tmp_path):
    """`${EXTRA_CA_BUNDLE}` unset in molecule arrives as YAML null."""
    lab = Lab(tmp_path)
    result, _ = lab.run(inventory_api_extra_ca_bundle=None)
    assert result.returncode == 0, output(result)
    inventory = yaml.safe_load(lab.compose.read_text())["services"]["inventory"]
    assert "secrets" not in inventory["build"]
    assert not any(entry.startswith("OTEL_EXPORTER_OTLP_CERTIFICATE=") for entry in inventory["environment"])


def test_all_digit_token_is_accepted(tmp_path):
    """A vault value like 12345678901234 is an int in YAML."""
    lab = Lab(tmp_path)
    result, _ = lab.run(inventory_api_token=12345678901234)
    assert result.returncode == 0, output(result)
    assert (lab.lab / "inventory-api-secrets" / "api_token").read_text() == "12345678901234\n"


def test_students_leftovers_that_switch_tracing_off_are_removed(student_lab):
    student_lab.compose.write_text(
        STUDENT_COMPOSE.replace(
            "      - STUDENT_VAR=keep-me\n",
            "      - STUDENT_VAR=keep-me\n"
            "      - OTEL_SDK_DISABLED=true\n"
            "      - OTEL_TRACES_EXPORTER=none\n"
            "      - OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc\n"
            "      - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces\n",
        )
    )
    result, _ = student_lab.run(inventory_api_env_absent=["FLASK_DEBUG"])
    assert result.returncode == 0, output(result)
    inventory = yaml.safe_load(student_lab.compose.read_text())["services"]["inventory"]
    env = dict(entry.split("=", 1) for entry in inventory["environment"])
    assert env["STUDENT_VAR"] == "keep-me"
    for name in (
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        assert name not in env


def test_role_traces_endpoint_replaces_the_students(student_lab):
    student_lab.compose.write_text(
        STUDENT_COMPOSE.replace(
            "      - STUDENT_VAR=keep-me\n",
            "      - STUDENT_VAR=keep-me\n      - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces\n",
        )
    )
    result, _ = student_lab.run(inventory_api_otlp_traces_endpoint="https://otel.example.org/v1/traces")
    assert result.returncode == 0, output(result)
    inventory = yaml.safe_load(student_lab.compose.read_text())["services"]["inventory"]
    env = dict(entry.split("=", 1) for entry in inventory["environment"])
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "https://otel.example.org/v1/traces"


def test_existing_data_file_is_given_to_the_app(tmp_path):
    """A root-owned 0600 (here: owner-unreadable 0200) inventory.json would make the API answer 500."""
    lab = Lab(tmp_path)
    lab.data.mkdir(parents=True)
    data_file = lab.data / "inventory.json"
    data_file.write_text('{"widget": 3}\n')
    data_file.chmod(0o200)  # as root the file is also root-owned, and the app's uid is 10001
    result, _ = lab.run()
    assert result.returncode == 0, output(result)
    info = data_file.stat()
    assert info.st_uid == lab.vars["inventory_api_app_uid"]
    assert info.st_gid == lab.vars["inventory_api_app_uid"]
    assert oct(info.st_mode & 0o777) == "0o600"  # u+r added, the rest kept
    assert data_file.read_text() == '{"widget": 3}\n'
    again, stats = lab.run()
    assert again.returncode == 0 and stats["changed"] == 0, output(again)


def test_existing_readable_data_file_keeps_its_mode(tmp_path):
    lab = Lab(tmp_path)
    lab.data.mkdir(parents=True)
    data_file = lab.data / "inventory.json"
    data_file.write_text("{}\n")
    data_file.chmod(0o640)
    result, _ = lab.run()
    assert result.returncode == 0, output(result)
    assert oct(data_file.stat().st_mode & 0o777) == "0o640"
    assert data_file.stat().st_uid == lab.vars["inventory_api_app_uid"]


def test_override_file_that_takes_back_the_roles_settings_is_refused(student_lab):
    override = student_lab.lab / "docker-compose.override.yml"
    override.write_text("services:\n  inventory:\n    environment:\n      - OTEL_SDK_DISABLED=true\n")
    before = student_lab.snapshot()
    result, stats = student_lab.run()
    assert result.returncode == 2 and stats["changed"] == 0, output(result)
    assert (
        f"{override} sets services.inventory.environment OTEL_SDK_DISABLED (line 3), which `docker compose`"
        in " ".join(result.stdout.split())
    ), output(result)
    assert student_lab.snapshot() == before


def test_override_file_of_other_settings_is_kept(student_lab):
    override = student_lab.lab / "docker-compose.override.yml"
    override.write_text("services:\n  inventory:\n    ports: ['127.0.0.1:8080:5000']\n")
    result, _ = student_lab.run()
    assert result.returncode == 0, output(result)
    assert override.read_text() == "services:\n  inventory:\n    ports: ['127.0.0.1:8080:5000']\n"


def test_another_project_name_in_the_file_is_refused(student_lab):
    student_lab.compose.write_text("name: mylab\n" + STUDENT_COMPOSE)
    before = student_lab.snapshot()
    result, _ = student_lab.run()
    assert result.returncode == 2, output(result)
    assert "sets the project name `name: mylab` (line 1)" in output(result)
    assert "Set inventory_api_compose_project: mylab" in output(result)
    assert student_lab.snapshot() == before


def test_merge_docker_compose_rejects_is_not_written(student_lab):
    """Valid YAML that compose refuses (a dependency on an undefined service): the live file stays."""
    broken = STUDENT_COMPOSE.replace("    command: python app.py\n", "    depends_on: [database]\n")
    student_lab.compose.write_text(broken)
    result, _ = student_lab.run()
    assert result.returncode == 2, output(result)
    assert "failed to validate" in output(result)
    assert "database" in output(result)
    assert student_lab.compose.read_text() == broken
    # validated before the backup and the rename: no backup, no temp file left beside it
    assert sorted(p.name for p in student_lab.lab.iterdir() if "docker-compose" in p.name) == ["docker-compose.yml"]
