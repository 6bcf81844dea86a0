"""What the README and docs/ state must be what the code has: every path, playbook, `bin/lab10` command, make
target and link they name exists, a number of molecule scenarios is the real one, a role default they quote is
the role's, and the README stays a front door (at most 160 lines). The role READMEs are held to the paths and links,
roles/lab_criteria's table to the lab criteria.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
ROLE_READMES = sorted(ROOT.glob("roles/*/README.md"))
README_MAX_LINES = 160

# Made by the tools or the user, never in a checkout: a path under these is not checked.
MADE_LATER = {".venv", ".cache", ".testbed", ".env.yml", "collections", "reports", ".git"}
# The user's, not the kit's: the vault made from group_vars/lab_vms/vault.yml.example, a group_vars/all/ of their own.
USER_FILES = {"group_vars/lab_vms/vault.yml", "group_vars/all/"}
NUMBERS = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
GENERATED = re.compile(r"<!-- BEGIN (VARS [^>]*|VERDICTS|GRADER VERDICTS) -->.*?<!-- END \1 -->", re.S)


def prose(path: Path) -> str:
    """The file's hand-written text: generated tables left out (their own tests keep them right)."""
    return GENERATED.sub("", path.read_text(encoding="utf-8"))


def code(text: str) -> list[str]:
    """Fenced blocks and inline code spans: where the docs name paths, commands and values."""
    found = FENCE.findall(text)
    return found + SPAN.findall(FENCE.sub("", text))


def words(text: str) -> list[str]:
    """The text's words; a placeholder (`<UTC start>`) is one word, `*`, as a glob."""
    text = re.sub(r"<[^<>]*>", "*", text)
    return [w.strip(".,;:()[]'\"") for w in re.split(r"[\s=@,'\"()\[\]]+", text) if w]


def top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir()} - MADE_LATER


def path_claims(doc: Path, base: Path | None = None) -> list[str]:
    """Repository paths named in code: the first part is a top-level entry of the repository (or of `base`)."""
    roots = top_level() | ({p.name for p in base.iterdir()} if base else set())
    claims = []
    for text in code(prose(doc)):
        for word in words(text):
            first = word.split("/", 1)[0]
            if "/" in word.rstrip("/") and first in roots and "://" not in word and "..." not in word:
                claims.append(word)
    return claims


def exists(claim: str, *bases: Path) -> bool:
    """A path, or a glob (`otel_doctor_*`, `tests/fixtures/doctor/<fault>.json` as words() made it), that matches."""
    pattern = claim.rstrip("/")
    return any(glob.glob(str(base / pattern)) for base in bases)


def test_the_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move the detail to docs/"


def test_the_readme_names_make_test_and_shows_the_report():
    text = README.read_text(encoding="utf-8")
    assert "`make test`" in text
    assert "![Class report](docs/sample-report/report.png)" in text


def test_no_variable_table_outside_the_role_readmes():
    """One place per role: roles/*/README.md, generated; the README and docs/ link them."""
    assert [d.name for d in DOCS if "<!-- BEGIN VARS" in d.read_text(encoding="utf-8")] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_path_the_docs_name_exists(doc):
    missing = [c for c in path_claims(doc) if c not in USER_FILES and not exists(c, ROOT)]
    assert missing == []


@pytest.mark.parametrize("doc", ROLE_READMES, ids=lambda p: p.parent.name)
def test_every_path_a_role_readme_names_exists(doc):
    """Relative to the role (`tasks/preflight.yml`) or to the repository (`playbooks/doctor.yml`)."""
    role = doc.parent
    missing = [c for c in path_claims(doc, role) if c not in USER_FILES and not exists(c, role, ROOT)]
    assert missing == []


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().replace("`", "").lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"^#+ (.*)$", FENCE.sub("", path.read_text(encoding="utf-8")), re.M)}


@pytest.mark.parametrize("doc", DOCS + ROLE_READMES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_opens(doc):
    broken = []
    for target in LINK.findall(prose(doc)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(target)
    assert broken == []


def playbooks() -> set[str]:
    return {p.stem for p in (ROOT / "playbooks").glob("*.yml")}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_bin_lab10_command_is_a_playbook(doc):
    named = set()
    for text in code(prose(doc)):
        named |= set(re.findall(r"bin/lab10 ([a-z][\w-]*)", text))
    assert sorted(named - playbooks()) == []


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_make_target_exists(doc):
    named = set()
    for text in code(prose(doc)):
        named |= set(re.findall(r"(?<![\w/-])make ([a-z][\w-]*)", text))
    assert sorted(named - make_targets()) == []


def scenarios() -> set[str]:
    return {p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml")}


def scenarios_make_molecule_runs() -> set[str]:
    """scripts/molecule.sh runs every scenario but those its `grep -vxE` leaves out."""
    skipped = re.search(r"grep -vxE '([^']+)'", (ROOT / "scripts" / "molecule.sh").read_text()).group(1).split("|")
    return scenarios() - set(skipped)


def scenario_counts(text: str) -> list[int]:
    """Every 'N (molecule) scenarios' the text states, N in digits or words."""
    flat = " ".join(text.split())
    found = re.findall(r"\b(\d+|[a-z]+) (?:molecule )?scenarios\b", flat, re.I)
    return [int(n) if n.isdigit() else NUMBERS[n.lower()] for n in found if n.isdigit() or n.lower() in NUMBERS]


@pytest.mark.parametrize("doc", DOCS + ROLE_READMES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_number_of_scenarios_is_the_real_one(doc):
    real = {len(scenarios()), len(scenarios_make_molecule_runs())}
    assert [n for n in scenario_counts(prose(doc)) if n not in real] == []


def scenario_names(text: str) -> set[str]:
    flat = " ".join(text.split())
    named = set(re.findall(r"(?:molecule \w+ -s|scripts/molecule\.sh \w+) ([\w-]+)", flat))
    named |= set(re.findall(r"(?:molecule )?scenario `([\w-]+)`", flat))
    named |= set(re.findall(r"`([\w-]+)` (?:molecule )?scenario", flat))
    return named


@pytest.mark.parametrize("doc", DOCS + ROLE_READMES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_scenario_named_exists(doc):
    assert sorted(scenario_names(prose(doc)) - scenarios()) == []


def test_development_lists_every_scenario():
    """docs/development.md's table of scenarios: one row each, none missing, none that is gone."""
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    table = text.split("| scenario | proves |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`([\w-]+)`", "\n".join(row.split("|")[1] for row in table.splitlines()[2:])))
    assert listed == scenarios(), "a scenario added or removed: give it its row in docs/development.md"


LAB_CRITERION = re.compile(r"^\{\{ '([A-Z_]+)' \| lab_criterion \}\}$")


def role_values() -> dict[str, object]:
    """Every role's public defaults and private vars, by name; a lab criterion as its value in module_utils."""
    from ansible.module_utils.lab import criteria

    values = {}
    for path in [*ROOT.glob("roles/*/defaults/main.yml"), *ROOT.glob("roles/*/vars/main.yml")]:
        values.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    for name, value in values.items():
        if isinstance(value, str) and (criterion := LAB_CRITERION.match(value)):
            values[name] = getattr(criteria, criterion.group(1))
    return values


def shown(value: object) -> str:
    """A value as the docs write it (as scripts/gen_readme_vars.py does)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return '""' if value == "" else str(value)


def default_claims(text: str) -> list[tuple[str, str]]:
    """(variable, value) of `var` (default `value`, `var` defaults to `value` and a table row | `var` | `value` |."""
    flat = " ".join(text.split())
    claims = re.findall(r"`([a-z_][a-z0-9_]*)` \((?:the )?default:? `([^`]+)`", flat)
    claims += re.findall(r"`([a-z_][a-z0-9_]*)` defaults to `([^`]+)`", flat)
    claims += re.findall(r"^\| `([a-z_][a-z0-9_]*)` \| `([^`]+)` \|", text, re.M)
    return claims


@pytest.mark.parametrize("doc", DOCS + ROLE_READMES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_default_the_docs_quote_is_the_roles(doc):
    values = role_values()
    wrong = {name: (said, shown(values[name])) for name, said in default_claims(prose(doc)) if name in values}
    assert {name: pair for name, pair in wrong.items() if pair[0] != pair[1]} == {}, "name: (docs, role)"


def test_the_defaults_performance_md_explains_are_the_roles():
    """docs/performance.md's 'Where the role's defaults come from': each row's variables and their numbers."""
    values = role_values()
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    table = text.split("| default | value | chosen by |", 1)[1].split("\n\n", 1)[0]
    checked = 0
    for row in table.splitlines()[2:]:
        names = [n for n in re.findall(r"`([a-z_]+)`", row.split("|")[1]) if n in values]
        said = re.findall(r"\d+", row.split("|")[2].split("(")[0])
        assert [str(values[n]) for n in names] == said[: len(names)], row
        checked += len(names)
    assert checked >= 3


def test_the_lab_criteria_table_is_the_criteria():
    """roles/lab_criteria/README.md's table: a row for every var of the role's vars/main.yml, none for one that is
    gone, each with its value in module_utils/lab/criteria.py (the one source the vars read)."""
    role = ROOT / "roles" / "lab_criteria"
    text = (role / "README.md").read_text(encoding="utf-8")
    table = text.split("| variable | value |", 1)[1].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \|$", table, re.M))
    values = role_values()
    names = yaml.safe_load((role / "vars" / "main.yml").read_text(encoding="utf-8"))
    assert rows == {name: shown(values[name]) for name in names}
