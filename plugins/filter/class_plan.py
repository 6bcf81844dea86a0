# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grading plan of a class run and the command that re-runs its failed: the role `class`'s logic, in Python.

class_batches: the graded services in up to two bulk jaeger_trace calls (roles/class/tasks/grade.yml).
class_rerun: the re-run line the summary prints (roles/class/tasks/report.yml).
Documentation: class_plan.yml beside this file (ansible-doc -t filter class_batches / class_rerun).
"""

from __future__ import annotations

import re
import shlex

# A VM in these states sends no trace now: a search or two, not the wait.
BROKEN = ("failed", "unreachable")
# What a refused connection needs to be retried once (a reset there would fail the whole run).
BROKEN_TIMEOUT = 2
_CREDENTIALS = re.compile(r"://[^/]*@")


def class_batches(roster, graded, timeout):
    """[{services, timeout}, {services, timeout}]: those that may still export wait up to timeout; those whose
    provisioning failed or that did not answer get BROKEN_TIMEOUT at most. Only the graded hosts' services."""
    waiting, broken = [], []
    for row in roster:
        if row["host"] not in graded:
            continue
        status = (row.get("provision") or {}).get("status")
        (broken if status in BROKEN else waiting).append(row["service"])
    timeout = int(timeout)
    return [
        {"services": waiting, "timeout": timeout},
        {"services": broken, "timeout": min(timeout, BROKEN_TIMEOUT)},
    ]


def rerun_options(settings, defaults, secrets=(), always=()):
    """`-e name=value` for each setting that differs from its default (case-insensitive, as text), or is in always;
    never a secret; a value with URL credentials as a shell variable the shell insists on."""
    options = []
    for name in sorted(defaults):
        if name in secrets:
            continue
        value = settings.get(name, defaults[name])
        if _CREDENTIALS.search(str(value)):
            options += ["-e", f'"{name}=${{{name.upper()}:?this run\'s value, with its credentials}}"']
        elif name in always or str(value).lower() != str(defaults[name]).lower():
            options += ["-e", shlex.quote(f"{name}={value}")]
    return options


def class_rerun(wrapper, playbook, sources, failed_txt, settings, defaults, secrets=(), always=(), forks=None):
    """The shell command that re-runs only the failed, from any folder, with this run's settings."""
    words = [shlex.quote(wrapper), playbook]
    for source in sources:
        words += ["-i", shlex.quote(source)]
    words += ["--limit", "@" + shlex.quote(failed_txt)]
    if forks is not None:
        words += ["-f", str(forks)]
    return " ".join(words + rerun_options(settings, defaults, secrets, always))


class FilterModule:
    def filters(self):
        return {"class_batches": class_batches, "class_rerun": class_rerun}
