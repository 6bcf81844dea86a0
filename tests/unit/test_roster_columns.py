"""The roster's header as real spreadsheets write it: `,` `;` or tab, extra columns ignored, near misses refused."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.utils.display import Display

ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("roster_plugin", ROOT / "plugins" / "inventory" / "roster.py")
roster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(roster)


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("vm_name,student\n", ","),
        ("vm_name;student;email\n", ";"),
        ("vm_name\tstudent\n", "\t"),
        ("\ufeffvm_name;student\n", ";"),  # a spreadsheet's byte order mark
        ("# class of 2026, Tue; Wed\n\nvm_name\tstudent\n", "\t"),  # the header, not a comment before it
        ('vm_name;"Kask, Jaan";"a,b"\n', ";"),  # a quoted delimiter does not count
        ("vm_name\n", ","),  # one column: the default
        ("vm_name,student;email\n", ","),  # a tie: the first of , ; tab
        ("", ","),
    ],
)
def test_sniff_delimiter(text, delimiter):
    assert roster.sniff_delimiter(text) == delimiter


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("email", "email", 0), ("mail", "email", 1), ("studnet", "student", 1), ("ab", "ba", 1),
     ("studentid", "student", 2), ("session", "section", 2), ("", "host", 4)],
)  # fmt: skip
def test_edit_distance(a, b, distance):
    assert roster.edit_distance(a, b) == distance == roster.edit_distance(b, a)


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("vmname", "vm_name"),
        ("VM name", "vm_name"),
        ("vm-name", "vm_name"),
        ("vm", "vm_name"),
        ("vm_nmae", "vm_name"),  # a typo of the whole name
        ("e-mail", "email"),
        ("E_Mail", "email"),
        ("mail", "email"),
        ("student name", "student"),
        ("studnet", "student"),
        ("hostname", "host"),
        ("username", "user"),
        ("ports", "port"),
        ("Sektion", "section"),
    ],
)
def test_near_miss_names_the_column_it_looks_like(name, column):
    assert roster.near_miss(name) == column


@pytest.mark.parametrize(
    "name",
    [
        "vm_name", "Email", "VM_NAME", "Student",  # known columns (any case) are no near miss
        "grade", "notes", "student id", "Student Number", "name", "first name", "ip", "id", "session", "team",
        "vn",  # a two-letter stem must be equal: vn, pm are not vm
    ],
)  # fmt: skip
def test_near_miss_leaves_other_names_alone(name):
    assert roster.near_miss(name) is None


@pytest.mark.parametrize(
    ("header", "known", "ignored", "near_misses"),
    [
        (["vm_name", "Student", "grade", "notes", "grade"], ["vm_name", "student"], ["grade", "notes"], []),
        (["vmname", "student"], ["student"], [], [("vmname", "vm_name")]),
        (["VM name", "E-mail"], [], [], [("VM name", "vm_name"), ("E-mail", "email")]),
        (["vm_name", "vmname"], ["vm_name"], ["vmname"], []),  # the column is there: the look-alike is another
        (["vm_name", "", "user", "username"], ["vm_name", "user"], ["username"], []),
    ],
)
def test_partition_columns(header, known, ignored, near_misses):
    assert roster.partition_columns(header) == (known, ignored, near_misses)


ROWS = [["vm_name", "student", "email"], ["alice", "Tamm, Alice", "alice@example.edu"], ["bob", "Bob", ""]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_every_delimiter_reads_the_same_roster(delimiter):
    text = "".join(delimiter.join(f'"{v}"' if "," in v else v for v in row) + "\n" for row in ROWS)
    hosts, ignored = roster.parse_roster(text, "class.csv")
    assert [(h["name"], h["vars"]["roster_student"], h["vars"]["roster_email"]) for h in hosts] == [
        ("alice", "Tamm, Alice", "alice@example.edu"),
        ("bob", "Bob", ""),
    ]
    assert ignored == []


def test_a_semicolon_roster_keeps_an_unquoted_comma_in_a_value():
    hosts, _ignored = roster.parse_roster("vm_name;student\na;Kask, Jaan\n", "class.csv")
    assert hosts[0]["vars"]["roster_student"] == "Kask, Jaan"


def test_a_comment_that_is_also_a_row_is_read_with_the_roster_delimiter():
    with pytest.raises(roster.RosterError) as caught:
        roster.parse_roster("student;vm_name\n#1 Team;a\n", "class.csv")
    assert caught.value.errors[0][1].startswith("'#1 Team' starts with '#' but vm_name is 'a'")


def test_extra_columns_are_ignored_and_named_once():
    text = "vm_name,grade,student,notes,grade\nalice,5,Alice,late,4\n"
    hosts, ignored = roster.parse_roster(text, "class.csv")
    assert ignored == ["grade", "notes"]
    assert set(hosts[0]["vars"]) == {
        "inventory_api_vm_name", "ansible_host", "ansible_user", "roster_student", "roster_email", "roster_section",
        "roster_line",
    }  # fmt: skip
    assert hosts[0]["vars"]["roster_student"] == "Alice"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("vmname,student", ["column 'vmname' looks like 'vm_name': rename it (to 'vm_name', or to a clearer name"]),
        ("vm_name;e-mail", ["column 'e-mail' looks like 'email': rename it"]),
        ("VM name\tEmail", ["column 'VM name' looks like 'vm_name': rename it"]),
        ("vm_name,student name,grade", ["column 'student name' looks like 'student': rename it"]),
        # Refused as before, with extra columns about: a missing vm_name, a repeated or an unnamed column.
        ("student,grade", ["no vm_name column in the header 'student,grade'"]),
        ("vm_name,Student,student,grade", ["column 'student' appears more than once"]),
        ("vm_name,,grade", ["column 2 has no name"]),
    ],
)
def test_header_problems_name_the_column(header, expected):
    """One problem per column; a near miss of vm_name is not also reported as a missing vm_name."""
    with pytest.raises(roster.RosterError) as caught:
        roster.parse_roster(header + "\na,b,c\n", "roster.csv")
    assert len(caught.value.errors) == len(expected)
    for (line, problem), start in zip(caught.value.errors, expected, strict=True):
        assert line == 1 and problem.startswith(start), problem
    assert str(caught.value).splitlines()[1].startswith(f"roster.csv, line 1: {expected[0]}")


def plugin(monkeypatch, kit_root):
    """The plugin as Ansible loads it, with an empty kit root (a checkout's own vault needs no password here)."""
    inventory_loader.add_directory(str(ROOT / "plugins" / "inventory"))
    loaded = inventory_loader.get("roster")
    monkeypatch.setattr(sys.modules[type(loaded).__module__], "KIT_ROOT", str(kit_root))
    return loaded


def test_the_plugin_warns_once_through_ansible_display(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *args, **kwargs: warnings.append(msg))
    path = tmp_path / "roster.csv"
    path.write_text("vm_name;grade;notes\nalice;5;x\nbob;4;\n")
    inventory = InventoryData()
    plugin(monkeypatch, tmp_path).parse(inventory, DataLoader(), str(path))
    assert warnings == [f"{path}: columns ignored: grade, notes"]
    assert sorted(inventory.groups["lab_vms"].hosts, key=str) == [inventory.hosts["alice"], inventory.hosts["bob"]]


def test_the_plugin_adds_no_warning_without_extra_columns(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *args, **kwargs: warnings.append(msg))
    path = tmp_path / "roster.csv"
    path.write_text("vm_name\temail\nalice\ta@example.edu\n")
    plugin(monkeypatch, tmp_path).parse(InventoryData(), DataLoader(), str(path))
    assert warnings == []
