"""The report files as grade.yml writes them, rendered by Ansible from a recorded bulk result (no Jaeger, no VM):
the HTML is self-contained and escaped, the JUnit validates and agrees with the JSON, failed.txt feeds --limit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xmlschema
from ansible.module_utils.lab.vocabulary import VERDICTS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "class"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "NO_COLOR": "1"}
RUN = "20261125T120000Z"
TOKEN_READ = "a-token-was-read"


def render(reports: Path, fixture: str = "bulk_result.json", *options: str) -> subprocess.CompletedProcess:
    command = [
        str(BIN / "ansible-playbook"),
        "-i", str(FIXTURES / "roster.csv"),
        "-i", str(FIXTURES / "provision.yml"),
        str(FIXTURES / "render.yml"),
        "-e", f"class_fixture={FIXTURES / fixture}",
        "-e", f"class_report_dir={reports}",
        "-e", "class_jaeger_url=http://jaeger.example:16686",
        "-e", f"class_token_marker={reports / TOKEN_READ}",
        *options,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=ENV, cwd=ROOT)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reports")
    out = render(path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    return path


@pytest.fixture(scope="module")
def run_dir(reports) -> Path:
    return reports / RUN


@pytest.fixture(scope="module")
def report(run_dir) -> dict:
    return json.loads((run_dir / "report.json").read_text())


def test_the_rerun_line_says_how_many_were_not_graded_yet(tmp_path):
    out = render(tmp_path, "bulk_result.json", "--limit", "good-1,short")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert "Re-run only the 5 failed (4 of them not graded yet)" in out.stdout


def test_a_jaeger_urls_credentials_are_in_no_file_and_no_output(tmp_path):
    out = render(
        tmp_path, "bulk_result.json", "-e", "class_jaeger_url=http://grader:pa55word@jaeger.example:16686", "-vvv"
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert "pa55word" not in out.stdout + out.stderr
    assert not [p.name for p in (tmp_path / RUN).iterdir() if "pa55word" in p.read_text()]
    assert '-e "class_jaeger_url=${CLASS_JAEGER_URL:?this run\'s value, with its credentials}"' in out.stdout


def test_all_five_files_and_latest(reports, run_dir):
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "failed.txt",
        "junit.xml",
        "report.html",
        "report.json",
        "report.md",
    ]
    assert os.readlink(reports / "latest") == RUN


def test_files_are_for_the_instructor_only(run_dir):
    assert {oct(p.stat().st_mode & 0o777) for p in run_dir.iterdir()} == {"0o640"}
    assert oct(run_dir.stat().st_mode & 0o777) == "0o750"


def test_the_header_says_the_deadline_in_utc(tmp_path):
    out = render(tmp_path, "bulk_result.json", "-e", "class_until=2026-12-11T01:59:00+02:00")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert json.loads((tmp_path / RUN / "report.json").read_text())["until"] == "2026-12-10T23:59:00Z"
    header = "traces since 7d, started by the deadline 2026-12-10T23:59:00Z (later ones do not count)"
    assert header in (tmp_path / RUN / "report.md").read_text()
    assert header in (tmp_path / RUN / "report.html").read_text()


def test_json_is_schema_2_with_the_whole_roster(report):
    assert report["schema"] == 2 and report["run"] == RUN and report["until"] is None
    assert [s["vm_name"] for s in report["students"]] == ["good-1", "good-2", "short", "nochild", "orphan", "absent"]
    assert report["students"][2]["student"] == "Ann <b>O'Neil</b> & Co"
    assert {k for k in report["summary"]} >= {"students", "passed", "failed", "checks", "provision", "lines"}


def test_provisioning_records_come_from_the_inventory(report):
    students = {s["vm_name"]: s for s in report["students"]}
    assert students["absent"]["provision"]["status"] == "unreachable"
    assert students["nochild"]["reason"] == "provision_failed"
    assert students["good-1"]["passed"] and students["good-1"]["provision"]["status"] == "ok"


def test_failed_txt_lists_the_failed_hosts_one_per_line(run_dir, report):
    failed = [s["host"] for s in report["students"] if not s["passed"]]
    assert (run_dir / "failed.txt").read_text() == "".join(f"{host}\n" for host in failed)
    assert failed == ["short", "nochild", "orphan", "absent"]


class Refs(HTMLParser):
    """Every attribute that could load something, and the text of <style> and <script>."""

    def __init__(self):
        super().__init__()
        self.loads, self.links, self.styles, self.tags = [], [], [], []
        self._in = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if tag == "a" and name == "href":
                self.links.append(value)
            elif name in ("src", "href", "srcset", "data", "poster", "action", "background", "xlink:href"):
                self.loads.append((tag, name, value))
            elif name == "style":
                self.styles.append(value)
        self._in = tag if tag in ("style", "script") else None

    def handle_data(self, data):
        if self._in:
            self.styles.append(data)


@pytest.fixture(scope="module")
def html(run_dir) -> str:
    return (run_dir / "report.html").read_text()


def test_html_loads_nothing_from_outside(html):
    refs = Refs()
    refs.feed(html)
    assert refs.loads == []
    assert "link" not in refs.tags and "img" not in refs.tags and "iframe" not in refs.tags
    assert not any(re.search(r"url\(|@import", text) for text in refs.styles)
    # The only links: the students' traces in Jaeger (anchors, opened on a click).
    assert refs.links and all(re.fullmatch(r"http://127\.0\.0\.1:\d+/trace/[0-9a-f]{32}", link) for link in refs.links)


def test_html_escapes_what_students_typed(html):
    assert "Ann &lt;b&gt;O&#39;Neil&lt;/b&gt; &amp; Co" in html
    assert "<b>O'Neil</b>" not in html


def test_html_shows_the_summary_first_and_a_waterfall_per_trace(html, report):
    summary = html.index("validate_inventory_cache shorter than 300 ms: 1 of 6")
    assert summary < html.index('id="vm-good-1"')
    traced = sum(1 for s in report["students"] if s["trace"] and not s["passed"])
    assert html.count('class="waterfall"') == traced
    assert html.count('class="threshold"') == traced


def test_html_bars_are_drawn_from_the_spans(html, report):
    short = next(s for s in report["students"] if s["vm_name"] == "short")
    span = short["trace"]["spans"][1]
    scale = max(short["trace"]["total_ms"], span["offset_ms"] + 300)
    width = round(100 * span["duration_ms"] / scale, 3)
    section = html[html.index('id="vm-short"') : html.index('id="vm-nochild"')]
    assert f"width: {width}%" in section
    assert "focus fail" in section


def test_junit_validates_against_the_schema(run_dir):
    xmlschema.XMLSchema(str(ROOT / "tests" / "fixtures" / "junit" / "junit.xsd")).validate(str(run_dir / "junit.xml"))


def test_junit_agrees_with_the_json(run_dir, report):
    root = ET.parse(run_dir / "junit.xml").getroot()  # noqa: S314 -- our own file, validated above
    failures = sorted(
        (c.get("classname"), c.find("failure").get("type"))
        for c in root.iter("testcase")
        if c.find("failure") is not None
    )
    expected = sorted(
        (f"lab10.{s['vm_name']}", c["reason"]) for s in report["students"] for c in s["checks"] if c["ok"] is False
    )
    assert failures == expected
    errors = {
        c.get("classname"): c.find("error").get("type") for c in root.iter("testcase") if c.find("error") is not None
    }
    assert errors == {"lab10.nochild": "provision_failed", "lab10.absent": "vm_unreachable"}
    assert int(root.get("tests")) == len(list(root.iter("testcase")))
    assert int(root.get("failures")) == len(failures) and int(root.get("errors")) == 2
    skipped = [c for c in root.iter("testcase") if c.find("skipped") is not None]
    undecided = [c for s in report["students"] for c in s["checks"] if c["ok"] is None]
    assert len(skipped) == len(undecided) == int(root.get("skipped")) > 0


def test_markdown_has_the_summary_and_a_row_per_student(run_dir):
    text = (run_dir / "report.md").read_text()
    assert "**2 of 6 passed**" in text
    assert "- validate_inventory_cache shorter than 300 ms: 1 of 6" in text
    rows = [line for line in text.splitlines() if re.match(r"\| (FAIL|ERROR|NOT GRADED) \|", line)]
    assert len(rows) == 4
    assert all(line.count(" | ") == 7 for line in rows), "a stray | would shift the columns"
    passed = [line for line in text.splitlines() if re.match(r"\| good-\d \|", line)]
    assert len(passed) == 2 and all(line.count(" | ") == 4 for line in passed)


def test_the_students_who_did_not_pass_come_first(run_dir, html):
    md = (run_dir / "report.md").read_text()
    for text, mark in ((html, 'id="vm-{}"'), (md, "| {} |")):
        where = {vm: text.index(mark.format(vm)) for vm in ("good-1", "good-2", "short", "absent")}
        assert where["short"] < where["absent"] < where["good-1"] < where["good-2"]
    assert md.index("## Did not pass: 4 of 6") < md.index("## Passed: 2 of 6")


def passed_part(text: str, start: str) -> str:
    return text[text.index(start) :]


def test_a_passed_student_is_one_compact_line(run_dir, html):
    """No 'Every hop is healthy ... Nothing to fix' and no waterfall per passed student: the span's length and
    the trace."""
    md = (run_dir / "report.md").read_text()
    for text in (md, html):
        assert "Every hop is healthy" not in text and "Nothing to fix" not in text
    table = passed_part(html, "<h2>Passed")
    rows = table[: table.index("</table>")].split("<tr")[2:]
    assert len(rows) == 2 and all(row.split("</tr>")[0].count("\n") == 0 for row in rows)
    assert re.search(r"\| good-1 \| Mari Maasikas \| 3\d\d\.\d ms \| \[[0-9a-f]{12}\]", md)
    assert passed_part(html, "<h2>Passed").count('class="waterfall"') == 0


def shown_twice(text: str, phrases: list[str]) -> list[str]:
    return [p for p in phrases if p and text.count(p) > 1]


@pytest.mark.parametrize("name", ["report.md", "report.html"])
def test_a_students_reason_and_fix_are_said_once(run_dir, report, name):
    text = (run_dir / name).read_text()
    for student in report["students"]:
        if student["passed"]:
            continue
        if name == "report.html":
            part = text[text.index(f'id="vm-{student["vm_name"]}"') :]
            part = re.sub(r' title="[^"]*"', "", part[: part.index("</tbody>")])  # hover text, not shown
        else:  # the table's row and the student's details
            row = next(
                line for line in text.splitlines() if line.startswith("| ") and f"| {student['vm_name']} |" in line
            )
            heading = f"### {student['vm_name']}"
            details = text[text.index(heading) :].split("\n### ")[0] if heading in text else ""
            part = row + details
        phrases = [student["reason_text"][:60], student["fix"][:60], *(n[:60] for n in student["notes"])]
        if student.get("diagnosis"):
            phrases.append(student["diagnosis"]["msg"][:60])
        assert shown_twice(part.replace("&#39;", "'"), phrases) == [], student["vm_name"]


def test_a_trace_url_that_is_not_http_is_never_a_link(tmp_path):
    grading = json.loads((FIXTURES / "bulk_result.json").read_text())
    by_service = {r["service"]: r for r in grading["results"]}
    by_service["inventory.good-1.sysadm.ee"]["trace_url"] = "javascript:alert(1)"
    by_service["inventory.good-2.sysadm.ee"]["trace_url"] = "http://jaeger.example/trace/a>b c"
    fixture = tmp_path / "bulk.json"
    fixture.write_text(json.dumps(grading))
    out = render(tmp_path, str(fixture))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    md, html = ((tmp_path / RUN / name).read_text() for name in ("report.md", "report.html"))
    assert "](<javascript:" not in md and 'href="javascript:' not in html
    assert "(<http://jaeger.example/trace/a%3Eb%20c>)" in md
    assert 'href="http://jaeger.example/trace/a&gt;b c"' in html


def test_markdown_links_only_http_trace_urls(run_dir, report):
    text = (run_dir / "report.md").read_text()
    traced = [s for s in report["students"] if s["trace"] and s["trace"]["url"]]
    assert traced
    for student in traced:
        assert f"[{student['trace']['id'][:12]}](<{student['trace']['url']}>)" in text


def test_jaeger_unreachable_writes_the_report_then_fails_the_run(tmp_path):
    out = render(tmp_path, "bulk_unreachable.json")
    assert out.returncode != 0
    assert "Grading failed before any student was checked" in out.stdout
    report = json.loads((tmp_path / RUN / "report.json").read_text())
    # The two VMs whose provisioning failed keep that reason.
    assert report["summary"]["lines"][-1] == "Jaeger could not be asked (unreachable): 4 of 6"


def test_the_doctors_verdict_and_fix_are_shown_where_they_differ_from_the_grade(report, html, run_dir):
    """nochild: provisioning failed, and the VM's evidence shows another fault. Decided on the controller from the
    VM's recorded evidence; words and fix from the vocabulary."""
    diagnosis = next(s for s in report["students"] if s["vm_name"] == "nochild")["diagnosis"]
    assert (diagnosis["reason"], diagnosis["hop"]) == ("not_restarted", "container_env")
    fix = VERDICTS["not_restarted"].fix.split("{")[0]
    assert "<b>Doctor</b>: <code>not_restarted</code> at the container_env hop." in html
    assert html_escape(fix) in html
    assert "- Doctor: `not_restarted` at the container_env hop: " in (run_dir / "report.md").read_text()


def test_a_doctor_who_found_what_the_grade_says_is_one_line(report, html, run_dir):
    """short: a healthy VM whose span is too short; the doctor's verdict is the grade's, so not said again."""
    student = next(s for s in report["students"] if s["vm_name"] == "short")
    assert (student["diagnosis"]["reason"], student["doctor_agrees"]) == ("span_too_short", True)
    assert "The doctor agrees: <code>span_too_short</code> at the app hop." in html
    assert "- The doctor agrees: `span_too_short` at the app hop." in (run_dir / "report.md").read_text()


def test_no_evidence_no_doctor(report):
    assert [s["vm_name"] for s in report["students"] if "diagnosis" in s] == ["short", "nochild"]


def test_grading_reads_no_api_token(reports):
    """Not even a vaulted one (good-1's needs a password this run does not have): reading good-2's leaves a file."""
    assert "!vault" in (FIXTURES / "provision.yml").read_text()
    assert (reports / RUN / "report.json").exists()
    assert not (reports / TOKEN_READ).exists()


def test_markdown_keeps_what_students_typed_as_text(run_dir):
    """A name or message with <b> or & must not become markup in a Markdown viewer (tables and details)."""
    text = (run_dir / "report.md").read_text()
    assert "<b>O'Neil</b>" not in text
    assert text.count("Ann &lt;b&gt;O'Neil&lt;/b&gt; &amp; Co") == 2  # the table row and the details heading
