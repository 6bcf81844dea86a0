# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a VM of a class was not provisioned: the report's reason for a provisioning record.

playbooks/class.yml records each VM's provisioning (status ok / failed / unreachable, the step, Ansible's
error message); this names the cause inside that message, so the report says "the VM's host key changed"
or "sudo asks for a password" with the fix for that, not "unreachable" with "start the VM". The words and
fixes are in the vocabulary (lab.vocabulary.GRADER_VERDICTS).
"""

from __future__ import annotations

import re

# (reason, what in the error says so), first match wins: OpenSSH's, sudo's (through Ansible's become) and the
# registry's own words. A changed key is tested before an unknown one: ssh says "verification failed" for both.
CAUSES = (
    ("host_key_changed", re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for \S+ has changed")),
    ("host_key_unknown", re.compile(r"Host key verification failed|No \S+ host key is known for")),
    ("ssh_key_refused", re.compile(r"Permission denied \((publickey|password|keyboard-interactive)")),
    ("become_password_missing", re.compile(r"Missing sudo password|a password is required|a terminal is required")),
    ("become_password_wrong", re.compile(r"Incorrect sudo password|incorrect password attempt")),
    # The registry's own word (pip's retries of a PyPI 429 quoted by a failed build are not a pull limit).
    ("registry_rate_limited", re.compile(r"toomanyrequests|pull rate limit", re.IGNORECASE)),
)
GENERIC = {"unreachable": "vm_unreachable", "failed": "provision_failed"}
REASONS = tuple(reason for reason, _pattern in CAUSES) + tuple(GENERIC.values())


def provision_reason(provision):
    """The report's reason for a provisioning record, or None when it did not fail."""
    status = (provision or {}).get("status")
    if status not in GENERIC:
        return None
    msg = str(provision.get("msg") or "")
    for reason, pattern in CAUSES:
        if pattern.search(msg):
            return reason
    return GENERIC[status]
