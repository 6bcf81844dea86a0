"""Filter `inventory_api_build_error`: why `docker compose up` failed, in the words of the step that failed.

community.docker.docker_compose_v2 runs compose with `--progress json`. When the image build fails, its
`msg` is compose's summary, e.g. `General error: failed to solve: executor failed running [/bin/sh -c set -eu;
python3 -m venv ...]: exit code: 1`: the shell command, not why it failed. The step's own output (pip's
`ERROR: ...` lines) is in the module's `stdout`: BuildKit's progress stream, one JSON object per line
(`{"vertexes": [...]}`, `{"logs": [{"vertex": digest, "data": base64}]}`, ...). This reads that stream
and names the failed step with its last lines; a base-image pull that Docker Hub refused for its rate
limit becomes that, with the fix. Anything else keeps the module's own message.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Last lines of the failed step's output shown, and the longest one (pip lists every version it knows).
LAST_LINES = 10
LINE_CHARS = 300
STEP_CHARS = 100
MASK = "********"
# The course's pull-through mirror of Docker Hub (the example of inventory_api_base_image in the spec).
COURSE_MIRROR = "registry.hpc.ut.ee/mirror/"
# Docker Hub's refusal: `429 Too Many Requests - Server message: toomanyrequests: You have reached your
# (unauthenticated) pull rate limit`, or `toomanyrequests: Rate exceeded` from the daemon.
_RATE_LIMITED = re.compile(r"toomanyrequests|429 Too Many Requests", re.IGNORECASE)
# A step canceled because another one failed first is not the cause.
_CANCELED = re.compile(r"^(context canceled|canceled)\b", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_EXIT_CODE = re.compile(r"exit code: (\d+)")
_RUN_FLAGS = re.compile(r"^(\[[^\]]*\] RUN) (?:--\S+\s+)*")
_DIGITS = re.compile(r"\d+")


def build_steps(stdout: str) -> dict[str, dict[str, Any]]:
    """BuildKit's progress stream -> {vertex digest: {"name", "error", "log"}}, in the order steps appear.

    Lines that are not JSON objects (compose's own text, a truncated line) are skipped; a vertex's log is
    its chunks joined in the order they arrived (stdout and stderr interleaved, as a terminal shows them).
    """
    steps: dict[str, dict[str, Any]] = {}
    for line in (stdout or "").splitlines():
        line = line.strip()
        if not (line.startswith("{") and line.endswith("}")):
            continue
        try:
            status = json.loads(line)
        except ValueError:
            continue
        if not isinstance(status, Mapping):
            continue
        for vertex in status.get("vertexes") or []:
            step = steps.setdefault(str(vertex.get("digest")), {"name": "", "error": "", "log": ""})
            step["name"] = str(vertex.get("name") or step["name"])
            step["error"] = str(vertex.get("error") or step["error"])
        for chunk in status.get("logs") or []:
            step = steps.setdefault(str(chunk.get("vertex")), {"name": "", "error": "", "log": ""})
            step["log"] += _decode(chunk.get("data"))
    return steps


def _decode(data: Any) -> str:
    try:
        return base64.b64decode(str(data or ""), validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""


def failed_step(steps: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The step that failed: the last one with an error that is not a cancellation (else the last one)."""
    failed = [step for step in steps.values() if step.get("error")]
    causes = [step for step in failed if not _CANCELED.match(step["error"])]
    return (causes or failed or [None])[-1]


def last_lines(log: str, count: int = LAST_LINES) -> list[str]:
    """The last `count` lines of a step's output that say something: no blanks, no colours, no progress
    bars overwritten by a carriage return; a run of lines that differ only in their numbers (pip's
    `Retrying (Retry(total=4...` ones) is its last line with how many there were; each cut to LINE_CHARS."""
    runs: list[list[Any]] = []  # [shape, line, how many]
    for raw in _ANSI.sub("", log).split("\n"):  # not splitlines(): a lone \r overwrites, it ends no line
        line = raw.rstrip("\r").rsplit("\r", 1)[-1].strip()
        if not line:
            continue
        shape = _DIGITS.sub("0", line)
        if runs and runs[-1][0] == shape:
            runs[-1][1:] = [line, runs[-1][2] + 1]
        else:
            runs.append([shape, line, 1])
    lines = [_cut(line, LINE_CHARS) + (f" ({n} such lines)" if n > 1 else "") for _shape, line, n in runs]
    return lines[-count:] if count > 0 else []


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def step_title(name: str) -> str:
    """`[inventory 3/5] RUN --mount=... set -eu;   python3 ...` -> `[inventory 3/5] RUN set -eu; python3 ...`,
    on one line and at most STEP_CHARS long."""
    return _cut(_RUN_FLAGS.sub(r"\1 ", " ".join(name.split())), STEP_CHARS)


def mirror_image(image: str) -> str:
    """The course mirror's name for a Docker Hub image (`python:3.11-slim` -> `.../mirror/library/python:...`);
    an image of another registry (a host with a dot or a port before the first slash) has none: ''."""
    first, _slash, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return "" if first != "docker.io" else mirror_image(rest)
    return COURSE_MIRROR + (image if rest else "library/" + image)


def rate_limit_message(base_image: str) -> str:
    image = base_image or "(inventory_api_base_image)"
    mirror = mirror_image(base_image) if base_image else COURSE_MIRROR + "library/<image>"
    if not mirror:  # already a mirror or another registry: only a login can lift its limit
        return (
            f"The registry of the base image {image} refused the pull for its rate limit (toomanyrequests, "
            "HTTP 429). Fix: run `docker login` for that registry on the VM, or wait, then run again."
        )
    return (
        f"Docker Hub refused to pull the base image {image}: its pull rate limit is used up (toomanyrequests, "
        "HTTP 429; without a login Docker Hub allows a few pulls per hour per IP address, which a class behind "
        f"one address shares). Fix: set inventory_api_base_image to the course mirror's copy, {mirror}, "
        "or run `docker login` on the VM, then run again."
    )


def build_error(result: Mapping[str, Any], base_image: str = "", secrets: Iterable[Any] = ()) -> str:
    """The message for a failed `docker compose up` (the module's result): the failed build step and its
    last lines, the rate limit and its fix, or else the module's own message. Every secret is masked."""
    result = result if isinstance(result, Mapping) else {}
    msg = str(result.get("msg") or "").strip()
    steps = build_steps(str(result.get("stdout") or ""))
    step = failed_step(steps)
    errors = [msg, str(result.get("stderr") or "")] + [s["error"] for s in steps.values() if s.get("error")]
    if any(_RATE_LIMITED.search(text) for text in errors):
        text = rate_limit_message(str(base_image or ""))
    elif step is not None:
        code = _EXIT_CODE.search(step["error"])
        lines = last_lines(step["log"])
        text = f"The app's image did not build: step {step_title(step['name']) or '(unnamed)'} failed"
        text += f" (exit code {code.group(1)})." if code else f": {step_title(step['error'])}."
        if lines:
            text += " Its last lines:\n" + "\n".join(lines)
    else:
        text = msg or f"docker compose up failed (exit code {result.get('rc', '?')})"
    return mask(text, secrets)


def mask(text: str, secrets: Iterable[Any]) -> str:
    """text with every secret of at least 4 characters replaced (shorter ones would mask ordinary words)."""
    for secret in sorted({str(s) for s in secrets or () if s is not None and len(str(s)) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict:
        return {"inventory_api_build_error": build_error}
