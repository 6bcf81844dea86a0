"""The role's build error filter (roles/inventory_api/filter_plugins/build_error.py).

tests/fixtures/build/*.json are community.docker.docker_compose_v2's results of real failed builds on a lab-VM
container (tests/integration/test_build_failure.py records them with LAB10_RECORD_BUILD): pip_missing_version
pins a Flask that does not exist; pip_no_ca is the same build behind the test bed's TLS-intercepting proxy
without its CA. No registry answers here, so the rate-limit cases are built: the stream's shape as recorded,
the refusal's text as Docker Hub sends it (quoted in public reports, e.g. elastic/golang-crossbuild#659).
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "roles" / "inventory_api" / "filter_plugins" / "build_error.py"
_spec = importlib.util.spec_from_file_location("inventory_api_build_error", PLUGIN)
build_error_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_error_module)
build_error = build_error_module.build_error

FIXTURES = ROOT / "tests" / "fixtures" / "build"
BASE = "python:3.11-slim"
MIRRORED = "registry.hpc.ut.ee/mirror/library/python:3.11-slim"
HUB_429 = (
    "failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/"
    "python/manifests/sha256:0123abcd: 429 Too Many Requests - Server message: toomanyrequests: You have reached "
    "your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit"
)


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def status_line(vertexes=(), logs=()) -> str:
    """One line of BuildKit's JSON progress stream."""
    body = {}
    if vertexes:
        body["vertexes"] = list(vertexes)
    if logs:
        body["logs"] = [
            {"vertex": digest, "stream": 2, "data": base64.b64encode(text.encode()).decode()} for digest, text in logs
        ]
    return json.dumps(body)


def stream(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- the recorded builds --------------------------------------------------------------------------------


def test_the_recorded_modules_message_is_the_shell_command_not_pips_error():
    """What the filter is for: the module's own msg names the command; pip's error is only in stdout."""
    result = recorded("pip_missing_version.json")
    assert "executor failed running [/bin/sh -c set -eu;" in result["msg"]
    assert "Could not find a version" not in result["msg"] + result.get("stderr", "")


def test_a_missing_version_names_the_step_and_ends_in_pips_error_lines():
    msg = build_error(recorded("pip_missing_version.json"), BASE, ["not-in-the-output"])
    first, *lines = msg.splitlines()
    assert first.startswith("The app's image did not build: step [inventory 3/5] RUN set -eu; python3 -m venv")
    assert first.endswith("failed (exit code 1). Its last lines:")
    assert lines[-2].startswith("ERROR: Could not find a version that satisfies the requirement Flask==9.9 (from")
    assert lines[-1] == "ERROR: No matching distribution found for Flask==9.9"
    assert 2 <= len(lines) <= build_error_module.LAST_LINES


def test_the_message_carries_no_command_and_no_raw_stream():
    msg = build_error(recorded("pip_missing_version.json"), BASE)
    assert "executor failed running" not in msg and "/bin/sh -c" not in msg
    assert '"vertexes"' not in msg and "python3 -m venv /opt/venv; bundle" in msg  # the step's name, cut short


def test_pip_behind_a_proxy_without_its_ca_shows_the_certificate_error_once_with_its_count():
    msg = build_error(recorded("pip_no_ca.json"), BASE)
    lines = msg.splitlines()[1:]
    retries = [line for line in lines if line.startswith("WARNING: Retrying")]
    assert len(retries) == 1 and "CERTIFICATE_VERIFY_FAILED" in retries[0] and retries[0].endswith(" such lines)")
    assert lines[-1] == "ERROR: No matching distribution found for Flask==9.9"
    assert all(len(line) <= build_error_module.LINE_CHARS + len(" (99 such lines)") for line in lines)


def test_a_secret_in_the_steps_output_is_masked():
    result = recorded("pip_missing_version.json")
    assert "Flask==9.9" in build_error(result, BASE)
    masked = build_error(result, BASE, ["Flask==9.9"])
    assert "Flask==9.9" not in masked and "requirement ******** (from" in masked


# --- the rate limit -------------------------------------------------------------------------------------

METADATA = {"digest": "sha256:aa", "name": f"[inventory internal] load metadata for docker.io/library/{BASE}"}


@pytest.mark.parametrize(
    "result",
    [
        {"msg": f"General error: failed to solve: {BASE}: {HUB_429}", "rc": 1},
        {"msg": "General error: failed to solve", "stderr": f'{{"error":true,"message":"{HUB_429}"}}', "rc": 1},
        {"msg": "General error", "rc": 1, "stdout": stream(status_line([{**METADATA, "error": HUB_429}]))},
        {"msg": "Error response from daemon: toomanyrequests: Rate exceeded", "rc": 1},
    ],
    ids=["in-msg", "in-stderr", "in-a-step", "daemon-words"],
)
def test_a_pull_refused_for_the_rate_limit_says_so_with_both_fixes(result):
    msg = build_error(result, BASE)
    assert msg.startswith(f"Docker Hub refused to pull the base image {BASE}: its pull rate limit is used up")
    assert f"set inventory_api_base_image to the course mirror's copy, {MIRRORED}," in msg
    assert "`docker login` on the VM" in msg


def test_the_rate_limit_wins_over_the_step_that_reported_it():
    result = {"msg": "x", "rc": 1, "stdout": stream(status_line([{**METADATA, "error": HUB_429}], [("sha256:aa", "")]))}
    assert build_error(result, BASE).startswith("Docker Hub refused")


def test_a_limited_mirror_or_other_registry_gets_only_the_login_fix():
    msg = build_error({"msg": HUB_429, "rc": 1}, MIRRORED)
    assert msg.startswith(f"The registry of the base image {MIRRORED} refused the pull for its rate limit")
    assert "docker login" in msg and "course mirror" not in msg


@pytest.mark.parametrize(
    ("image", "mirrored"),
    [
        (BASE, MIRRORED),
        ("docker.io/library/python:3.12", "registry.hpc.ut.ee/mirror/library/python:3.12"),
        ("someone/app:1", "registry.hpc.ut.ee/mirror/someone/app:1"),
        (MIRRORED, ""),
        ("ghcr.io/someone/app:1", ""),
        ("localhost:5000/app", ""),
        ("localhost/app", ""),
    ],
)
def test_mirror_image(image, mirrored):
    assert build_error_module.mirror_image(image) == mirrored


@pytest.mark.parametrize("text", ["429 Too Many Requests", "TOOMANYREQUESTS"])
def test_pip_hitting_a_limit_in_its_own_output_is_still_pips_error(text):
    """Only errors are searched for the registry's refusal, not the step's output."""
    step = {"digest": "sha256:bb", "name": "[inventory 3/5] RUN pip install", "error": "exit code: 1"}
    result = {"msg": "m", "rc": 1, "stdout": stream(status_line([step], [("sha256:bb", f"HTTP error {text}\n")]))}
    assert build_error(result, BASE).startswith("The app's image did not build: step [inventory 3/5] RUN pip install")


# --- the other failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {"msg": "Error response from daemon: Bind for 127.0.0.1:5000 failed: port is already allocated", "rc": 1},
            "Error response from daemon: Bind for 127.0.0.1:5000 failed: port is already allocated",
        ),
        ({"rc": 17}, "docker compose up failed (exit code 17)"),
        ({"msg": "Cannot find Compose file"}, "Cannot find Compose file"),
        (None, "docker compose up failed (exit code ?)"),
    ],
    ids=["start-failed", "no-msg", "no-rc", "no-result"],
)
def test_a_failure_without_a_failed_step_keeps_the_modules_message(result, expected):
    assert build_error(result, BASE) == expected


def test_a_step_that_failed_without_output_gives_its_error():
    step = {"digest": "sha256:cc", "name": "[inventory 5/5] COPY *.py /app/", "error": "lstat /app.py: no such file"}
    msg = build_error({"msg": "m", "rc": 1, "stdout": stream(status_line([step]))}, BASE)
    expected = "step [inventory 5/5] COPY *.py /app/ failed: lstat /app.py: no such file."
    assert msg == f"The app's image did not build: {expected}"


def test_a_step_canceled_because_another_failed_is_not_the_cause():
    failed = {"digest": "sha256:dd", "name": "[inventory 3/5] RUN pip install", "error": "exit code: 2"}
    canceled = {"digest": "sha256:ee", "name": "[inventory internal] load build context", "error": "context canceled"}
    result = {"msg": "m", "rc": 1, "stdout": stream(status_line([failed]), status_line([canceled]))}
    assert "step [inventory 3/5] RUN pip install failed (exit code 2)" in build_error(result, BASE)


def test_lines_that_are_not_the_stream_are_skipped():
    step = {"digest": "sha256:ff", "name": "[inventory 3/5] RUN x", "error": "exit code: 1"}
    garbage = ["not json", "{truncated", '{"logs": [{"vertex": "sha256:ff", "data": "%%%not-base64"}]}', "[1, 2]"]
    result = {"msg": "m", "rc": 1, "stdout": stream(*garbage, status_line([step], [("sha256:ff", "boom\n")]))}
    assert build_error(result, BASE).endswith("Its last lines:\nboom")


def test_a_steps_output_split_across_chunks_is_joined_into_lines():
    step = {"digest": "sha256:11", "name": "[inventory 3/5] RUN x", "error": "exit code: 1"}
    chunks = [("sha256:11", "ERROR: Could not fi"), ("sha256:11", "nd a version\nlast\n")]
    result = {"msg": "m", "rc": 1, "stdout": stream(status_line([step], chunks))}
    assert build_error(result, BASE).endswith("Its last lines:\nERROR: Could not find a version\nlast")


# --- the pure helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("a\n\n   \nb\n", ["a", "b"]),
        ("\x1b[31mERROR: red\x1b[0m\n", ["ERROR: red"]),
        ("Downloading 10%\rDownloading 100%\n", ["Downloading 100%"]),
        ("windows\r\nline\r\n", ["windows", "line"]),
        ("Retry total=4\nRetry total=3\nRetry total=2\nERROR\n", ["Retry total=2 (3 such lines)", "ERROR"]),
        ("x=1\ny=1\nx=2\n", ["x=1", "y=1", "x=2"]),
        ("".join(f"line {chr(97 + i)}\n" for i in range(15)), [f"line {chr(97 + i)}" for i in range(5, 15)]),
        ("", []),
    ],
    ids=["blanks", "ansi", "carriage-return", "crlf", "fold-runs", "no-fold-apart", "last-ten", "empty"],
)
def test_last_lines(log, expected):
    assert build_error_module.last_lines(log) == expected


def test_a_long_line_is_cut():
    (line,) = build_error_module.last_lines("E" * 1000)
    assert len(line) == build_error_module.LINE_CHARS and line.endswith("…")


RUN_STEP = "[inventory 3/5] RUN"
COPY_STEP = "[inventory 2/5] COPY requirements.txt /tmp/requirements.txt"


@pytest.mark.parametrize(
    ("name", "title"),
    [
        (f"{RUN_STEP} --mount=type=secret,id=extra_ca,required=false     set -eu;  x", f"{RUN_STEP} set -eu; x"),
        (COPY_STEP, COPY_STEP),
        (f"{RUN_STEP} " + "y" * 200, f"{RUN_STEP} " + "y" * 79 + "…"),
    ],
    ids=["run-flags-and-spaces", "copy", "long"],
)
def test_step_title(name, title):
    assert build_error_module.step_title(name) == title


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        (["s3cr3t-token"], "a ******** b"),
        ([None, "", "abc"], "a s3cr3t-token b"),
        (["s3cr3t", "s3cr3t-token"], "a ******** b"),
        ([12345678], "a s3cr3t-token b"),
    ],
    ids=["masked", "too-short-or-empty", "longest-first", "an-int-token"],
)
def test_mask(secrets, expected):
    assert build_error_module.mask("a s3cr3t-token b", secrets) == expected


def test_an_int_token_is_masked_as_its_digits():
    assert build_error_module.mask("token 12345678 here", [12345678]) == "token ******** here"


def test_the_filter_is_registered_under_the_roles_prefix():
    assert build_error_module.FilterModule().filters() == {"inventory_api_build_error": build_error}
