"""The kit's screen output (plugins/callback/lab10_progress.py, ansible.cfg's stdout_callback) on real runs:
class.yml in a terminal prints one line per VM when it is done, with the running count, and not every task;
-v, Ansible's log file, or output that is not a terminal keep every task; grade.yml is the default callback's.

class.yml runs as in tests/cli/test_class_provision.py: the stand-in role inventory_api
(tests/fixtures/class/roles), VMs over the local connection or a closed port, a Jaeger that does not answer.
The stand-in must come first on the role path, and the kit's playbooks find their roles beside them
(playbooks/roles): each run gets a copy of class.yml and grade.yml beside a roles/ of its own (the kit's
class, the stand-in inventory_api). No container; the runs share the machine's two cores at once."""

from __future__ import annotations

import configparser
import errno
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from class_stand_in import BECOME_PASSWORD, TOKEN, VMS, write_stand_in_class

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAND_IN = ROOT / "tests" / "fixtures" / "class" / "roles" / "inventory_api"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "LAB10_"))} | {
    "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
    "NO_COLOR": "1",
    "ANSIBLE_NOCOLOR": "1",
}
PROGRESS = re.compile(r"^\[(\d+)/5 done, (\d+) failed\] (\S+): (ok|failed|unreachable)(.*)$", re.M)
REPORT_TASKS = {
    "class : Show the summary and how to re-run only the failed",
    "class : Stop when Jaeger could not be asked (the report says so for every student)",
}


@dataclass
class Run:
    returncode: int
    stdout: str  # what the screen (or the pipe) got
    stderr: str
    log: str  # Ansible's log file ("" without one)
    seconds: float


def in_terminal(command: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """command with its stdout on a pseudo-terminal, as an instructor runs it: (exit status, screen, stderr)."""
    master, slave = pty.openpty()
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE
    ) as proc:
        os.close(slave)
        screen = bytearray()
        while True:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError as error:  # EIO: the terminal's last writer closed it
                    if error.errno != errno.EIO:
                        raise
                    chunk = b""
                if not chunk:
                    break
                screen += chunk
            elif proc.poll() is not None:
                break
        stderr = proc.stderr.read().decode()
        proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, screen.decode().replace("\r\n", "\n"), stderr


def class_folder(work: Path) -> Path:
    """work/: the roster, the hosts' connections, and the playbooks beside the roles the run uses."""
    work.mkdir(parents=True)
    write_stand_in_class(work)
    playbooks = work / "playbooks"
    (playbooks / "roles").mkdir(parents=True)
    for name in ("class.yml", "grade.yml"):
        shutil.copy(ROOT / "playbooks" / name, playbooks / name)
    for name in ("filter_plugins", "collections"):
        (playbooks / name).symlink_to(ROOT / "playbooks" / name)
    (playbooks / "roles" / "class").symlink_to(ROOT / "roles" / "class")
    (playbooks / "roles" / "inventory_api").symlink_to(STAND_IN)
    return work


def playbook(work: Path, name: str, *args: str, terminal: bool, **env: str) -> Run:
    command = [str(BIN / "ansible-playbook"), "-i", "roster.csv", "-i", "hosts.yml", f"playbooks/{name}.yml",
               "-e", "class_jaeger_url=http://127.0.0.1:1", "-e", f"class_report_dir={work / 'reports'}",
               # class.yml waits up to 10 s for the traces of VMs it provisioned; this Jaeger never answers.
               "-e", "class_grade_timeout=3", *args]  # fmt: skip
    started = time.monotonic()
    if terminal:
        returncode, stdout, stderr = in_terminal(command, ENV | env, work)
    else:
        out = subprocess.run(command, cwd=work, env=ENV | env, capture_output=True, text=True, timeout=300)
        returncode, stdout, stderr = out.returncode, out.stdout, out.stderr
    log = Path(env["ANSIBLE_LOG_PATH"]) if "ANSIBLE_LOG_PATH" in env else None
    text = log.read_text() if log and log.exists() else ""
    return Run(returncode, stdout, stderr, text, time.monotonic() - started)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """The runs every test here reads, started at once."""
    base = tmp_path_factory.mktemp("progress")
    folders = {key: class_folder(base / key) for key in ("terminal", "verbose", "always", "piped", "grade", "default")}
    jobs = {
        # In a terminal, as bin/lab10 class is run by hand: with a log file, which gets every task.
        "terminal": (folders["terminal"], "class", (), True, {"ANSIBLE_LOG_PATH": str(base / "class.log")}),
        "verbose": (folders["verbose"], "class", ("-v",), True, {}),
        "always": (folders["always"], "class", (), False, {"LAB10_PROGRESS": "always"}),
        "piped": (folders["piped"], "class", (), False, {}),
        "grade": (folders["grade"], "grade", (), True, {}),
        "default": (folders["default"], "grade", (), True, {"ANSIBLE_STDOUT_CALLBACK": "default"}),
    }
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {
            key: pool.submit(playbook, work, name, *args, terminal=terminal, **env)
            for key, (work, name, args, terminal, env) in jobs.items()
        }
        done = {key: future.result() for key, future in futures.items()}
    for key, run in done.items():
        print(f"{key}: {run.seconds:.1f}s, rc {run.returncode}")
    return done


def progress_lines(text: str) -> dict[str, tuple[str, str]]:
    return {vm: (status, rest) for _done, _failed, vm, status, rest in PROGRESS.findall(text)}


def test_a_class_run_in_a_terminal_prints_a_line_per_vm_with_the_running_count(runs):
    screen = runs["terminal"].stdout
    found = PROGRESS.findall(screen)
    assert [int(done) for done, *_ in found] == [1, 2, 3, 4, 5], screen[-4000:]
    failed = [int(count) for _done, count, *_ in found]
    assert failed == sorted(failed) and failed[-1] == 4
    assert {vm: status for *_counts, vm, status, _rest in found} == {
        "ok-vm": "ok",
        "broken-vm": "failed",
        "lost-vm": "unreachable",
        "down-vm": "unreachable",
        "dead-vm": "failed",
    }
    forks = configparser.ConfigParser(inline_comment_prefixes=("#",))
    forks.read(ROOT / "ansible.cfg")
    assert f"5 VMs, {forks['defaults']['forks']} at a time: one line for each when it is done" in screen


def test_each_vms_line_says_where_it_stopped_and_why(runs):
    lines = progress_lines(runs["terminal"].stdout)
    assert re.fullmatch(r" \(\d+ s\)", lines["ok-vm"][1])
    assert lines["broken-vm"][1] == (
        ' at "Fail here, quoting the API token and the become password": the compose file is not valid YAML'
        " (token ********, sudo ********)"
    )
    assert lines["down-vm"][1].startswith(" at connect: ") and "Connection refused" in lines["down-vm"][1]
    assert lines["lost-vm"][1].startswith(' during the role inventory_api, at "inventory_api : Do the next step": ')
    assert lines["dead-vm"][1].startswith(' at "Check that the VM answers and runs modules": ')
    assert "/nonexistent/python3" in lines["dead-vm"][1]


def test_no_task_of_the_provisioning_is_on_the_screen(runs):
    screen = runs["terminal"].stdout
    assert set(re.findall(r"^TASK \[(.*?)\]", screen, re.M)) == REPORT_TASKS, screen[-4000:]
    assert not re.search(r"^(changed|skipping|included): ", screen, re.M)
    assert re.findall(r"^(ok|fatal): \[(\S+?)\]", screen, re.M) == [("ok", "ok-vm"), ("fatal", "ok-vm")]
    assert TOKEN not in screen + runs["terminal"].stderr
    assert BECOME_PASSWORD not in screen + runs["terminal"].stderr


def test_the_summary_and_the_grading_error_are_printed_in_full(runs):
    screen = runs["terminal"].stdout
    assert "0 of 5 students passed" in screen
    command = re.search(r"Re-run only the 5 failed .*?: (\S+/bin/lab10 class .*)$", screen, re.M)
    assert command and " --limit @" in command.group(1), screen[-3000:]
    assert "Grading failed before any student was checked: Jaeger at http://127.0.0.1:1" in screen
    assert re.findall(r"^(\S+)\s+: ok=\d+", screen.split("PLAY RECAP")[-1], re.M) == sorted(VMS)
    assert runs["terminal"].returncode != 0


def test_every_task_is_in_the_log_file(runs):
    log = runs["terminal"].log
    assert "TASK [inventory_api : Do the step after that]" in log
    assert "fatal: [lost-vm]: UNREACHABLE!" in log
    assert len(re.findall(PROGRESS.pattern.lstrip("^"), log, re.M)) == 5  # after the log's time stamps
    assert re.search(r"every task is in \S+/class\.log$", runs["terminal"].stdout, re.M)


def test_with_v_every_task_is_on_the_screen(runs):
    screen = runs["verbose"].stdout
    assert "TASK [inventory_api : Do the step after that]" in screen
    assert len(re.findall(r"^fatal: \[lost-vm\]: UNREACHABLE!", screen, re.M)) == 1
    assert not PROGRESS.search(screen)
    assert "0 of 5 students passed" in screen


def test_always_shows_progress_when_the_output_is_not_a_terminal_and_without_a_log(runs):
    out = runs["always"].stdout
    assert {vm: status for vm, (status, _rest) in progress_lines(out).items()} == {
        vm: status for vm, (status, _rest) in progress_lines(runs["terminal"].stdout).items()
    }
    assert set(re.findall(r"^TASK \[(.*?)\]", out, re.M)) == REPORT_TASKS
    assert "every task: -v, or a log with ANSIBLE_LOG_PATH=<file>" in out


def test_output_that_is_not_a_terminal_keeps_every_task(runs):
    out = runs["piped"].stdout
    assert "TASK [inventory_api : Do the step after that]" in out
    assert not PROGRESS.search(out)


def test_grade_yml_prints_what_the_default_callback_prints(runs):
    def same(run: Run, work: str) -> str:
        text = re.sub(r"\d{8}T\d{6}Z(-\d+)?", "RUN", run.stdout.replace(work, "WORK"))
        return re.sub(r"\d+(\.\d+)?\s?(s|ms)\b", "TIME", text)

    grade, default = runs["grade"], runs["default"]
    assert "students passed" in grade.stdout
    base = Path(re.search(r"class_report_dir=(\S+)/reports", grade.stdout).group(1))
    other = Path(re.search(r"class_report_dir=(\S+)/reports", default.stdout).group(1))
    assert same(grade, str(base)) == same(default, str(other))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("-i", "others.ini", "--limit", "somewhere"), "--limit somewhere leaves no host of group lab_vms"),
        (("-i", "bad.csv"), "bad.csv"),
    ],
)
def test_errors_before_any_vm_still_reach_the_user(tmp_path, args, error):
    work = class_folder(tmp_path / "work")
    (work / "bad.csv").write_text("vm_name,student\nBad Name!,A\n")
    (work / "others.ini").write_text("[others]\nsomewhere\n")
    run = playbook(work, "class", *args, terminal=True)
    assert run.returncode != 0
    assert error in run.stdout + run.stderr, run.stdout + run.stderr
