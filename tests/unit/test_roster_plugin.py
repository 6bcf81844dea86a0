"""The roster inventory plugin: good rows become lab_vms hosts, every bad row is named by file, line, value.

No Ansible CLI here: tests/cli/test_roster_cli.py runs ansible-inventory and ansible-playbook on rosters.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("roster_plugin", ROOT / "plugins" / "inventory" / "roster.py")
roster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(roster)


def parse(text: str, **options) -> dict:
    hosts, _ignored = roster.parse_roster(text, "class.csv", **options)
    return {h["name"]: h for h in hosts}


def problems(text: str) -> list[str]:
    with pytest.raises(roster.RosterError) as caught:
        roster.parse_roster(text, "class.csv")
    return [f"line {line}: {problem}" for line, problem in caught.value.errors]


def test_only_vm_name_is_needed_and_the_rest_defaults():
    host = parse("vm_name\nalice-vm\n")["alice-vm"]
    assert host["groups"] == ["lab_vms"]
    assert host["vars"] == {
        "inventory_api_vm_name": "alice-vm",
        "ansible_host": "alice-vm.sysadm.ee",
        "ansible_user": "centos",
        "roster_student": "",
        "roster_email": "",
        "roster_section": "",
        "roster_line": 2,
    }


def test_every_column_is_used():
    text = "VM_Name , Student,email,section,host,user,port\nbob,Bob Kask,bob@example.edu,Tue 10-12,10.0.0.5,root,2222\n"
    host = parse(text)["bob"]
    assert host["groups"] == ["lab_vms", "section_tue_10_12"]
    assert host["vars"] == {
        "inventory_api_vm_name": "bob",
        "ansible_host": "10.0.0.5",
        "ansible_user": "root",
        "ansible_port": 2222,
        "roster_student": "Bob Kask",
        "roster_email": "bob@example.edu",
        "roster_section": "Tue 10-12",
        "roster_line": 2,
    }


def test_domain_and_default_user_options():
    host = parse("vm_name\nc1\n", domain="lab.example", default_user="student")["c1"]
    assert (host["vars"]["ansible_host"], host["vars"]["ansible_user"]) == ("c1.lab.example", "student")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("\ufeffvm_name,student\na,A\n", ["a"]),  # a spreadsheet's byte order mark
        ("# class of 2026\n\nvm_name\n\na\n# b left\nc\n", ["a", "c"]),  # blank and comment lines
        ('vm_name\n# x,"y\nc\n  # z,"\nd\n', ["c", "d"]),  # a comment's quote opens no value
        ("# 2026\nstudent,vm_name\nA,a\n# b left, see mail\n", ["a"]),  # vm_name not first: no vm_name, a comment
        ('vm_name,student\na,"Kask, Jaan"\n', ["a"]),  # quoted comma
        ('vm_name,student\na,"Team\n#1"\nb,B\n', ["a", "b"]),  # a quoted value's line starting with '#' is data
        ("vm_name,student,email\na,A\n", ["a"]),  # fewer values than columns
        ("vm_name\r\na\r\nb\r\n", ["a", "b"]),  # Windows line ends
        ("vm_name,student,,\na,A,,\nb,B\n", ["a", "b"]),  # a spreadsheet's empty cells after the last column
        ("vm_name,student\na,A,,\n", ["a"]),  # empty values after the last column
    ],
)
def test_accepted_shapes(text, names):
    assert list(parse(text)) == names


def test_a_quoted_value_starting_with_hash_is_data_not_a_comment():
    hosts = parse('student,vm_name\n"#1 Team",a\n"#N/A",b\n')
    assert [h["vars"]["roster_student"] for h in hosts.values()] == ["#1 Team", "#N/A"]


@pytest.mark.parametrize(
    ("section", "group"),
    [("Tue 10-12", "section_tue_10_12"), ("A", "section_a"), ("Õhtu!", "section_htu"), ("---", "section_unnamed")],
)
def test_section_group_names(section, group):
    assert roster.section_group(section) == group


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vm_name\nBad_Name\n", "line 2: vm_name 'Bad_Name' is not a lowercase DNS label"),
        ("vm_name\n-a\n", "line 2: vm_name '-a' is not a lowercase DNS label"),
        ("vm_name\n" + "a" * 64 + "\n", "line 2: vm_name '" + "a" * 64 + "' is not a lowercase DNS label"),
        ("vm_name,student\n,Nobody\n", "line 2: vm_name is empty"),
        ("vm_name\na\nb\na\n", "line 4: vm_name 'a' repeats line 2"),
        ("vm_name,mail\na,x\n", "line 1: column 'mail' looks like 'email': rename it"),  # was: unknown column
        ("vm_name,student,student\na,b,c\n", "line 1: column 'student' appears more than once"),
        ("student\nAlice\n", "line 1: no vm_name column in the header 'student'"),
        ("vm_name,student\na,b,c\n", "line 2: 3 values for 2 columns: 'a,b,c'"),
        ("vm_name,student,,\na,A,x,\n", "line 2: 3 values for 2 columns: 'a,A,x'"),  # a value under no name
        ("vm_name,,student\na,,A\n", "line 1: column 2 has no name"),
        ("vm_name,port\na,22x\n", "line 2: port '22x' is not a number in 1-65535"),
        ("vm_name,port\na,70000\n", "line 2: port '70000' is not a number in 1-65535"),
        ("vm_name,port\na,\u00b2\n", "line 2: port '\u00b2' is not a number in 1-65535"),  # a digit, not a decimal
        ("vm_name,port\na,\u0662\u0662\n", "line 2: port '\u0662\u0662' is not a number in 1-65535"),  # Arabic-Indic 22
        ("vm_name,host\na,my host\n", "line 2: host 'my host' contains a space"),
        ("vm_name,email\na,nobody\n", "line 2: email 'nobody' has no '@'"),
        ('vm_name,student\na,"open\n', "line 2: not valid CSV"),
        ("# only a comment\n\n", "line 1: no header line"),
        ("vm_name,student\n", "line 1: no student rows: the file has only its header"),
        ("# class of 2026\nvm_name,student\n\n# nobody yet\n", "line 2: no student rows"),
        ("vm_name\nlocalhost\n", "line 2: vm_name 'localhost' is a name Ansible reserves"),
        ("vm_name\nall\n", "line 2: vm_name 'all' is a name Ansible reserves"),
        ("vm_name\nungrouped\n", "line 2: vm_name 'ungrouped' is a name Ansible reserves"),
        ("student,vm_name\n#1 Team,a\n", "line 2: '#1 Team' starts with '#' but vm_name is 'a': a comment or a row?"),
    ],
)
def test_bad_rows_are_named_by_line_and_value(text, expected):
    assert any(p.startswith(expected) for p in problems(text)), problems(text)


def test_every_bad_row_is_reported_and_no_host_is_returned():
    found = problems("vm_name\nok-1\nBAD\nok-2\nalso_bad\n")
    assert [p.split(":")[0] for p in found] == ["line 3", "line 5"]


@pytest.mark.parametrize(("bad_rows", "rest"), [(20, []), (25, ["... and 5 more"])])
def test_the_message_lists_20_problems_and_counts_the_rest(bad_rows, rest):
    with pytest.raises(roster.RosterError) as caught:
        roster.parse_roster("vm_name\n" + "".join(f"Bad{n}\n" for n in range(bad_rows)), "class.csv")
    lines = str(caught.value).splitlines()[1:]
    assert [line.split(":")[0] for line in lines[:20]] == [f"class.csv, line {n}" for n in range(2, 22)]
    assert lines[20:] == rest


def test_the_message_names_the_file_for_each_row():
    with pytest.raises(roster.RosterError) as caught:
        roster.parse_roster("vm_name\nA\n", "/srv/class.csv")
    assert "/srv/class.csv, line 2: vm_name 'A'" in str(caught.value)
