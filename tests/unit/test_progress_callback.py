"""The progress callback's pure parts (plugins/callback/lab10_progress.py): which runs show one line per VM,
a VM's line and the running count, the record of each VM from the events of its provisioning. The callback
run for real: tests/cli/test_progress.py."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lab10_progress", ROOT / "plugins" / "callback" / "lab10_progress.py")
progress = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(progress)

START = {"status": "unreachable", "step": "during the role inventory_api", "msg": "The VM stopped answering ..."}
OK = {**START, "status": "ok", "step": "", "msg": ""}
FAILED = {**START, "status": "failed", "step": "Build and start the inventory service", "msg": "exit code: 1"}


@pytest.mark.parametrize(
    ("setting", "isatty", "verbosity", "wanted"),
    [
        ("auto", True, 0, True),
        ("auto", False, 0, False),  # a pipe, a CI log, a test: every task
        ("always", False, 0, True),
        ("always", True, 1, False),  # -v: every task
        ("auto", True, 2, False),
        ("never", True, 0, False),
    ],
)
def test_when_a_class_run_shows_progress(setting, isatty, verbosity, wanted):
    assert progress.wants_progress(setting, isatty, verbosity) is wanted


def plays(data: list[dict]) -> list[Play]:
    return [Play.load(play, loader=DataLoader()) for play in data if "ansible.builtin.import_playbook" not in play]


def test_class_yml_provisions_a_class_and_grade_yml_does_not():
    class_plays = plays(yaml.safe_load((ROOT / "playbooks" / "class.yml").read_text()))
    assert [progress.provisions_class(play) for play in class_plays] == [True]
    grade_plays = plays(yaml.safe_load((ROOT / "playbooks" / "grade.yml").read_text()))
    assert [progress.provisions_class(play) for play in grade_plays] == [False]


@pytest.mark.parametrize(
    ("task", "provisions"),
    [
        ({"ansible.builtin.include_role": {"name": "class", "tasks_from": "provision"}}, True),
        (
            {
                "block": [{"include_role": {"name": "other"}}],
                "rescue": [{"include_role": {"name": "class", "tasks_from": "provision"}}],
            },
            True,
        ),
        ({"block": [{"block": [{"include_role": {"name": "class", "tasks_from": "provision.yml"}}]}]}, True),
        ({"ansible.builtin.include_role": {"name": "class"}}, False),  # the grading
        ({"ansible.builtin.include_role": {"name": "inventory_api", "tasks_from": "provision"}}, False),
    ],
)
def test_a_play_provisions_a_class_when_it_includes_the_role_class_provision_tasks(task, provisions):
    (play,) = plays([{"hosts": "lab_vms", "gather_facts": False, "tasks": [task]}])
    assert progress.provisions_class(play) is provisions


@pytest.mark.parametrize(
    ("msg", "width", "short"),
    [
        ("Connection refused", 200, "Connection refused"),
        ("  two\n  lines\tand tabs ", 200, "two lines and tabs"),
        ("a" * 40 + "b" * 60, 50, "a" * 18 + " ... " + "b" * 27),
        (None, 200, ""),
    ],
)
def test_shorten_keeps_one_line_its_start_and_its_end(msg, width, short):
    assert progress.shorten(msg, width) == short
    assert len(progress.shorten(msg, width)) <= width


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("vm-1", "ok", "", "", "", 92.6), "vm-1: ok (93 s)"),
        (("vm-1", "failed", "Check the token", "too short"), 'vm-1: failed at "Check the token": too short'),
        (("vm-1", "unreachable", "connect", "refused"), "vm-1: unreachable at connect: refused"),
        (
            ("vm-1", "unreachable", "connect", "Host key verification failed.", "VM's SSH host key not trusted yet"),
            "vm-1: unreachable at connect (VM's SSH host key not trusted yet): Host key verification failed.",
        ),
        (
            ("vm-1", "unreachable", 'during the role inventory_api, at "Do X"', "refused"),
            'vm-1: unreachable during the role inventory_api, at "Do X": refused',
        ),
        (("vm-1", "failed", "", ""), "vm-1: failed"),
    ],
)
def test_a_vms_line_says_its_status_step_cause_and_error(args, line):
    assert progress.vm_line(*args) == line


def test_the_count_says_how_many_are_done_of_how_many_and_how_many_failed():
    assert progress.count_prefix(37, 120, 3) == "[37/120 done, 3 failed]"
    assert progress.count_prefix(2, None, 0) == "[2 done, 0 failed]"


def test_the_header_says_where_every_task_is():
    assert progress.progress_header(120, 25) == (
        "120 VMs, 25 at a time: one line for each when it is done; every task: -v, or a log with "
        "ANSIBLE_LOG_PATH=<file>"
    )
    assert progress.progress_header(3, 5, "/tmp/class.log").endswith("every task is in /tmp/class.log")


def tracker(hosts=("vm-1", "vm-2", "vm-3"), cause=None) -> progress.ClassProgress:
    ticks = itertools.count(0, 10)
    return progress.ClassProgress(list(hosts), cause=cause, clock=lambda: next(ticks))


def test_a_vm_is_done_when_it_moves_on_from_its_end_record():
    run = tracker()
    run.record("vm-1", START)
    assert run.busy("vm-1")
    run.record("vm-1", OK)
    assert not run.busy("vm-1")
    assert run.next_task("vm-1") == [("ok", "[1/3 done, 0 failed] vm-1: ok (10 s)")]
    assert run.next_task("vm-1") == []  # once


def test_the_start_record_alone_is_no_end():
    run = tracker()
    run.record("vm-1", START)
    assert run.next_task("vm-1") == []
    assert run.busy("vm-1")


def test_an_amended_end_record_is_the_one_shown():
    """The role keeps the API token out of the record in a task after the rescue's: the line waits for it."""
    run = tracker()
    run.record("vm-1", START)
    run.record("vm-1", {**FAILED, "msg": "bad YAML (token s3cr3t-token)"})
    assert run.next_task("vm-1", amends_record=True) == []
    run.record("vm-1", {**FAILED, "msg": "bad YAML (token ********)"})
    ((status, line),) = run.next_task("vm-1")
    assert status == "failed" and "s3cr3t" not in line and line.endswith("bad YAML (token ********)")


def test_a_vm_lost_during_the_role_is_done_at_once_with_the_task():
    run = tracker()
    run.record("vm-1", START)
    ((status, line),) = run.lost("vm-1", "inventory_api : Do the next step", "Connection refused")
    assert status == "unreachable"
    assert line == (
        '[1/3 done, 1 failed] vm-1: unreachable during the role inventory_api, at "inventory_api : Do the next '
        'step": Connection refused'
    )
    assert run.lost("vm-1", "again", "x") == [] and run.close()[-1][1].endswith(
        "not provisioned (no record): vm-2, vm-3"
    )


def test_a_failure_the_vm_is_rescued_from_gives_way_to_the_record():
    run = tracker()
    run.record("vm-1", START)
    run.failed("vm-1", "Stop here when it does not answer", "unreachable")
    run.record("vm-1", {**START, "status": "unreachable", "step": "connect", "msg": "Connection refused"})
    assert run.next_task("vm-1") == [
        ("unreachable", "[1/3 done, 1 failed] vm-1: unreachable at connect: Connection refused")
    ]


def test_at_the_end_of_the_play_every_vm_not_shown_yet_is():
    run = tracker()
    run.record("vm-1", START)
    run.record("vm-1", OK)  # its end, not shown yet (it had no next task)
    run.record("vm-2", START)
    run.failed("vm-2", "Build it", "exit code: 1")  # not rescued: it left the play
    assert run.close() == [
        ("ok", "[1/3 done, 0 failed] vm-1: ok (20 s)"),
        ("failed", '[2/3 done, 1 failed] vm-2: failed at "Build it": exit code: 1'),
        ("failed", "[2/3 done, 1 failed] not provisioned (no record): vm-3"),
    ]


def test_the_count_runs_over_the_whole_play():
    run = tracker(hosts=[f"vm-{n}" for n in range(4)])
    lines = []
    for n, end in enumerate([OK, FAILED, OK, {**START, "step": "connect"}]):
        run.record(f"vm-{n}", START)
        run.record(f"vm-{n}", end)
        lines += [line.split("]")[0] + "]" for _status, line in run.next_task(f"vm-{n}")]
    assert lines == ["[1/4 done, 0 failed]", "[2/4 done, 1 failed]", "[3/4 done, 1 failed]", "[4/4 done, 2 failed]"]
    assert run.close() == []


def test_the_cause_comes_from_the_callers_reading_of_the_record():
    run = tracker(cause=lambda record: "sudo asks for a password" if "sudo" in record["msg"] else "")
    run.record("vm-1", START)
    run.record("vm-1", {**FAILED, "step": "Check that the VM answers", "msg": "Missing sudo password"})
    ((_, line),) = run.next_task("vm-1")
    assert line.endswith(
        'vm-1: failed at "Check that the VM answers" (sudo asks for a password): Missing sudo password'
    )


@pytest.mark.parametrize(
    ("record", "cause"),
    [
        ({"status": "unreachable", "msg": "ssh: Host key verification failed."}, "VM's SSH host key not trusted yet"),
        ({"status": "failed", "msg": "Task failed: Missing sudo password"}, "sudo asks for a password"),
        (
            {"status": "failed", "msg": "toomanyrequests: You have reached your pull rate limit"},
            "registry pull limit reached",
        ),
        ({"status": "unreachable", "msg": "Connection refused"}, ""),  # the status says it
        ({"status": "failed", "msg": "exit code: 1"}, ""),
        ({"status": "ok", "msg": ""}, ""),
    ],
)
def test_the_cause_is_the_reports_own_from_the_kits_vocabulary(record, cause):
    assert progress.report_cause(record) == cause


def test_no_cause_without_the_kits_vocabulary():
    assert progress.report_cause({"status": "failed", "msg": "Missing sudo password"}, (None, None)) == ""


BANNER = "TASK [x] " + "*" * (40 - len("TASK [x]"))


class Recorder:
    """Stands in for Display's output end: what was written, where."""

    columns = 40
    b_cowsay = None
    _final_q = None

    def __init__(self):
        self.calls = []

    def display(self, msg, **kwargs):
        self.calls.append((msg.strip(), kwargs["screen_only"], kwargs["log_only"]))


@pytest.mark.parametrize(
    ("screen", "log", "logger", "calls"),
    [
        (True, False, object(), [(BANNER, True, False)]),
        (False, True, object(), [(BANNER, False, True)]),
        (False, True, None, []),  # no log file: nowhere
        (False, False, object(), []),
        (True, True, object(), [(BANNER, False, False)]),
    ],
)
def test_the_routed_display_sends_banners_to_the_screen_the_log_both_or_nowhere(
    monkeypatch, screen, log, logger, calls
):
    monkeypatch.setattr(progress.display_module, "logger", logger)
    recorder = Recorder()
    progress._RoutedDisplay(recorder, screen=screen, log=log).banner("TASK [x]")
    assert recorder.calls == calls
