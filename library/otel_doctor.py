#!/usr/bin/python
# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: otel_doctor
short_description: Say which hop of a compose service's trace export is broken, with the evidence
description:
  - Gathers evidence on the Docker host, read-only, with the docker CLI only (no Docker SDK needed).
  - The compose file's environment of O(service), as C(docker compose config) resolves it, against
    the B(running) container's (C(docker inspect)); a difference means the container was not
    recreated after the file changed.
  - The container's state and restarts, and the tracing lines of its log since it started
    (HTTP status, refused connections, DNS, TLS, timeouts), the last O(log_lines) kept verbatim.
  - A probe from B(inside) the container with the app's own Python and CA settings, an empty
    OTLP/HTTP protobuf export to the traces endpoint, resolved as the OpenTelemetry SDK does
    (C(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) verbatim, else C(OTEL_EXPORTER_OTLP_ENDPOINT) + C(/v1/traces));
    its outcome is the DNS, connect, TLS or HTTP step where it stopped.
  - Returns one verdict (RV(diagnosis)) naming the first hop the evidence proves broken, and
    RV(jaeger_search), what to ask Jaeger (with C(jaeger_trace)) when the VM's side cannot settle it.
    Run again with O(evidence) and O(jaeger) to turn that answer into the final verdict without
    touching the host.
  - The vocabulary of reasons, hops and fixes is docs/troubleshooting.md's table, generated from
    C(module_utils/lab/vocabulary.py).
  - A diagnosed fault is a result, not a module failure; the module fails only on bad parameters.
version_added: "1.0.0"
author:
  - lab10 tracing kit team (@sysadm-ee-lab10)
options:
  compose_file:
    description: The compose file that defines O(service). Absolute.
    type: path
    default: /home/centos/lab10/docker-compose.yml
  project:
    description: The compose project name (the label C(com.docker.compose.project) of its containers).
    type: str
    default: lab10
  service:
    description: The compose service of the traced app.
    type: str
    default: inventory
  expected_service_name:
    description:
      - The service name Jaeger should show (C(OTEL_SERVICE_NAME)); a different one in the container is a verdict.
      - Without it the name is not judged.
    type: str
  probe:
    description: Run the probe inside the container.
    type: bool
    default: true
  probe_timeout:
    description: Seconds each probe step (connect, TLS, answer) may take.
    type: float
    default: 3
  python:
    description:
      - Interpreters to try for the probe, in the container, after the one next to the container's command
        and the one in its C(VIRTUAL_ENV).
      - The default is C(DEFAULT_PYTHONS) of C(module_utils/doctor/evidence.py).
    type: list
    elements: str
    default: [/opt/venv/bin/python, python3, python]
  log_lines:
    description: How many of the newest tracing lines of the container's log to keep verbatim.
    type: int
    default: 5
  since:
    description:
      - Epoch seconds of the request that should have made a trace, on the controller's clock; exporter
        errors logged from then on count even when the probe succeeds.
      - Only a fallback for O(trigger_date), which is on the clock the spans and the log carry.
    type: float
  trigger_date:
    description:
      - The C(Date) header of the response to that request, on the app's clock (the VM's), which the spans
        and the container's log carry too. With it the request counts from this date less
        O(trigger_elapsed) and one second (both are whole seconds), whatever the controller's clock says;
        RV(since) is that moment.
      - Without it, or when it cannot be read, O(since) is used.
    type: str
  trigger_elapsed:
    description: Seconds the request took (the C(elapsed) of C(ansible.builtin.uri), whole seconds).
    type: float
    default: 0
  trigger_url:
    description: The URL of that request, for the evidence.
    type: str
  trigger_status:
    description: Its HTTP status (-1 for no answer); a failed request explains a missing trace.
    type: int
  operation:
    description: The span the lab looks for, for the messages (default from C(module_utils/lab/criteria.py)).
    type: str
    default: validate_inventory_cache
  parent_operation:
    description: Its parent span, for the messages.
    type: str
    default: GET /api/v1/inventory
  min_duration_ms:
    description: The span's minimum duration in milliseconds, for the messages.
    type: int
    default: 300
  evidence:
    description:
      - RV(evidence) of an earlier run. With it nothing is gathered again and the module does not touch the host;
        it only decides, together with O(jaeger).
    type: dict
  jaeger:
    description:
      - The registered result of C(jaeger_trace) for the same service (its C(reason), C(msg), C(checks),
        C(services_seen), C(operations_seen), C(waterfall) are read).
    type: dict
  docker:
    description: The docker CLI to run.
    type: str
    default: docker
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
notes:
  - Needs the docker CLI with its compose plugin and the rights to use it (become), and nothing beyond
    the Python standard library, on the Docker host.
  - The probe goes directly to the endpoint; when a proxy variable applies to it in the container, the
    evidence names the proxy the SDK would use.
"""

EXAMPLES = r"""
- name: Gather the evidence on the VM and judge what it proves
  otel_doctor:
    compose_file: /home/centos/lab10/docker-compose.yml
    expected_service_name: "inventory.{{ inventory_hostname_short }}.sysadm.ee"
  register: doctor
  become: true

- name: Ask Jaeger when the VM's side cannot settle it
  jaeger_trace:
    url: http://localhost:16686
    service: "inventory.{{ inventory_hostname_short }}.sysadm.ee"
    operation: validate_inventory_cache
    parent_operation: GET /api/v1/inventory
    min_duration: 300ms
    timeout: "{{ 0 if doctor.jaeger_search == 'once' else 12 }}"
  register: trace
  failed_when: false
  when: doctor.jaeger_search != 'none'

- name: Decide with Jaeger's answer
  otel_doctor:
    evidence: "{{ doctor.evidence }}"
    jaeger: "{{ trace }}"
  register: final
  when: trace is not skipped

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ (final if final is not skipped else doctor).diagnosis }}"
"""

RETURN = r"""
diagnosis:
  description: The verdict.
  returned: always
  type: dict
  contains:
    reason:
      description:
        - One reason of the vocabulary (docs/troubleshooting.md), e.g. V(export_refused).
        - V(ok) when every hop is healthy; V(exported_login_required) when the VM's side is (its probe's export was
          accepted) and the query API answered with a login (RV(diagnosis.verified) is false, the fix has the link
          to the service's traces in the Jaeger UI).
      type: str
    hop:
      description:
        - "The hop it names: V(app), V(container_env), V(sdk_export), V(network_tls), V(jaeger_ingest) or
          V(jaeger_query); empty for V(ok)."
      type: str
    ok:
      description:
        - True when the student has nothing to fix, V(ok), or V(exported_login_required) (the OTLP endpoint accepted
          the export, and Jaeger's query API wants a login, so the trace was not looked up).
      type: bool
    verified:
      description: True only for V(ok), when Jaeger's query API showed the request's trace as the lab wants it.
      type: bool
    msg:
      description: What is broken, in one sentence.
      type: str
    fix:
      description: The fix, in one line.
      type: str
    evidence:
      description: The facts behind it, one line each, in hop order (log lines verbatim).
      type: list
      elements: str
jaeger_search:
  description:
    - V(none) when the verdict is final; V(once) when the request's trace being in Jaeger after all, or Jaeger
      being down, could change it (a network failure, or an exporter error only the log shows), so ask its query
      API once, C(timeout=0); V(wait) when the VM's side is healthy and only the trace can tell.
    - With O(jaeger), a trace that arrived (every check passed, or its parent span is there) outweighs an
      exporter error or a failed probe, which stay in the evidence.
  returned: always
  type: str
evidence:
  description: The structured evidence (no secrets), to pass back as O(evidence).
  returned: always
  type: dict
since:
  description:
    - Epoch seconds from which the request's trace counts, on the VM's clock when O(trigger_date) was
      readable, else O(since); what to give C(jaeger_trace) as C(since) (with C(@)).
  returned: when gathered with O(since) or O(trigger_date)
  type: float
msg:
  description: The verdict in one line.
  returned: always
  type: str
"""

import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ..module_utils.doctor.classify import redact_userinfo, reference_time  # noqa: E402
from ..module_utils.doctor.evidence import DEFAULT_PYTHONS, Gatherer  # noqa: E402
from ..module_utils.doctor.verdict import diagnose  # noqa: E402
from ..module_utils.lab.criteria import MIN_DURATION_MS, OPERATION, PARENT_OPERATION  # noqa: E402


def run_module():
    module = AnsibleModule(
        argument_spec={
            "compose_file": {"type": "path", "default": "/home/centos/lab10/docker-compose.yml"},
            "project": {"type": "str", "default": "lab10"},
            "service": {"type": "str", "default": "inventory"},
            "expected_service_name": {"type": "str"},
            "probe": {"type": "bool", "default": True},
            "probe_timeout": {"type": "float", "default": 3},
            "python": {"type": "list", "elements": "str", "default": list(DEFAULT_PYTHONS)},
            "log_lines": {"type": "int", "default": 5},
            "since": {"type": "float"},
            "trigger_date": {"type": "str"},
            "trigger_elapsed": {"type": "float", "default": 0},
            "trigger_url": {"type": "str"},
            "trigger_status": {"type": "int"},
            "operation": {"type": "str", "default": OPERATION},
            "parent_operation": {"type": "str", "default": PARENT_OPERATION},
            "min_duration_ms": {"type": "int", "default": MIN_DURATION_MS},
            "evidence": {"type": "dict"},
            "jaeger": {"type": "dict"},
            "docker": {"type": "str", "default": "docker"},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not p["compose_file"].startswith("/"):
        module.fail_json(msg="compose_file must be an absolute path", compose_file=p["compose_file"])
    if p["probe_timeout"] <= 0:
        module.fail_json(msg="probe_timeout must be more than 0", probe_timeout=p["probe_timeout"])
    if p["log_lines"] < 0:
        module.fail_json(msg="log_lines must not be negative", log_lines=p["log_lines"])
    try:
        evidence = p["evidence"]
        if evidence is None:
            since = reference_time(p["trigger_date"], p["trigger_elapsed"], p["since"])
            gatherer = Gatherer(p["docker"], p["compose_file"], p["project"], p["service"])
            evidence = gatherer.gather(
                expected=p["expected_service_name"],
                probe=p["probe"],
                probe_timeout=p["probe_timeout"],
                pythons=p["python"],
                keep_lines=p["log_lines"],
                since=since["epoch"],
            )
            evidence["since"] = since
            if p["trigger_url"]:
                trigger_url = redact_userinfo(p["trigger_url"])
                evidence["trigger"] = {"url": trigger_url, "status": p["trigger_status"], "epoch": since["epoch"]}
        criteria = {key: p[key] for key in ("operation", "parent_operation", "min_duration_ms")}
        diagnosis, search = diagnose(evidence, p["jaeger"], criteria)
    except Exception as exc:  # noqa: BLE001 -- one line; the traceback only with -vvv
        module.fail_json(
            msg=f"otel_doctor internal error: {type(exc).__name__}: {exc}", exception=traceback.format_exc()
        )
    module.exit_json(
        changed=False,
        diagnosis=diagnosis,
        jaeger_search=search,
        evidence=evidence,
        since=(evidence.get("since") or {}).get("epoch"),
        msg="{reason} ({hop}): {msg}".format(**diagnosis) if diagnosis["hop"] else diagnosis["msg"],
    )


def main():
    run_module()


if __name__ == "__main__":
    main()
