"""class_plan: the grading batches of a class run and the re-run command it prints."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "filter"))
import class_plan as cp  # noqa: E402

DEFAULTS = {"class_jaeger_url": "http://localhost:16686", "class_jaeger_bearer_token": "", "class_since": "7d",
            "class_report_dir": "reports", "class_diagnose": True}  # fmt: skip


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2026-12-10T23:59:00Z", "2026-12-10T23:59:00Z"),
        ("2026-12-11T01:59:00+02:00", "2026-12-10T23:59:00Z"),
        ("2026-12-10 23:59:00+00:00", "2026-12-10T23:59:00Z"),  # how YAML writes a date it read
        (" 2026-12-10T23:59:00z ".upper(), "2026-12-10T23:59:00Z"),
        ("", ""),  # no deadline
        (None, ""),
    ],
)
def test_class_until_is_written_in_utc(value, utc):
    assert cp.class_until(value) == utc


@pytest.mark.parametrize(
    "value",
    ["2026-12-10T23:59:00", "2026-12-10", "2026-12-10T23:59Z", "2026-12-10T23:59:00.5Z", "7d", "@1796947140",
     "2026-02-30T12:00:00Z", "2026-12-10T24:00:00Z", "tomorrow"],
)  # fmt: skip
def test_class_until_refuses_anything_else_naming_the_variable_and_value(value):
    with pytest.raises(AnsibleFilterError) as err:
        cp.class_until(value)
    assert str(err.value).startswith(f"class_until: cannot use {value!r}; use RFC 3339 to the second with a zone")
    assert cp.class_until(value, check=True) == str(err.value)


@pytest.mark.parametrize("value", ["2026-12-10T23:59:00Z", "", None])
def test_class_until_check_is_empty_for_a_usable_value(value):
    assert cp.class_until(value, check=True) == ""


@pytest.mark.parametrize("value", ["2026-12-02T14:00:00Z", "2026-12-02T15:00:00+01:00", "2026-12-01T23:59:59Z"])
def test_class_until_not_after_the_window_start_is_refused(value):
    problem = cp.class_until(value, check=True, after="2026-12-02T14:00:00Z")
    assert problem.startswith(f"class_until: {value!r} is not after the grading window's start (2026-12-02T14:00:00Z)")
    with pytest.raises(AnsibleFilterError, match="is not after the grading window's start"):
        cp.class_until(value, after="2026-12-02T14:00:00Z")


@pytest.mark.parametrize("after", ["2026-12-02T14:00:00Z", None, ""])
def test_class_until_after_the_window_start_is_kept(after):
    assert cp.class_until("2026-12-02T14:00:01Z", after=after) == "2026-12-02T14:00:01Z"


def test_class_until_unset_needs_no_window_start():
    assert cp.class_until("", check=True, after="2026-12-02T14:00:00Z") == ""


def row(host, status=None):
    return {"host": host, "service": f"inventory.{host}.sysadm.ee", "provision": {"status": status} if status else None}


@pytest.mark.parametrize(
    ("rows", "graded", "timeout", "expected"),
    [
        ([row("a"), row("b")], ["a", "b"], 0, [["a", "b"], 0, [], 0]),
        (
            [row("a", "ok"), row("b", "failed"), row("c", "unreachable")],
            ["a", "b", "c"],
            10,
            [["a"], 10, ["b", "c"], 2],
        ),
        ([row("a", "ok"), row("b", "failed")], ["a"], "10", [["a"], 10, [], 2]),
        ([row("a", "skipped"), row("b", "unreachable")], ["a", "b"], 1, [["a"], 1, ["b"], 1]),
    ],
)
def test_batches_wait_for_those_that_may_export_and_search_the_broken_once(rows, graded, timeout, expected):
    first, second = cp.class_batches(rows, graded, timeout)
    services = [[s.split(".")[1] for s in batch["services"]] for batch in (first, second)]
    assert [services[0], first["timeout"], services[1], second["timeout"]] == expected


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, []),
        ({"class_since": "7D"}, []),  # as text, case-insensitive
        ({"class_since": "2d"}, ["-e", "class_since=2d"]),
        ({"class_diagnose": False}, ["-e", "class_diagnose=False"]),
        ({"class_jaeger_bearer_token": "s3cret"}, []),
        ({"class_since": "2 days"}, ["-e", "'class_since=2 days'"]),
        (
            {"class_jaeger_url": "https://grader:pw@jaeger.example"},
            ["-e", '"class_jaeger_url=${CLASS_JAEGER_URL:?this run\'s value, with its credentials}"'],
        ),
    ],
)
def test_rerun_options_carry_what_differs_but_no_secret(settings, expected):
    assert cp.rerun_options(settings, DEFAULTS, secrets=["class_jaeger_bearer_token"]) == expected


def test_rerun_options_always_carry_the_report_dir():
    options = cp.rerun_options({"class_report_dir": "/home/me/reports"}, DEFAULTS, always=["class_report_dir"])
    assert options == ["-e", "class_report_dir=/home/me/reports"]


def test_the_rerun_command_goes_through_the_wrapper_with_the_limit_and_forks():
    command = cp.class_rerun("/kit/bin/lab10", "class", ["/home/me/my roster.csv"], "/r/run 1/failed.txt",
                             {"class_since": "2d"}, DEFAULTS, forks=25)  # fmt: skip
    assert shlex.split(command) == ["/kit/bin/lab10", "class", "-i", "/home/me/my roster.csv", "--limit",
                                    "@/r/run 1/failed.txt", "-f", "25", "-e", "class_since=2d"]  # fmt: skip


def test_grade_reruns_carry_no_forks():
    command = cp.class_rerun("/kit/bin/lab10", "grade", ["r.csv"], "/r/failed.txt", {}, DEFAULTS)
    assert command == "/kit/bin/lab10 grade -i r.csv --limit @/r/failed.txt"
