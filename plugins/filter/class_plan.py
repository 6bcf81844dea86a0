# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grading plan of a class run and the command that re-runs its failed: the role `class`'s logic, in Python.

class_batches: the graded services in up to two bulk jaeger_trace calls (roles/class/tasks/grade.yml).
class_rerun: the re-run line the summary prints (roles/class/tasks/report.yml).
class_until: class_until checked and written in UTC, the grading window's end (roles/class/tasks/grade.yml).
Documentation: class_plan.yml beside this file (ansible-doc -t filter class_batches / class_rerun).
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime

from ansible.errors import AnsibleFilterError

# A VM in these states sends no trace now: a search or two, not the wait.
BROKEN = ("failed", "unreachable")
# What a refused connection needs to be retried once (a reset there would fail the whole run).
BROKEN_TIMEOUT = 2
_CREDENTIALS = re.compile(r"://[^/]*@")
# class_until: RFC 3339 to the second with a zone (T or, as YAML writes a date, a space). A time without a zone
# would be the controller's local time, which the reader of the report does not see.
_UNTIL = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)")
UNTIL_HINT = "use RFC 3339 to the second with a zone, such as 2026-12-10T23:59:00Z or 2026-12-11T01:59:00+02:00"


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


def class_until(value, check=False, after=None):
    """class_until -> the same moment as 2026-12-10T23:59:00Z, or "" when not set; anything else is refused
    (AnsibleFilterError naming the variable and the value). check: the refusal's words instead ("" when the
    value is fine), for a task that fails with them alone. after: the grading window's start (the same form, in
    UTC); a deadline not after it is refused too, for the grade could count no trace."""
    text = "" if value is None else str(value).strip()
    moment = None
    if _UNTIL.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None  # a day or time that does not exist (2026-02-30, 24:00:00)
    problem = "" if moment or not text else f"class_until: cannot use {value!r}; {UNTIL_HINT}"
    start = datetime.fromisoformat(str(after).replace("Z", "+00:00")) if moment and after else None
    if start and moment <= start:
        problem = (
            f"class_until: {value!r} is not after the grading window's start ({after}): no trace could count."
            " Give a later deadline, or none (-e class_until=) to grade up to now"
        )
    if check:
        return problem
    if problem:
        raise AnsibleFilterError(problem)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


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
        return {"class_batches": class_batches, "class_rerun": class_rerun, "class_until": class_until}
