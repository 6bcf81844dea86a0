"""The roster plugin as Ansible's CLIs use it (ansible-inventory, ansible, ansible-playbook); no container.

Each test starts a CLI of this venv with the kit's ansible.cfg (ANSIBLE_CONFIG), as the README says to. The
tests of the kit's group_vars use a copy of the kit (its ansible.cfg, the plugin, a real vault made with
ansible-vault) in a temp folder, so that the checkout's own group_vars (and a vault in them) stay out of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1"}


def ansible(*args: str, cwd: Path = ROOT, config: Path = ROOT / "ansible.cfg") -> subprocess.CompletedProcess:
    env = {**ENV, "ANSIBLE_CONFIG": str(config)}
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, env=env, cwd=cwd)


def test_ansible_inventory_builds_lab_vms_and_sections():
    out = ansible("ansible-inventory", "-i", "roster.example.csv", "--graph")
    assert out.returncode == 0, out.stderr
    assert "@lab_vms:" in out.stdout and "student-abc" in out.stdout and "@section_wed_14_16:" in out.stdout


@pytest.mark.parametrize(
    "roster_text",
    [
        "vm_name,student\nalice,A\nBad_Name,B\n",
        # One column: Ansible's ini plugin would read this as host names if the roster plugin only raised.
        "vm_name\nalice\nBad_Name\n",
    ],
)
def test_a_bad_roster_stops_ansible_playbook_before_any_connection(tmp_path, roster_text):
    path = tmp_path / "class.csv"
    path.write_text(roster_text)
    out = ansible("ansible-playbook", "-i", str(path), str(ROOT / "playbooks" / "grade.yml"))
    assert out.returncode == 1
    assert f"[ERROR]: the roster is not valid, nothing was run:\n{path}, line 3: vm_name 'Bad_Name'" in out.stderr
    assert "PLAY [" not in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("text", ["vm_name,student\n", "vm_name\nlocalhost\n"])
def test_an_empty_roster_or_a_reserved_name_stops_ansible_playbook(tmp_path, text):
    """Not a run that grades nobody and exits 0, nor a `localhost` row the report's delegate_to would hit."""
    path = tmp_path / "class.csv"
    path.write_text(text)
    out = ansible("ansible-playbook", "-i", str(path), str(ROOT / "playbooks" / "grade.yml"))
    assert out.returncode == 1 and f"{path}, line " in out.stderr
    assert "PLAY [" not in out.stdout


def test_a_bad_roster_fails_ansible_inventory_as_any_broken_inventory_does(tmp_path):
    """Exit status 1, Ansible's error line (its display: colour, log_path), no traceback, no half inventory."""
    path = tmp_path / "class.csv"
    path.write_text("vm_name\nalice\nBad_Name\n")
    log = tmp_path / "ansible.log"
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True, text=True, cwd=ROOT, env={**ENV, "ANSIBLE_LOG_PATH": str(log)},
    )  # fmt: skip
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.startswith("[ERROR]: the roster is not valid")
    assert "Traceback" not in out.stderr
    assert f"{path}, line 3: vm_name 'Bad_Name'" in log.read_text()


def test_inventory_ini_still_parses():
    out = ansible("ansible-inventory", "-i", "inventory.ini", "--graph")
    assert out.returncode == 0, out.stderr
    assert "@lab_vms:" in out.stdout


def test_an_unparsable_inventory_source_is_fatal(tmp_path):
    broken = tmp_path / "hosts.yml"
    broken.write_text("all: [unclosed\n")
    out = ansible("ansible-playbook", "-i", str(broken), str(ROOT / "playbooks" / "site.yml"))
    assert out.returncode != 0
    assert "Completely failed to parse inventory source" in out.stderr


def test_ansible_doc_renders_the_plugin():
    out = ansible("ansible-doc", "-t", "inventory", "roster")
    assert out.returncode == 0, out.stderr
    assert "default_user" in out.stdout and "EXAMPLES" in out.stdout


def test_a_semicolon_roster_with_extra_columns_warns_once(kit, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("\ufeffvm_name;student;grade;notes\nalice;Tamm, Alice;5;\nbob;Bob;4;late\n")
    out = ansible(
        "ansible-inventory", "-i", str(path), "--host", "alice", *vault_args(kit), cwd=tmp_path, config=CFG(kit)
    )
    assert out.returncode == 0, out.stderr
    assert '"roster_student": "Tamm, Alice"' in out.stdout and "grade" not in out.stdout
    assert out.stderr.count("columns ignored") == 1
    assert f"[WARNING]: {path}: columns ignored: grade, notes" in out.stderr


def test_a_near_miss_column_stops_ansible_inventory(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("VM name\tE-mail\nalice\ta@example.edu\n")
    out = ansible("ansible-inventory", "-i", str(path), "--graph", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (1, "")
    assert f"{path}, line 1: column 'VM name' looks like 'vm_name': rename it" in out.stderr
    assert f"{path}, line 1: column 'E-mail' looks like 'email': rename it" in out.stderr
    assert "Traceback" not in out.stderr


# The kit's group_vars from a roster in another folder ------------------------------------------------------------

KIT_TOKEN, INLINE_SECRET, INSTRUCTOR_TOKEN = "kit-token-0123", "inline-secret-42", "instructor-token-9"
PASSWORD = "kit-vault-password"
# What the kit copy has of its own rather than linked to the checkout.
KIT_OWN = {"ansible.cfg", "plugins", "inventory", "group_vars", "host_vars", "roster.csv"}


def CFG(kit: Path) -> Path:  # noqa: N802 (reads as a constant's path)
    return kit / "ansible.cfg"


def vault_args(kit: Path) -> tuple[str, str]:
    return ("--vault-password-file", str(kit.parent / "vault-pass"))


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the kit as a user sets it up: group_vars/lab_vms/main.yml (a setting and an inline !vault value)
    and vault.yml encrypted with ansible-vault; the vault password in a file beside the kit. Tests only read it."""
    tmp_path = tmp_path_factory.mktemp("kit")
    kit = tmp_path / "kit"
    # The plugin and plugin_utils/kit.py are copied (kit.py's own place says where the kit root is), ansible.cfg
    # too (its paths are relative to it); the rest is the checkout's, linked: roles, library, the other plugins
    # (a callback ansible.cfg names).
    for plugin in ("inventory/roster.py", "plugin_utils/kit.py"):
        (kit / "plugins" / plugin).parent.mkdir(parents=True)
        shutil.copy(ROOT / "plugins" / plugin, kit / "plugins" / plugin)
    shutil.copy(ROOT / "ansible.cfg", kit / "ansible.cfg")
    for entry in [*ROOT.iterdir(), *(ROOT / "plugins").iterdir()]:
        target = kit / entry.relative_to(ROOT)
        if not entry.name.startswith(".") and entry.name not in KIT_OWN and not target.exists():
            target.symlink_to(entry)
    password_file = tmp_path / "vault-pass"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    group_vars = kit / "group_vars" / "lab_vms"
    group_vars.mkdir(parents=True)
    inline = ansible(
        "ansible-vault", "encrypt_string", *vault_args(kit), "--name", "inline_secret", INLINE_SECRET,
        cwd=tmp_path, config=CFG(kit),
    )  # fmt: skip
    assert inline.returncode == 0, inline.stderr
    (group_vars / "main.yml").write_text(f"kit_setting: from-kit-main\nshared: main\n{inline.stdout}")
    (group_vars / "vault.yml").write_text(f"inventory_api_token: {KIT_TOKEN}\nshared: vault\n")
    encrypt = ansible("ansible-vault", "encrypt", *vault_args(kit), str(group_vars / "vault.yml"), config=CFG(kit))
    assert encrypt.returncode == 0, encrypt.stderr
    assert (group_vars / "vault.yml").read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    return kit


@pytest.fixture
def class_dir(tmp_path: Path) -> Path:
    """An instructor's folder outside the kit, holding the roster."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "roster.csv").write_text("vm_name,student\nalice,Alice\nbob,Bob\n")
    return folder


def debug(kit: Path, folder: Path, expression: str, *extra: str) -> subprocess.CompletedProcess:
    """`ansible alice -m debug` from the instructor's folder: the variables as a task sees them (no connection)."""
    return ansible(
        "ansible", "-i", str(folder / "roster.csv"), "alice", "-m", "ansible.builtin.debug", "-a", f"msg={expression}",
        *extra, cwd=folder, config=CFG(kit),
    )  # fmt: skip


def test_the_kit_vault_reaches_a_roster_in_another_folder(kit, class_dir):
    out = ansible(
        "ansible-inventory", "-i", str(class_dir / "roster.csv"), "--host", "bob", *vault_args(kit),
        cwd=class_dir, config=CFG(kit),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    host = json.loads(out.stdout)
    assert (host["inventory_api_token"], host["kit_setting"], host["shared"]) == (KIT_TOKEN, "from-kit-main", "vault")


def test_the_kit_vars_are_values_in_a_task(kit, class_dir):
    """Decrypted (file and inline vault), rendered where a template uses them: 2.19's trust kept."""
    out = debug(kit, class_dir, "{{ inventory_api_token }}/{{ inline_secret }}/{{ kit_setting }}", *vault_args(kit))
    assert out.returncode == 0, out.stderr
    assert f"msg: {KIT_TOKEN}/{INLINE_SECRET}/from-kit-main" in out.stdout


def test_the_role_reads_the_vaulted_token_from_a_roster_elsewhere(kit, class_dir):
    """The role inventory_api's own expressions (_inventory_api_token, _inventory_api_has_token) in a play."""
    playbook = class_dir / "check.yml"
    playbook.write_text(
        "- name: Check the token as the role inventory_api derives it\n"
        "  hosts: lab_vms\n"
        "  gather_facts: false\n"
        f"  vars_files: [{ROOT / 'roles' / 'inventory_api' / 'vars' / 'main.yml'}]\n"
        "  tasks:\n"
        "    - name: The role's token is the kit vault's\n"
        "      ansible.builtin.assert:\n"
        f"        that: [_inventory_api_has_token, _inventory_api_token == '{KIT_TOKEN}']\n"
    )
    out = ansible(
        "ansible-playbook", "-i", str(class_dir / "roster.csv"), str(playbook), *vault_args(kit),
        cwd=class_dir, config=CFG(kit),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok=1 " in out.stdout and "failed=0" in out.stdout and out.stdout.count("All assertions passed") == 2


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("group_vars/lab_vms/vault.yml", f"inventory_api_token: {INSTRUCTOR_TOKEN}\n"),
        ("group_vars/lab_vms.yml", f"inventory_api_token: {INSTRUCTOR_TOKEN}\n"),
        ("group_vars/all/vault.yml", f"inventory_api_token: {INSTRUCTOR_TOKEN}\n"),  # even all's beats the kit's
        ("host_vars/alice.yml", f"inventory_api_token: {INSTRUCTOR_TOKEN}\n"),
    ],
)
def test_the_instructors_vars_next_to_the_roster_win(kit, class_dir, path, text):
    mine = class_dir / path
    mine.parent.mkdir(parents=True)
    mine.write_text(text)
    encrypt = ansible("ansible-vault", "encrypt", *vault_args(kit), str(mine), config=CFG(kit))
    assert encrypt.returncode == 0, encrypt.stderr
    out = debug(kit, class_dir, "{{ inventory_api_token }}/{{ kit_setting }}", *vault_args(kit))
    assert out.returncode == 0, out.stderr
    assert f"msg: {INSTRUCTOR_TOKEN}/from-kit-main" in out.stdout  # the rest of the kit's still there


@pytest.mark.parametrize(
    ("command", "password", "reason"),
    [
        (("ansible-inventory", "--graph"), None, "Attempting to decrypt but no vault secrets found."),
        (("ansible-playbook", str(ROOT / "playbooks" / "grade.yml")), None, "Attempting to decrypt but no vault"),
        (("ansible-inventory", "--list"), "wrong-password", "Decryption failed"),
    ],
)
def test_a_kit_vault_that_cannot_be_decrypted_stops_the_run_naming_the_file_and_the_fix(
    kit, class_dir, command, password, reason
):
    extra = ()
    if password:
        (class_dir / "wrong-pass").write_text(password)
        extra = ("--vault-password-file", str(class_dir / "wrong-pass"))
    out = ansible(
        command[0], "-i", str(class_dir / "roster.csv"), *command[1:], *extra, cwd=class_dir, config=CFG(kit)
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    vault = kit / "group_vars" / "lab_vms" / "vault.yml"
    assert out.stderr.startswith(
        f"[ERROR]: {vault} (the kit's variables of every roster host) is encrypted with Ansible Vault and cannot be"
        f" decrypted: {reason}"
    ), out.stderr
    assert "Run again with --ask-vault-pass or --vault-password-file FILE" in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""  # no play, and no inventory of ini's junk host names


def test_a_roster_in_the_kit_root_leaves_the_kit_vars_to_ansible(kit):
    """There host_group_vars reads them: a graph needs no vault password (as before), a task gets the token."""
    (kit / "roster.csv").write_text("vm_name\nalice\n")  # read by this test only
    graph = ansible("ansible-inventory", "-i", "roster.csv", "--graph", cwd=kit, config=CFG(kit))
    assert graph.returncode == 0, graph.stderr
    assert "alice" in graph.stdout
    out = debug(kit, kit, "{{ inventory_api_token }}", *vault_args(kit))
    assert out.returncode == 0, out.stderr
    assert f"msg: {KIT_TOKEN}" in out.stdout


def test_the_checkouts_own_group_vars_reach_a_roster_elsewhere(tmp_path):
    """The real kit root, found from the plugin's own place: its group_vars/lab_vms/main.yml's setting."""
    kit_files = sorted((ROOT / "group_vars" / "lab_vms").glob("*.yml"))
    if any(path.read_text().startswith("$ANSIBLE_VAULT") for path in kit_files):
        pytest.skip("this checkout keeps an encrypted vault in group_vars/lab_vms: its password is not ours")
    expected = yaml.safe_load((ROOT / "group_vars" / "lab_vms" / "main.yml").read_text())
    (tmp_path / "roster.csv").write_text("vm_name\nalice\n")
    out = ansible("ansible-inventory", "-i", str(tmp_path / "roster.csv"), "--host", "alice", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert expected and expected.items() <= json.loads(out.stdout).items()
