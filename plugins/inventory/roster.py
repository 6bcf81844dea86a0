# Copyright: the lab10 tracing kit authors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: roster
version_added: "1.0.0"
short_description: A class roster (CSV with a header) as inventory
description:
  - Reads a CSV file with a header line, one row per student VM, as used by C(playbooks/grade.yml)
    and C(playbooks/class.yml) (C(ansible-playbook -i roster.csv ...)).
  - "Cells are separated by C(,), C(;) or a tab, as spreadsheets export them: the one the header line has most
    of (outside quotes) is used for the whole file; a header of one column reads as C(,)."
  - "Columns: C(vm_name) (required), and optionally C(student), C(host), C(user), C(port), C(email),
    C(section), in any order. Column names are case-insensitive; a value's surrounding spaces are dropped.
    Other columns (C(grade), C(notes)) are ignored and named once in a warning
    (C(roster.csv: columns ignored: grade, notes))."
  - "A column whose name looks like a known one the header lacks (C(vmname), C(VM name), C(e-mail),
    C(student name), a typo such as C(studnet)) fails the source naming both
    (C(roster.csv, line 1: column 'vmname' looks like 'vm_name': rename it ...)): read as an extra column, its
    values would be dropped for a default (another host or user) without a word. Looks like means equal, or one
    typo apart, once case, spaces, C(-), C(_) and a trailing C(name) are dropped; give a column that holds
    something else a clearer name."
  - "Every row becomes a host named after its C(vm_name), in group C(lab_vms) and, when C(section) is set,
    in group C(section_<section>) (lowercase, other characters than letters and digits become C(_))."
  - "Host variables: C(inventory_api_vm_name) (the C(<vm_name>) of the service name
    C(inventory.<vm_name>.sysadm.ee)), C(ansible_host) (C(host), default C(<vm_name>.<domain>)),
    C(ansible_user) (C(user), default O(default_user)), C(ansible_port) (C(port), when given),
    C(roster_student), C(roster_email), C(roster_section) (empty when not given) and C(roster_line)."
  - "Blank lines and lines starting with C(#) are skipped (a quoted C(\"#1 Team\") is a value). When C(vm_name) is
    not the first column, a C(#) line that has a valid C(vm_name) in that column may be a row as well: it fails
    with its line (quote the value to keep the row; delete it or put C(vm_name) first to comment it out)."
  - "The whole file is checked before any host is added: a missing or invalid C(vm_name) (not a lowercase
    DNS label, or one of Ansible's reserved names C(localhost), C(all), C(ungrouped)), a repeated C(vm_name),
    a near miss of a column, a repeated known or (before a named one) empty column, a row with more values than
    columns (empty cells after the last column, as spreadsheets export them, are ignored), a C(port) that is not
    in 1-65535, a C(host) or C(user) with spaces and an C(email) without C(@) each fail the source with the file,
    the line and the value; so does a roster without any student row."
  - "Such a roster stops C(ansible-playbook), C(ansible) and C(ansible-inventory) with Ansible's error
    display and exit status 1 before anything connects, whatever C(any_unparsed_is_failed) says: a plugin
    that fails makes Ansible try the next enabled one, and C(ini) reads most CSV files as a list of junk host
    names (so the run would go on with an empty C(lab_vms) and a warning at most)."
  - "The kit's own variables reach the roster's hosts from any folder: Ansible reads C(group_vars/) only next to
    the inventory source and the playbook, so the plugin loads C(group_vars/lab_vms/) (C(main.yml), the vault
    C(vault.yml), every vars file there, as Ansible reads such a directory) and C(group_vars/all/) of the kit's
    root (where C(plugins/inventory/roster.py) is) and sets them as the source's variables of the groups
    C(lab_vms) and C(all): the lowest group level of Ansible's variable precedence, so the C(group_vars/) and
    C(host_vars/) next to the roster (or the playbook) win, variable by variable. With the roster in the kit's
    root Ansible reads them itself and the plugin does not."
  - "A vault-encrypted file there is decrypted with the vault password given to the command
    (C(--ask-vault-pass), C(--vault-password-file)); a file that cannot be decrypted (no password, a wrong one),
    or read as variables, stops the run like a bad roster, naming the file and the fix. A C(!vault) value is
    decrypted where it is used, as Ansible always does."
  - Files ending in C(.csv) (also through a symlink) are accepted.
options:
  domain:
    description:
      - DNS domain of the VMs; a row without C(host) connects to C(<vm_name>.<domain>).
    type: str
    default: sysadm.ee
    ini:
      - section: roster
        key: domain
    env:
      - name: LAB10_ROSTER_DOMAIN
  default_user:
    description:
      - SSH user of a row without C(user).
    type: str
    default: centos
    ini:
      - section: roster
        key: default_user
    env:
      - name: LAB10_ROSTER_DEFAULT_USER
notes:
  - Enable it in C(ansible.cfg) before C(ini), with the plugin path, as this repository does
    (C(inventory_plugins = ./plugins/inventory), C(enable_plugins = roster, host_list, script, auto, yaml, ini, toml)).
  - Spreadsheet exports work; a UTF-8 byte order mark is ignored. Quote a value that contains the delimiter.
author:
  - lab10 tracing kit team (@sysadm-ee-lab10)
"""

EXAMPLES = r"""
# roster.csv -- the header names the columns; only vm_name is required.
#   vm_name,student,email,section
#   alice-vm,Alice Tamm,alice@example.edu,Tue 10-12
#   bob-vm,Bob Kask,bob@example.edu,Tue 10-12
#   carol,Carol Mets,,Wed 14-16
#
# ansible-inventory -i roster.csv --graph
#   @all:
#     |--@lab_vms:
#     |  |--alice-vm
#     |  |--bob-vm
#     |  |--carol
#     |--@section_tue_10_12:
#     ...
#
# ansible-playbook -i roster.csv playbooks/grade.yml -e class_jaeger_url=http://localhost:16686
"""

# Over 300 lines: a third is DOCUMENTATION, and the reader's helpers stay here, beside it (a module next to it in
# plugins/inventory/ would be taken for an inventory plugin; module_utils is for modules).
import csv  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleError, AnsibleParserError  # noqa: E402
from ansible.module_utils.common.text.converters import to_text  # noqa: E402
from ansible.parsing.vault import AnsibleVaultError  # noqa: E402
from ansible.plugins.inventory import BaseFileInventoryPlugin  # noqa: E402
from ansible.utils.display import Display  # noqa: E402
from ansible.utils.vars import combine_vars  # noqa: E402

# The kit's shared facts for plugins (plugins/plugin_utils/kit.py), run from their file: a plugin of a plain
# folder imports no sibling.
_PLUGINS = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_SPEC = importlib.util.spec_from_file_location("lab10_plugin_kit", os.path.join(_PLUGINS, "plugin_utils", "kit.py"))
kit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(kit)

GROUP = "lab_vms"
COLUMNS = ("vm_name", "student", "host", "user", "port", "email", "section")
# What a spreadsheet writes between cells: `,`, `;` where the decimal mark is a comma, tab for "text (tab)".
DELIMITERS = (",", ";", "\t")
# Host names Ansible gives a meaning of its own: `localhost` would be the controller for every
# delegate_to: localhost (the report), `all` and `ungrouped` are groups.
RESERVED = ("localhost", "all", "ungrouped")
# How many bad rows one message lists before "and N more".
SHOWN_ERRORS = 20
# The kit's root (kit.py's) and the groups whose <root>/group_vars/ every
# roster host gets wherever the roster is: Ansible reads group_vars/ only next to the inventory source and the
# playbook. `all` too: a setting of every host (a vaulted ansible_become_password) would vanish the same way.
KIT_ROOT = kit.KIT_ROOT
KIT_GROUP_VARS = ("all", GROUP)


class RosterError(ValueError):
    """A roster that cannot become inventory; .errors holds one (line, problem) per problem."""

    def __init__(self, path, errors):
        self.path = path
        self.errors = list(errors)
        shown = [f"{path}, line {line}: {problem}" for line, problem in self.errors[:SHOWN_ERRORS]]
        if len(self.errors) > SHOWN_ERRORS:
            shown.append(f"... and {len(self.errors) - SHOWN_ERRORS} more")
        super().__init__("the roster is not valid, nothing was run:\n" + "\n".join(shown))


def section_group(section):
    """Group name of a section: `Tue 10-12` -> `section_tue_10_12`."""
    slug = re.sub(r"[^a-z0-9]+", "_", section.lower()).strip("_")
    return f"section_{slug or 'unnamed'}"


def _check_row(fields):
    """Problems of one row's values."""
    problems = []
    vm_name = fields.get("vm_name", "")
    if not vm_name:
        problems.append("vm_name is empty")
    elif not kit.is_dns_label(vm_name):
        problems.append(
            f"vm_name {vm_name!r} is not a lowercase DNS label"
            " (1-63 of a-z, 0-9 and '-', not starting or ending with '-')"
        )
    elif vm_name in RESERVED:
        problems.append(f"vm_name {vm_name!r} is a name Ansible reserves ({', '.join(RESERVED)}): rename the VM's row")
    port = fields.get("port", "")
    # ASCII decimals only: isdigit() takes '²' (int() then raises), isdecimal() other scripts' digits.
    if port and not (port.isascii() and port.isdecimal() and 1 <= int(port) <= 65535):
        problems.append(f"port {port!r} is not a number in 1-65535")
    for name in ("host", "user"):
        if re.search(r"\s", fields.get(name, "")):
            problems.append(f"{name} {fields[name]!r} contains a space")
    email = fields.get("email", "")
    if email and "@" not in email:
        problems.append(f"email {email!r} has no '@'")
    return problems


def sniff_delimiter(text):
    """The delimiter of the header line (the first not blank nor '#'): the one it has most of outside quotes.

    A header with none (one column) or a tie reads as `,`, the first of DELIMITERS.
    """
    header = next((line for line in text.lstrip("\ufeff").splitlines() if line.strip() and line.lstrip()[0] != "#"), "")
    counts, quoted = dict.fromkeys(DELIMITERS, 0), False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif char in counts and not quoted:
            counts[char] += 1
    return max(DELIMITERS, key=lambda delimiter: counts[delimiter])  # max() keeps the first of equals


def _normalized(name):
    """Forms a column name is compared in: without case, spaces, '-' and '_'; and also without a trailing
    'name' (`student name` is the student, `vm_name` the vm)."""
    flat = re.sub(r"[\s_-]+", "", name.lower())
    return flat, flat.removesuffix("name") or flat


def edit_distance(a, b):
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps of neighbours."""
    rows = [list(range(len(b) + 1))]
    for i, char_a in enumerate(a, 1):
        row = [i]
        for j, char_b in enumerate(b, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (char_a != char_b)))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def near_miss(name):
    """The known column that a header name not itself known looks like (`vmname`, `e-mail`, `VM name`,
    `studnet`, `student name` -> student), or None.

    Near means equal or one typo apart once both are normalized; a stem of two letters (`vm`) must be equal.
    """
    if name.lower() in COLUMNS:
        return None
    best = None
    for column in COLUMNS:
        distance = min(
            edit_distance(mine, theirs)
            for mine, theirs in zip(_normalized(name), _normalized(column), strict=True)
            if len(theirs) > 2 or mine == theirs
        )
        if distance <= 1 and (best is None or distance < best[0]):
            best = (distance, column)
    return best and best[1]


def partition_columns(header):
    """Header names (as written) -> (known, ignored, near_misses).

    known: the names of COLUMNS (lowercased); ignored: the other named columns, each once; near_misses:
    (name, column) of a name that looks like a known column the header lacks (with that column there, the
    look-alike is another column, ignored).
    """
    lowered = [name.lower() for name in header]
    known, ignored, near_misses = [], [], []
    for name in header:
        if not name:
            continue
        if name.lower() in COLUMNS:
            known.append(name.lower())
        elif (column := near_miss(name)) and column not in lowered:
            near_misses.append((name, column))
        elif name not in ignored:
            ignored.append(name)
    return known, ignored, near_misses


def _check_header(header):
    """Problems of the header (names as written), and the names of the columns ignored."""
    known, ignored, near_misses = partition_columns(header)
    problems = [f"column {number} has no name" for number, name in enumerate(header, 1) if not name]
    problems += [
        f"column {name!r} looks like {column!r}: rename it (to {column!r}, or to a clearer name if it is another"
        " column)"
        for name, column in near_misses
    ]
    problems += [f"column {name!r} appears more than once" for name in sorted(set(known)) if known.count(name) > 1]
    if "vm_name" not in known and "vm_name" not in (column for _name, column in near_misses):
        problems.append(f"no vm_name column in the header {','.join(header)!r}")
    return problems, ignored


def _records(text, path, delimiter=","):
    """(line, [values], is_comment) of every non-blank CSV record; line is where the record ends."""
    # A comment is a line starting with '#' where a record starts (a quoted "#1 Team" is a value, and so is a
    # line of a quoted value that spans lines). It is read on its own, so a quote in it opens no value; an
    # empty line in its place keeps the reader's line_num.
    lines = list(io.StringIO(text.lstrip("\ufeff"), newline=""))
    comments, ended = set(), [0]  # ended: the line the last record ended on

    def fed():
        for number, line in enumerate(lines, 1):
            if ended[0] == number - 1 and line.lstrip().startswith("#"):
                comments.add(number)
                line = "\n"
            yield line

    reader = csv.reader(fed(), delimiter=delimiter, strict=True)
    try:
        for record in reader:
            ended[0] = reader.line_num
            if reader.line_num in comments:
                record, is_comment = list(csv.reader([lines[reader.line_num - 1]], delimiter=delimiter))[0], True
            elif any(value.strip() for value in record):
                is_comment = False
            else:
                continue
            yield reader.line_num, [value.strip() for value in record], is_comment
    except csv.Error as exc:
        raise RosterError(path, [(reader.line_num, f"not valid CSV ({exc})")]) from None


def _comment_or_row(header, values):
    """The problem of a '#' line that is also a whole row: vm_name not first, an unquoted '#1 Team,alice'."""
    vm_name = dict(zip(header, values, strict=False)).get("vm_name", "")
    if kit.is_dns_label(vm_name):  # never when vm_name is the first column: its value starts with '#'
        return (
            f"{values[0]!r} starts with '#' but vm_name is {vm_name!r}: a comment or a row? To keep the row,"
            " quote the value; to comment it out, delete it or make vm_name the first column"
        )
    return None


def parse_roster(text, path, domain="sysadm.ee", default_user="centos"):
    """CSV text -> (host records [{name, groups, vars}], names of the columns ignored); RosterError naming
    every bad line.

    Nothing is returned unless every row is valid, so a bad roster adds no host at all.
    """
    records = list(_records(text, path, sniff_delimiter(text)))
    rows = [(line, values) for line, values, is_comment in records if not is_comment]
    if not rows:
        raise RosterError(path, [(1, "no header line (expected columns such as vm_name,student,email)")])
    header_line, written = rows[0]
    while not written[-1]:  # a spreadsheet export's empty cells after the last column (one cell is not empty)
        written.pop()
    problems, ignored = _check_header(written)
    if problems:
        raise RosterError(path, [(header_line, problem) for problem in problems])
    header = [name.lower() for name in written]
    errors = []

    hosts, first_seen = [], {}
    for line, values, is_comment in records:
        if line <= header_line:
            continue
        if is_comment:
            if problem := _comment_or_row(header, values):
                errors.append((line, problem))
            continue
        while len(values) > len(header) and not values[-1]:  # empty values after the last column
            values.pop()
        if len(values) > len(header):
            errors.append((line, f"{len(values)} values for {len(header)} columns: {','.join(values)!r}"))
            continue
        fields = dict(zip(header, values, strict=False))  # fewer values: the rest are empty
        problems = _check_row(fields)
        vm_name = fields.get("vm_name", "")
        if vm_name in first_seen:
            problems.append(f"vm_name {vm_name!r} repeats line {first_seen[vm_name]}")
        elif vm_name:
            first_seen[vm_name] = line
        if problems:
            errors.extend((line, problem) for problem in problems)
            continue
        host_vars = {
            "inventory_api_vm_name": vm_name,
            "ansible_host": fields.get("host") or f"{vm_name}.{domain}",
            "ansible_user": fields.get("user") or default_user,
            "roster_student": fields.get("student", ""),
            "roster_email": fields.get("email", ""),
            "roster_section": fields.get("section", ""),
            "roster_line": line,
        }
        if fields.get("port"):
            host_vars["ansible_port"] = int(fields["port"])
        groups = [GROUP] + ([section_group(fields["section"])] if fields.get("section") else [])
        hosts.append({"name": vm_name, "groups": groups, "vars": host_vars})
    if not errors and len(rows) == 1:
        errors.append((header_line, "no student rows: the file has only its header"))
    if errors:
        raise RosterError(path, errors)
    return hosts, ignored


class KitVarsError(ValueError):
    """A file of the kit's group_vars that cannot be loaded (a vault without its password, bad YAML)."""

    def __init__(self, path, problem):
        super().__init__(f"{path} (the kit's variables of every roster host) {problem}")


def kit_group_vars(loader, kit_root):
    """{group: vars} of <kit_root>/group_vars/<group> for each of KIT_GROUP_VARS, read as Ansible reads them.

    The files are the ones host_group_vars would read (loader.find_vars_files: <group>.yml or every file of
    <group>/ in name order, later ones win), with its trust: a value's template is rendered. A vault-encrypted
    file is decrypted with the vault secrets the CLI gave the loader; KitVarsError names a file that cannot be
    loaded.
    """
    found_vars = {}
    for group in KIT_GROUP_VARS:
        data = {}
        for found in loader.find_vars_files(os.path.join(kit_root, "group_vars"), group):
            try:
                new_data = loader.load_from_file(found, trusted_as_template=True) or {}
            except AnsibleVaultError as exc:
                raise KitVarsError(
                    found,
                    f"is encrypted with Ansible Vault and cannot be decrypted: {exc.message.rstrip('.')}. Run again"
                    " with --ask-vault-pass or --vault-password-file FILE (the password it was encrypted with)",
                ) from None
            except AnsibleError as exc:
                raise KitVarsError(found, f"cannot be loaded: {exc.message}") from None
            if not isinstance(new_data, Mapping):
                raise KitVarsError(found, "is not a YAML mapping of variable names to values")
            data = combine_vars(data, new_data)
        if data:
            found_vars[group] = data
    return found_vars


def _stop(message):
    """End the run as Ansible's CLI ends it on an error: the message through its display, exit status 1.

    Not AnsibleParserError: the inventory manager catches every Exception of a plugin's parse() and tries the next
    enabled plugin, and `ini` reads almost any CSV as junk host names, so the run would go on with no lab_vms
    (any_unparsed_is_failed cannot help: the source did parse). Only a BaseException leaves the manager; this one
    ends the run before anything connects, the message shown with colour and written to log_path.
    """
    Display().error(message)
    raise SystemExit(1) from None


class InventoryModule(BaseFileInventoryPlugin):
    NAME = "roster"

    def verify_file(self, path):
        # Through a symlink too (a roster linked into an inventory directory under another name).
        return super().verify_file(path) and os.path.realpath(path).lower().endswith(".csv")

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self.set_options()
        try:
            data, _private = self.loader._get_file_contents(path)
            text = to_text(data, errors="strict")
        except UnicodeError:
            raise AnsibleParserError(f"roster {path} is not valid UTF-8: save it as UTF-8 CSV") from None
        except Exception as exc:
            raise AnsibleParserError(f"roster {path} cannot be read: {exc}") from None
        try:
            hosts, ignored = parse_roster(text, path, self.get_option("domain"), self.get_option("default_user"))
            # Next to the kit root, host_group_vars reads the kit's group_vars already (and ranks them higher).
            kit_vars = (
                {} if os.path.realpath(os.path.dirname(path)) == KIT_ROOT else kit_group_vars(self.loader, KIT_ROOT)
            )
        except (RosterError, KitVarsError) as exc:
            _stop(str(exc))
        if ignored:
            Display().warning(f"{path}: columns ignored: {', '.join(ignored)}")
        self.inventory.add_group(GROUP)
        for host in hosts:
            for group in host["groups"]:
                self.inventory.add_group(group)
                self.inventory.add_host(host["name"], group=group)
            for key, value in host["vars"].items():
                self.inventory.set_variable(host["name"], key, value)
        # As group variables of the inventory source, the lowest group level of Ansible's precedence: the
        # group_vars/ next to the roster (and next to the playbook) win.
        for group, group_vars in kit_vars.items():
            for key, value in group_vars.items():
                self.inventory.set_variable(group, key, value)
