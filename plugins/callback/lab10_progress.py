# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab10_progress: the kit's screen output; one line per lab VM while class.yml provisions a class.

Everything it does not handle itself is ansible.builtin.default's, which it extends. The pure parts (which
playbook shows progress, a VM's line, the running count) are module-level, tested in
tests/unit/test_progress_callback.py; tests/cli/test_progress.py runs class.yml through it.

Over 300 lines: Ansible loads a callback from its one file (a helper module beside it would be taken for another
callback, and the kit's module_utils are not importable on the controller), and it answers each of the default
callback's events.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: lab10_progress
type: stdout
version_added: "1.0.0"
short_description: One line per lab VM as class.yml provisions it, with a running count
description:
  - The kit's screen output (C(stdout_callback) in the kit's C(ansible.cfg)). It is the default callback
    (M(ansible.builtin.default)'s output, options and result format) except in one case, a class run
    shown in a terminal.
  - "A class run is a playbook with a play that includes the tasks C(provision) of the role C(class), as
    C(playbooks/class.yml) does. Run without C(-v) and with its output on a terminal (see O(progress)), its
    provisioning prints one line per lab VM when that VM is done, with the running count, instead of every
    task of every VM, for instance C([37/120 done, 3 failed] vm-37: failed at \"Build and start the inventory
    service\" ...). A VM is done when the role C(class) records its
    provisioning (C(class_provision): C(ok), C(failed) at the failed task, or C(unreachable) at C(connect)),
    or when it stops answering during the role (C(unreachable) during the role, with the task). After the step
    comes the cause when the report names one (C(registry pull limit reached), C(sudo asks for a password):
    C(module_utils/report/provision.py)), then the error, shortened to one line (the report keeps it whole)."
  - "What a class run still shows in full: the PLAY banners, every C(debug) message and every error that is
    not part of a VM's provisioning (the class summary, C(1 of 3 students passed), and the command that
    re-runs only the failed; a grading that failed), warnings, and the PLAY RECAP. Errors Ansible raises
    itself (a roster the inventory plugin refuses, the C(kit_hosts) error of a play that would match no host,
    a syntax error) are not a callback's and always show."
  - "The full output of a class run: C(-v) (or more) shows every task on the screen, as the default callback
    does. Or keep the screen short and every task in Ansible's log file: with C(log_path) set
    (C(ANSIBLE_LOG_PATH=class.log bin/lab10 class ...)) every task's output still goes to the log."
  - "The default callback's output, exactly: C(LAB10_PROGRESS=never) (or C(ANSIBLE_STDOUT_CALLBACK=default))."
  - "Under ansible-runner, AWX or Automation Controller the runner's own stdout callback (C(awx_display))
    replaces this one: those show each host's events themselves."
options:
  progress:
    description:
      - When a class run shows one line per VM instead of every task.
      - C(-v) (or more) always shows every task.
    type: str
    choices:
      auto: when the output is a terminal (an instructor watching); a pipe, a file, a CI log or a test gets every task
      always: also when the output is not a terminal (C(bin/lab10 class ... | tee class.out))
      never: never (the default callback's output)
    default: auto
    env:
      - name: LAB10_PROGRESS
    ini:
      - section: callback_lab10_progress
        key: progress
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as C(stdout_callback) in C(ansible.cfg) (the kit's is), with C(callback_plugins) naming this folder
"""

import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import inspect  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402

from ansible import constants as C  # noqa: E402
from ansible import context  # noqa: E402
from ansible.playbook.block import Block  # noqa: E402
from ansible.plugins.callback.default import CallbackModule as DefaultCallbackModule  # noqa: E402
from ansible.utils import display as display_module  # noqa: E402
from ansible.utils.display import Display  # noqa: E402
from ansible.utils.fqcn import add_internal_fqcns  # noqa: E402

# A class run: a play that includes these tasks of this role (playbooks/class.yml), which record each VM's
# provisioning in this fact (roles/class/tasks/provision.yml): first a start record, then the VM's end.
PROVISION_ROLE = "class"
PROVISION_TASKS = "provision"
RECORD_FACT = "class_provision"
# The error on a VM's line: whitespace collapsed, at most this long (its start and its end, where the cause
# usually is); the report keeps it whole.
MSG_WIDTH = 200

_SET_FACT = frozenset(add_internal_fqcns(("set_fact",)))
_DEBUG = frozenset(add_internal_fqcns(("debug",)))
# The kit's shared facts for plugins (plugins/plugin_utils/kit.py), run from their file: a plugin of a plain
# folder imports no sibling.
_PLUGINS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_SPEC = importlib.util.spec_from_file_location("lab10_plugin_kit", os.path.join(_PLUGINS, "plugin_utils", "kit.py"))
kit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(kit)


def wants_progress(setting, isatty, verbosity):
    """Whether a class run shows one line per VM: the progress option, whether stdout is a terminal, -v."""
    if verbosity > 0 or setting == "never":
        return False
    return setting == "always" or bool(isatty)


def _tasks(blocks):
    """Every task of blocks (their block, rescue and always sections, nested blocks too)."""
    for block in blocks or ():
        if isinstance(block, Block):
            for section in (block.block, block.rescue, block.always):
                yield from _tasks(section)
        else:
            yield block


def provisions_class(play):
    """Whether play includes the role class's provision tasks (include_role with tasks_from: provision)."""
    for task in _tasks([*play.pre_tasks, *play.tasks, *play.post_tasks]):
        role = getattr(task, "_role_name", None)
        tasks_from = (getattr(task, "_from_files", None) or {}).get("tasks")
        if role == PROVISION_ROLE and tasks_from in (PROVISION_TASKS, PROVISION_TASKS + ".yml"):
            return True
    return False


def shorten(msg, width=MSG_WIDTH):
    """msg on one line, at most width characters: its start and its end (an error's cause is often last)."""
    text = " ".join(str(msg or "").split())
    if len(text) <= width:
        return text
    head = (width - 5) * 2 // 5
    tail = width - 5 - head
    return f"{text[:head]} ... {text[-tail:]}"


def vm_line(vm, status, step="", msg="", cause="", seconds=None):
    """A VM's progress, without the count: `vm: ok (93 s)`, `vm: failed at "step" (cause): msg`."""
    if status == "ok":
        where = ""
    elif step == "connect":
        where = " at connect"
    elif step.startswith("during "):
        where = f" {step}"
    elif step:
        where = f' at "{step}"'
    else:
        where = ""
    line = f"{vm}: {status}{where}"
    if cause:
        line += f" ({cause})"
    if seconds is not None and status == "ok":
        line += f" ({seconds:.0f} s)"
    text = shorten(msg)
    return f"{line}: {text}" if text and status != "ok" else line


def progress_header(total, forks, log_path=None):
    """What a class run's provisioning prints first: how many VMs, how many at a time, where every task is."""
    count = f"{total} VMs" if total is not None else "The VMs"
    where = f"every task is in {log_path}" if log_path else "every task: -v, or a log with ANSIBLE_LOG_PATH=<file>"
    return f"{count}, {forks} at a time: one line for each when it is done; {where}"


def count_prefix(done, total, failed):
    """The running count: `[37/120 done, 3 failed]` (`[37 done, 3 failed]` when the total is not known)."""
    of = f"/{total}" if total is not None else ""
    return f"[{done}{of} done, {failed} failed]"


class ClassProgress:
    """The VMs of one provisioning play: what each recorded, and the line it gets once when it is done.

    Events: record() for every class_provision a VM's set_fact sets (the first is the start record, a later
    one its end, which the next one may still amend, as the role does to keep the API token out of the
    message); next_task() when the VM starts a task (an end record is final once the VM moves on to a task
    that does not set it); failed() / lost() for a failed or unreachable task during the provisioning;
    close() at the end of the play. Each returns the lines to print (with their status) for the VMs that are
    done. cause(record) names the reason of a failed record ("" for none).
    """

    def __init__(self, hosts=None, cause=None, clock=time.monotonic):
        self.total = len(hosts) if hosts is not None else None
        self.hosts = list(hosts or [])
        self.done = 0
        self.failed_count = 0
        self._cause = cause or (lambda record: "")
        self._clock = clock
        self._vms = {}  # vm -> {"since", "start", "end", "note"}
        self._finished = set()

    def busy(self, vm):
        """Whether vm is provisioning now: started, not at its end and not lost."""
        state = self._vms.get(vm)
        return bool(state) and state["end"] is None and vm not in self._finished

    def record(self, vm, record):
        if vm in self._finished or not isinstance(record, dict):
            return []
        state = self._vms.get(vm)
        if state is None:
            self._vms[vm] = {"since": self._clock(), "start": dict(record), "end": None, "note": None}
        else:
            state["end"] = dict(record)
        return []

    def next_task(self, vm, amends_record=False):
        state = self._vms.get(vm)
        if state is None or state["end"] is None or amends_record or vm in self._finished:
            return []
        return [self._finish(vm, state["end"])]

    def failed(self, vm, task, msg):
        """A task failed during vm's provisioning: its line if no record follows (a rescue usually does)."""
        if self.busy(vm):
            self._vms[vm]["note"] = {"status": "failed", "step": task, "msg": msg}
        return []

    def lost(self, vm, task, msg):
        """vm stopped answering during its provisioning: it leaves the play now, with no further record."""
        if not self.busy(vm):
            return []
        start = self._vms[vm]["start"]
        step = start.get("step") or "during the provisioning"
        return [self._finish(vm, {"status": "unreachable", "step": f'{step}, at "{task}"', "msg": msg})]

    def close(self):
        """The end of the play: the VMs not printed yet, and one line for those that never started."""
        lines = []
        for vm, state in self._vms.items():
            if vm in self._finished:
                continue
            record = state["end"] or state["note"] or {"status": "failed", "step": "", "msg": "it left the play"}
            lines.append(self._finish(vm, record))
        missing = [vm for vm in self.hosts if vm not in self._vms]
        if missing:
            lines.append(
                (
                    "failed",
                    f"{count_prefix(self.done, self.total, self.failed_count)} not provisioned (no record): "
                    + ", ".join(missing),
                )
            )
        return lines

    def _finish(self, vm, record):
        self._finished.add(vm)
        status = record.get("status") or "failed"
        self.done += 1
        if status != "ok":
            self.failed_count += 1
        seconds = self._clock() - self._vms[vm]["since"] if vm in self._vms else None
        cause = self._cause(record) if status != "ok" else ""
        line = vm_line(vm, status, str(record.get("step") or ""), record.get("msg") or "", cause, seconds)
        return status, f"{count_prefix(self.done, self.total, self.failed_count)} {line}"


def report_cause(record, modules=None):
    """The report's name for why a record failed (`VM's SSH host key changed`), "" when it has none but the
    status (`vm_unreachable`, `provision_failed`: the status says it) or the kit's vocabulary is not found."""
    if modules is None:
        modules = (kit.module_utils("report/provision"), kit.module_utils("lab/vocabulary"))
    provision, vocabulary = modules
    if provision is None or vocabulary is None:
        return ""
    reason = provision.provision_reason(record)
    if reason is None or reason in provision.GENERIC.values():
        return ""
    verdict = vocabulary.GRADER_VERDICTS.get(reason)
    return verdict.symptom if verdict else ""


class _RoutedDisplay:
    """The Display, with every message (banners, warnings, errors too) sent to the screen, Ansible's log
    file, both or nowhere: the default callback's code, writing where progress wants it."""

    def __init__(self, display, screen, log):
        self._real = display
        self._screen = screen
        self._log = log

    def display(self, msg, color=None, stderr=False, screen_only=False, log_only=False, newline=True, caplevel=None):
        to_screen = self._screen and not log_only
        to_log = self._log and not screen_only and display_module.logger is not None
        if to_screen or to_log:
            self._real.display(
                msg,
                color=color,
                stderr=stderr,
                screen_only=not to_log,
                log_only=not to_screen,
                newline=newline,
                caplevel=caplevel,
            )

    def __getattr__(self, name):
        method = inspect.getattr_static(Display, name, None)
        if isinstance(method, types.FunctionType):
            # Display's own methods (banner, warning, error, v...) print through self.display: through ours.
            return method.__get__(self)
        return getattr(self._real, name)


class CallbackModule(DefaultCallbackModule):
    """ansible.builtin.default, with one line per VM while a class run provisions (see DOCUMENTATION)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "lab10_progress"

    def __init__(self):
        super().__init__()
        self._class_run = False  # this playbook shows progress
        self._progress = None  # ClassProgress of the provisioning play running now
        self._screen_banners = set()  # tasks whose banner the screen has shown
        self._cause_modules = None

    # Where the default callback's output goes in a class run: nowhere (or the log) while quiet.
    @contextlib.contextmanager
    def _routed(self, screen, log):
        real = self._display
        self._display = _RoutedDisplay(real, screen=screen, log=log)
        try:
            yield
        finally:
            self._display = real

    def _quiet(self, method, *args):
        """The default callback's output of this event, to Ansible's log only (nowhere without one)."""
        if display_module.logger is not None:
            with self._routed(screen=False, log=True):
                method(*args)

    def _loud(self, method, result, *args):
        """The default callback's output of this result, on the screen, under its task's banner."""
        task = result.task
        if task._uuid not in self._screen_banners:
            with self._routed(screen=True, log=False):  # the log has it from the task's start
                self._print_task_banner(task)
            self._screen_banners.add(task._uuid)
        method(result, *args)

    def _show(self, lines):
        colors = {"ok": C.COLOR_OK, "unreachable": C.COLOR_UNREACHABLE}
        for status, line in lines:
            self._display.display(line, color=colors.get(status, C.COLOR_ERROR))

    def _cause(self, record):
        if self._cause_modules is None:
            self._cause_modules = (kit.module_utils("report/provision"), kit.module_utils("lab/vocabulary"))
        return report_cause(record, self._cause_modules)

    def _busy(self, result):
        return self._progress is not None and self._progress.busy(result.host.get_name())

    # Playbook and plays.
    def v2_playbook_on_start(self, playbook):
        self._class_run = wants_progress(
            self.get_option("progress"), sys.stdout.isatty(), self._display.verbosity
        ) and any(provisions_class(play) for play in playbook.get_plays())
        super().v2_playbook_on_start(playbook)

    def v2_playbook_on_play_start(self, play):
        self._close_play()
        super().v2_playbook_on_play_start(play)
        if not (self._class_run and provisions_class(play)):
            return
        try:
            hosts = play.get_variable_manager().get_vars(play=play)["ansible_play_batch"]
        except (AttributeError, KeyError):  # no inventory to ask: the count has no total
            hosts = None
        self._progress = ClassProgress(hosts, cause=self._cause)
        self._display.display(
            progress_header(
                len(hosts) if hosts is not None else None,
                context.CLIARGS.get("forks") or C.DEFAULT_FORKS,
                C.DEFAULT_LOG_PATH if display_module.logger is not None else None,
            )
        )

    def _close_play(self):
        if self._progress is not None:
            self._show(self._progress.close())
            self._progress = None

    def v2_playbook_on_stats(self, stats):
        self._close_play()
        super().v2_playbook_on_stats(stats)

    # Tasks.
    def v2_playbook_on_task_start(self, task, is_conditional):
        if not self._class_run:
            return super().v2_playbook_on_task_start(task, is_conditional)
        with self._routed(screen=False, log=True):  # also keeps the default's note of the task
            super().v2_playbook_on_task_start(task, is_conditional)

    def v2_playbook_on_handler_task_start(self, task):
        if not self._class_run:
            return super().v2_playbook_on_handler_task_start(task)
        with self._routed(screen=False, log=True):
            super().v2_playbook_on_handler_task_start(task)

    def v2_playbook_on_include(self, included_file):
        if not self._class_run:
            return super().v2_playbook_on_include(included_file)
        self._quiet(super().v2_playbook_on_include, included_file)

    def v2_runner_on_start(self, host, task):
        if self._progress is not None:
            amends = task.action in _SET_FACT and RECORD_FACT in (task.args or {})
            self._show(self._progress.next_task(host.get_name(), amends_record=amends))
        if not self._class_run:
            return super().v2_runner_on_start(host, task)
        self._quiet(super().v2_runner_on_start, host, task)

    # Results.
    def v2_runner_on_ok(self, result):
        if not self._class_run:
            return super().v2_runner_on_ok(result)
        busy = self._busy(result)
        if self._progress is not None and result.task.action in _SET_FACT:
            record = (result.result.get("ansible_facts") or {}).get(RECORD_FACT)
            if record is not None:
                self._progress.record(result.host.get_name(), record)
        if result.task.action in _DEBUG and not busy:
            return self._loud(super().v2_runner_on_ok, result)
        self._handle_warnings(result.result)
        self._quiet(super().v2_runner_on_ok, result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not self._class_run:
            return super().v2_runner_on_failed(result, ignore_errors)
        if self._busy(result):
            if not ignore_errors:
                self._progress.failed(result.host.get_name(), result.task.get_name(), result.result.get("msg", ""))
        elif not ignore_errors:
            return self._loud(super().v2_runner_on_failed, result, ignore_errors)
        self._handle_warnings(result.result)
        self._quiet(super().v2_runner_on_failed, result, ignore_errors)

    def v2_runner_on_unreachable(self, result):
        if not self._class_run:
            return super().v2_runner_on_unreachable(result)
        if not self._busy(result):
            return self._loud(super().v2_runner_on_unreachable, result)
        if not result.task.ignore_unreachable:
            self._show(
                self._progress.lost(result.host.get_name(), result.task.get_name(), result.result.get("msg", ""))
            )
        self._quiet(super().v2_runner_on_unreachable, result)

    def v2_runner_on_skipped(self, result):
        if not self._class_run:
            return super().v2_runner_on_skipped(result)
        self._quiet(super().v2_runner_on_skipped, result)

    def v2_runner_item_on_ok(self, result):
        if not self._class_run:
            return super().v2_runner_item_on_ok(result)
        self._handle_warnings(result.result)
        self._quiet(super().v2_runner_item_on_ok, result)

    def v2_runner_item_on_skipped(self, result):
        if not self._class_run:
            return super().v2_runner_item_on_skipped(result)
        self._quiet(super().v2_runner_item_on_skipped, result)

    def v2_runner_item_on_failed(self, result):
        if not self._class_run:
            return super().v2_runner_item_on_failed(result)
        if not self._busy(result):
            return self._loud(super().v2_runner_item_on_failed, result)
        self._quiet(super().v2_runner_item_on_failed, result)

    def v2_runner_retry(self, result):
        if not self._class_run:
            return super().v2_runner_retry(result)
        self._quiet(super().v2_runner_retry, result)

    def v2_on_file_diff(self, result):
        if not self._class_run:
            return super().v2_on_file_diff(result)
        self._quiet(super().v2_on_file_diff, result)
