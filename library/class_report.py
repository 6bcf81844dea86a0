#!/usr/bin/python
# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: class_report
short_description: Build a class's lab10 report from one bulk jaeger_trace result
description:
  - Turns the registered result of one bulk C(jaeger_trace) call into the class report (C(report.json),
    schema 2) and its JUnit view, for the role C(class) to render and write with C(class_report_files).
  - Each student gets the checks of the grading (service, parent trace, span, duration), the reason in
    words, the hop and the fix, all from the kit's one vocabulary (C(module_utils/lab/vocabulary.py)).
  - A student whose VM's evidence is given (C(evidence) of an O(roster) entry, gathered by
    C(playbooks/class.yml) on the VM) also gets the doctor's verdict, decided here from that evidence and
    the student's entry of O(grading), the same answer the grade is made of.
  - Students of the roster not graded now keep their entry of the O(previous) report, when that report
    graded the same criteria against the same Jaeger, up to the same O(until).
  - Reads O(previous) and changes nothing.
version_added: "1.0.0"
author:
  - lab10 tracing kit team (@sysadm-ee-lab10)
options:
  grading:
    description:
      - The registered result of the bulk C(jaeger_trace) call (its C(results), C(reason), C(msg)), or the list of
        several such results (a registered loop's C(results); skipped ones are ignored), merged into one.
    type: raw
    required: true
  roster:
    description:
      - One entry per roster host, in the order of the report.
      - "Keys: C(host) (inventory name), C(vm_name), C(service), C(student), C(email), C(section), and when
        C(playbooks/class.yml) provisioned the VM C(provision) (C(status), C(step), C(msg)) and C(evidence)
        (the C(evidence) of C(otel_doctor))."
    type: list
    elements: dict
    required: true
  graded:
    description: The inventory names of the hosts graded in this run; the others are carried over or not graded.
    type: list
    elements: str
    required: true
  run:
    description: This run's name (its directory), stored with every student graded now.
    type: str
    required: true
  generated:
    description: When the report was made, RFC 3339.
    type: str
    required: true
  jaeger_url:
    description: The query API asked, for the report and to match the previous report.
    type: str
    required: true
  since:
    description: The grading window's start as given to C(jaeger_trace), for the report.
    type: str
    required: true
  until:
    description:
      - The grading window's end as given to C(jaeger_trace) (its C(until)), for the report; omitted when the
        window ended with the grading.
      - A previous report merges only when it has the same (compared as text, so give it in one form, UTC).
    type: str
  criteria:
    description: The grading's criteria, C(operation), C(parent_operation) and C(min_duration_ms).
    type: dict
    required: true
  previous:
    description: The previous run's C(report.json); a file that does not exist or is not a report is ignored.
    type: path
  secrets:
    description: Strings that must not appear in the report (replaced by C(********)).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Only reads; check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
"""

EXAMPLES = r"""
- name: Build the report
  class_report:
    grading: "{{ grading }}"
    roster:
      - {host: alice-vm, vm_name: alice-vm, service: inventory.alice-vm.sysadm.ee, student: Alice}
    graded: [alice-vm]
    run: 20261125T120000Z
    generated: "2026-11-25T12:00:00Z"
    jaeger_url: http://localhost:16686
    since: 7d
    until: "2026-12-10T23:59:00Z"
    criteria: {operation: validate_inventory_cache, parent_operation: GET /api/v1/inventory, min_duration_ms: 300}
    previous: reports/latest/report.json
  register: built
  delegate_to: localhost
"""

RETURN = r"""
report:
  description: The report, C(report.json)'s content (schema 2; docs/instructor.md lists its keys).
  returned: always
  type: dict
junit:
  description: The JUnit view of the report (suites, cases, counts) that C(templates/class_report.junit.xml.j2) renders.
  returned: always
  type: dict
failed_hosts:
  description: The inventory names of the students who did not pass, in roster order (C(failed.txt)).
  returned: always
  type: list
  elements: str
grading_msg:
  description: Why Jaeger could not be asked (the grading's message), empty when it answered.
  returned: always
  type: str
"""

import json  # noqa: E402
import os  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ..module_utils.lab.redact import redact_userinfo  # noqa: E402
from ..module_utils.report.class_report import build_report, junit, merged_grading  # noqa: E402


def read_previous(path):
    """The previous report, or (None, why not) when there is none to merge."""
    if not path or not os.path.exists(path):
        return None, None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle), None
    except (OSError, ValueError) as exc:
        return None, f"the previous report {path} cannot be read, so it is not merged: {exc}"


def main():
    module = AnsibleModule(
        argument_spec={
            "grading": {"type": "raw", "required": True},
            "roster": {"type": "list", "elements": "dict", "required": True},
            "graded": {"type": "list", "elements": "str", "required": True},
            "run": {"type": "str", "required": True},
            "generated": {"type": "str", "required": True},
            "jaeger_url": {"type": "str", "required": True},
            "since": {"type": "str", "required": True},
            "until": {"type": "str"},
            "criteria": {"type": "dict", "required": True},
            "previous": {"type": "path"},
            "secrets": {"type": "list", "elements": "str", "default": [], "no_log": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    missing = [key for key in ("host", "vm_name", "service") if any(not row.get(key) for row in p["roster"])]
    if missing:
        module.fail_json(msg=f"roster: every entry needs {', '.join(missing)}")
    previous, problem = read_previous(p["previous"])
    if problem:
        module.warn(problem)
    grading = merged_grading(p["grading"])
    try:
        report = build_report(
            grading, p["roster"], p["graded"], p["run"], p["generated"], p["jaeger_url"], p["since"],
            p["criteria"], previous=previous, secrets=p["secrets"], until=p["until"],
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 -- one line; the traceback only with -vvv
        module.fail_json(
            msg=f"class_report internal error: {type(exc).__name__}: {exc}", exception=traceback.format_exc()
        )
    failed = [student["host"] for student in report["students"] if not student["passed"]]
    grading_msg = "" if report["jaeger_answered"] else str(grading.get("msg") or "")
    # jaeger_url may carry user:password@: not in the task's module_args either (-vvv).
    shown_args = dict(p, jaeger_url=redact_userinfo(p["jaeger_url"]))
    module.exit_json(
        changed=False, report=report, junit=junit(report), failed_hosts=failed, grading_msg=grading_msg,
        invocation={"module_args": shown_args},
    )  # fmt: skip


if __name__ == "__main__":
    main()
