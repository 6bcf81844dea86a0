"""Filter `inventory_api_compose_merge`: put the inventory API's service into a compose file, keep the rest.

The lab10 compose file belongs to the student: other services (minio, ...), volumes, networks and the
variables they set by hand must survive. Only the keys the role owns change. With ruamel.yaml (the
controller's venv has it) the file is edited round-trip, so comments, key order and quoting survive too;
without it PyYAML is used and comments are lost (the role keeps a backup of the original either way).

One file, over 300 lines: a role's filter_plugins/ file cannot import a sibling module, and most of it
is the round-trip comment keeping, which only makes sense beside the merge.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # the filter is also unit-tested without ansible-core on the path

    class AnsibleFilterError(Exception):  # type: ignore[no-redef]
        pass


try:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    HAVE_RUAMEL = True
except ImportError:
    HAVE_RUAMEL = False

# Key order of a service the role creates from nothing; keys of an existing service keep their order.
FRESH_KEY_ORDER = ("build", "image", "restart", "ports", "environment", "volumes", "healthcheck")
_KEY_LINE = re.compile(r"^[^#\-\s][^#]*:\s*(#.*)?$")


def _plain(value: Any) -> Any:
    """Deep copy into plain Python types: YAML dumpers refuse Ansible's tagged str/dict/list subclasses."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _env_key(entry: Any) -> str:
    return str(entry).split("=", 1)[0].strip()


def _volume_target(entry: Any) -> str | None:
    """Container path of a short (`src:dst[:mode]`) or long (`{target: ...}`) volume entry."""
    if isinstance(entry, Mapping):
        target = entry.get("target")
        return str(target) if target is not None else None
    parts = str(entry).split(":")
    if len(parts) == 1:
        return parts[0]
    return parts[1]


def _under(path: str | None, roots: Iterable[str]) -> bool:
    if path is None:
        return False
    path = path.rstrip("/") or "/"
    return any(path == root.rstrip("/") or path.startswith(root.rstrip("/") + "/") for root in roots)


def _guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, dash offset) as the student's file uses them, so a round trip does not re-indent it."""
    mapping = offset = None
    parent: int | None = None  # indentation of the last `key:` line that opens a block
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        indent = len(line) - len(body)
        if body.startswith("-"):
            if offset is None and parent is not None and indent >= parent:
                offset = indent - parent
            parent = None
        else:
            if mapping is None and parent is not None and indent > parent:
                mapping = indent - parent
            parent = indent if _KEY_LINE.match(body) else None
        if mapping is not None and offset is not None:
            break
    return mapping or 2, 2 if offset is None else offset


class _Doc:
    """Load/dump with ruamel.yaml round-trip when available, else PyYAML."""

    def __init__(self, text: str, use_ruamel: bool) -> None:
        self.use_ruamel = use_ruamel and HAVE_RUAMEL
        self.explicit_start = bool(re.match(r"(?:[ \t]*(?:#[^\n]*)?\n)*---", text))
        if self.use_ruamel:
            mapping, offset = _guess_indent(text)
            self._yaml = YAML(typ="rt")
            self._yaml.preserve_quotes = True
            self._yaml.width = 4096  # never fold a long command or URL onto two lines
            self._yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
            self._yaml.explicit_start = self.explicit_start
        try:
            data = self._yaml.load(text) if self.use_ruamel else yaml.safe_load(text)
        except Exception as exc:  # both libraries raise their own YAMLError types
            raise AnsibleFilterError(
                f"the existing compose file is not valid YAML, nothing was changed: {exc}"
            ) from exc
        if data is None:
            data = self.new_map()
        if not isinstance(data, Mapping):
            raise AnsibleFilterError(
                "the existing compose file is not a YAML mapping (services: ...), nothing was changed"
            )
        self.data = data

    def new_map(self) -> dict:
        return CommentedMap() if self.use_ruamel else {}

    def new_seq(self, items: Iterable[Any] = ()) -> list:
        return CommentedSeq(items) if self.use_ruamel else list(items)

    def wrap(self, value: Any) -> Any:
        """value with its dicts and lists made the loader's own types (comments can attach to those)."""
        if not self.use_ruamel or isinstance(value, (CommentedMap, CommentedSeq)):
            return value
        if isinstance(value, Mapping):
            wrapped = CommentedMap()
            for key, item in value.items():
                wrapped[key] = self.wrap(item)
            return wrapped
        if isinstance(value, list):
            return CommentedSeq(self.wrap(item) for item in value)
        return value

    # Edits that keep the student's comments where they were. ruamel.yaml hangs the comment lines that
    # stand between two entries on the end of the first one (its deepest last scalar): replacing or
    # deleting that entry would take them along, and appending after it would put them above the new
    # entry. So each edit first takes those lines off and afterwards gives them to what now ends there.

    def set(self, container: Any, key: Any, value: Any) -> None:
        """container[key] = value (a mapping's key or a list's index; a missing key is appended)."""
        value = self.wrap(value)
        if not self.use_ruamel:
            container[key] = value
            return
        known = key in container if isinstance(container, Mapping) else key < len(container)
        anchor = key if known else _last_key(container)
        lines = _take_lines_after(container, anchor)
        container[key] = value
        _give_lines_after(container, key, lines)

    def append(self, seq: list, value: Any) -> None:
        if not self.use_ruamel:
            seq.append(value)
            return
        lines = _take_lines_after(seq, _last_key(seq))
        seq.append(self.wrap(value))
        _give_lines_after(seq, len(seq) - 1, lines)

    def delete(self, container: Any, key: Any) -> None:
        """Remove container[key]; the comment lines that stood below it stay, above what followed."""
        if not self.use_ruamel:
            del container[key]
            return
        keys = list(container) if isinstance(container, Mapping) else list(range(len(container)))
        position = keys.index(key)
        lines = _take_lines_after(container, key)
        del container[key]
        if position > 0:
            _give_lines_after(container, keys[position - 1], lines)
        elif lines and len(container):
            _give_lines_before(container, lines)

    def dump(self) -> str:
        if self.use_ruamel:
            out = io.StringIO()
            self._yaml.dump(self.data, out)
            return out.getvalue()
        return yaml.safe_dump(
            self.data, sort_keys=False, default_flow_style=False, width=4096, explicit_start=self.explicit_start
        )


def _last_key(container: Any) -> Any:
    if not len(container):
        return None
    return next(reversed(container)) if isinstance(container, Mapping) else len(container) - 1


def _end_slot(container: Any, key: Any) -> tuple[Any, int, Any] | None:
    """(node, slot index, key) of the comment after container[key]'s last line: its deepest last scalar."""
    value = container[key]
    while isinstance(value, (CommentedMap, CommentedSeq)) and len(value):
        container, key = value, _last_key(value)
        value = container[key]
    if not isinstance(container, (CommentedMap, CommentedSeq)):
        return None
    return container, 2 if isinstance(container, CommentedMap) else 0, key


def _take_lines_after(container: Any, key: Any) -> str:
    """Detach and return the whole lines of comment (and blank lines) after container[key]; its own
    end-of-line comment stays."""
    if key is None:
        return ""
    found = _end_slot(container, key)
    if found is None:
        return ""
    node, index, key = found
    token = (node.ca.items.get(key) or [None] * 4)[index]
    if token is None or "\n" not in token.value:
        return ""
    own, lines = token.value.split("\n", 1)
    token.value = own + "\n"
    return lines


def _give_lines_after(container: Any, key: Any, lines: str) -> None:
    found = _end_slot(container, key) if lines else None
    if found is None:
        return
    node, index, key = found
    slot = node.ca.items.setdefault(key, [None] * 4)
    if slot[index] is None:
        slot[index] = CommentToken("\n" + lines, CommentMark(0), None)
    else:
        slot[index].value += lines


def _give_lines_before(container: Any, lines: str) -> None:
    """Comment lines before the first entry of a block (the entry they followed was deleted)."""
    tokens = [CommentToken(line + "\n", CommentMark(0), None) for line in lines.splitlines()]
    if container.ca.comment is None:
        container.ca.comment = [None, []]
    container.ca.comment[1] = (container.ca.comment[1] or []) + tokens


def _merge_environment(doc: _Doc, svc: dict, env: Mapping[str, Any], absent: Iterable[str]) -> None:
    absent = set(absent) - set(env)
    current = svc.get("environment")
    if current is None:
        if env:
            doc.set(svc, "environment", [f"{k}={_env_value(v)}" for k, v in env.items()])
        return
    if isinstance(current, Mapping):  # keep the student's form: a mapping stays a mapping
        for key in [key for key in current if key in absent]:
            doc.delete(current, key)
        for key, value in env.items():
            doc.set(current, key, _env_value(value))
        return
    if not isinstance(current, list):
        raise AnsibleFilterError("services.<inventory>.environment must be a list (- K=V) or a mapping (K: V)")
    for index in reversed(range(len(current))):
        if _env_key(current[index]) in absent:
            doc.delete(current, index)
    for key, value in env.items():
        entry = f"{key}={_env_value(value)}"
        positions = [i for i, item in enumerate(current) if _env_key(item) == key]
        if positions:
            doc.set(current, positions[0], entry)  # in place, so the student's order and comments stay
            for i in reversed(positions[1:]):  # a duplicate would make the winner unclear
                doc.delete(current, i)
        else:
            doc.append(current, entry)


def _normal(path: str | None) -> str | None:
    return None if path is None else (path.rstrip("/") or "/")


def _shadows_code(entry: Any, exact: list[str], roots: list[str], py_files: bool) -> bool:
    """Whether a mount would hide the image's code: exactly an exact target, a root or below it, or one .py file."""
    target = _normal(_volume_target(entry))
    if target is None:
        return False
    if target in {_normal(path) for path in exact} or _under(target, roots):
        return True
    return py_files and target.endswith(".py")


def _merge_volumes(
    doc: _Doc,
    svc: dict,
    volumes: Iterable[Any],
    removed_targets: Iterable[str],
    removed_roots: Iterable[str] = (),
    removed_py_files: bool = False,
) -> None:
    volumes = list(volumes)
    current = svc.get("volumes")
    if current is None:
        if volumes:
            doc.set(svc, "volumes", volumes)
        return
    if not isinstance(current, list):
        raise AnsibleFilterError("services.<inventory>.volumes must be a list")
    removed_targets, removed_roots = list(removed_targets), list(removed_roots)
    for index in reversed(range(len(current))):
        if _shadows_code(current[index], removed_targets, removed_roots, removed_py_files):
            doc.delete(current, index)
    for volume in volumes:
        target = _volume_target(volume)
        positions = [i for i, item in enumerate(current) if _volume_target(item) == target]
        if positions:
            doc.set(current, positions[0], volume)
        else:
            doc.append(current, volume)


def compose_merge(
    current: str | None,
    service_name: str,
    service: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
    environment: Mapping[str, Any] | None = None,
    environment_absent: Iterable[str] = (),
    volumes: Iterable[Any] = (),
    volume_targets_removed: Iterable[str] = (),
    volume_roots_removed: Iterable[str] = (),
    volume_py_files_removed: bool = False,
    keys_removed: Iterable[str] = (),
    top_level: Mapping[str, Mapping[str, Any]] | None = None,
    header: str = "",
    header_marker: str = "",
    project_name: str = "",
    use_ruamel: bool = True,
) -> str:
    """Return the compose text `current` with service `service_name` brought to the wanted state.

    service: keys the role owns, replaced whole (build, image, healthcheck).
    defaults: keys set only when the service lacks them (ports, restart): the student's choice wins.
    environment: variables the role manages; others stay, in the student's list or mapping form.
    environment_absent: variable names to delete (an option the role no longer sets).
    volumes: entries ensured by container target (replaced in place when the target is already mounted).
    volume_targets_removed: container paths whose mounts are dropped when the target is exactly that path (a bind
        mount over /app would hide the image's code; a data mount like ./data:/app/data stays).
    volume_roots_removed: container paths whose mounts are dropped at that path or anywhere below it (/opt/venv).
    volume_py_files_removed: also drop a mount whose target is a single .py file (./app.py:/app/app.py).
    keys_removed: service keys dropped because the image defines them (command, entrypoint, ...).
    top_level: {section: {name: definition}} merged by name (secrets for the build's CA bundle).
    header: comment block put at the top once (`ansible_managed | comment` style: first and last line "#").
    header_marker: text that identifies an earlier header of ours, replaced instead of stacked when it changed.
    project_name: the project the role runs the file as; a top-level `name:` naming another is refused,
        because `docker compose` without -p (the student's own commands) would run a second project.
    """
    text = "" if current is None else str(current)
    doc = _Doc(text, use_ruamel)
    data = doc.data
    service_name = str(service_name)
    _check_project_name(data, str(project_name or ""))

    services = data.get("services")
    new_services = services is None
    if new_services:
        services = doc.new_map()
    if not isinstance(services, Mapping):
        raise AnsibleFilterError("`services:` in the existing compose file is not a mapping, nothing was changed")
    fresh = not isinstance(services.get(service_name), Mapping)
    if services.get(service_name) is not None and fresh:
        raise AnsibleFilterError(f"services.{service_name} in the existing compose file is not a mapping")
    svc = doc.new_map() if fresh else services[service_name]

    for key in keys_removed:
        if key in svc:
            doc.delete(svc, key)
    for key, value in _plain(service or {}).items():
        doc.set(svc, key, value)
    for key, value in _plain(defaults or {}).items():
        if key not in svc:
            doc.set(svc, key, value)
    _merge_environment(doc, svc, _plain(environment or {}), [str(k) for k in environment_absent])
    _merge_volumes(
        doc,
        svc,
        _plain(list(volumes)),
        [str(t) for t in volume_targets_removed],
        [str(t) for t in volume_roots_removed],
        bool(volume_py_files_removed),
    )

    if fresh:
        ordered = doc.new_map()
        for key in sorted(
            svc, key=lambda k: FRESH_KEY_ORDER.index(k) if k in FRESH_KEY_ORDER else len(FRESH_KEY_ORDER)
        ):
            ordered[key] = svc[key]
        doc.set(services, service_name, ordered)
    if new_services:  # in one piece, so the comment lines at the end of the file stay below it
        doc.set(data, "services", services)

    for section, entries in _plain(top_level or {}).items():
        if not entries:
            continue
        target = data.get(section)
        if target is None:
            doc.set(data, section, entries)
            continue
        if not isinstance(target, Mapping):
            raise AnsibleFilterError(f"top-level `{section}:` in the existing compose file is not a mapping")
        for name, definition in entries.items():
            doc.set(target, name, definition)

    out = doc.dump()
    header = str(header or "").strip("\n")
    if header and not out.startswith(header + "\n"):
        out = f"{header}\n{_strip_old_header(out, str(header_marker or ''))}"
    return out


def _line(data: Mapping, key: str) -> str:
    """' (line N)' of key in the file, when the loader kept positions (ruamel.yaml)."""
    lc = getattr(data, "lc", None)
    return f" (line {lc.key(key)[0] + 1})" if lc is not None and key in data else ""


def _check_project_name(data: Mapping, project: str) -> None:
    name = data.get("name")
    if not project or name is None or str(name) == project:
        return
    raise AnsibleFilterError(
        f"the compose file sets the project name `name: {name}`{_line(data, 'name')}, but the role runs it as "
        f"inventory_api_compose_project '{project}': `docker compose` without -p would then run a second "
        f"project beside the role's. Set inventory_api_compose_project: {name}, or remove the name: line; "
        "nothing was changed"
    )


def _strip_old_header(text: str, marker: str) -> str:
    """Drop a leading comment block ("#" ... "#") that contains marker: our header of an earlier run."""
    if not marker or not text.startswith("#\n"):
        return text
    lines = text.split("\n")
    for end in range(1, len(lines)):
        if lines[end] == "#":
            block = lines[: end + 1]
            if all(line.startswith("#") for line in block) and marker in "\n".join(block):
                return "\n".join(lines[end + 1 :])
            break
    return text


def compose_override_conflicts(
    text: str | None,
    service_name: str,
    environment: Iterable[str] = (),
    keys: Iterable[str] = (),
    volume_targets: Iterable[str] = (),
    volume_roots: Iterable[str] = (),
    volume_py_files: bool = False,
) -> list[str]:
    """What an override file (docker-compose.override.yml, merged over the file by `docker compose`
    without -f) would change of the role's settings of service_name, one line each; [] when nothing.

    environment: variable names the role sets or removes; keys: service keys it owns or removes;
    volume_*: mounts that would hide the image's code (as in compose_merge).
    """
    try:
        data = YAML(typ="rt").load(text or "") if HAVE_RUAMEL else yaml.safe_load(text or "")
    except Exception as exc:  # both libraries raise their own YAMLError types
        return [f"it is not valid YAML ({exc})"]
    services = data.get("services") if isinstance(data, Mapping) else None
    svc = services.get(str(service_name)) if isinstance(services, Mapping) else None
    if not isinstance(svc, Mapping):
        return []
    where = f"services.{service_name}"
    found = [f"{where}.{key}{_line(svc, key)}" for key in keys if key in svc]
    env = svc.get("environment")
    names = env.keys() if isinstance(env, Mapping) else [_env_key(entry) for entry in env or []]
    wanted = {str(name) for name in environment}
    found += [f"{where}.environment {name}{_line(svc, 'environment')}" for name in names if name in wanted]
    targets, roots = [str(t) for t in volume_targets], [str(t) for t in volume_roots]
    for entry in svc.get("volumes") or []:
        if _shadows_code(entry, targets, roots, bool(volume_py_files)):
            found.append(f"{where}.volumes {_volume_target(entry)}{_line(svc, 'volumes')}")
    return found


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict:
        return {
            "inventory_api_compose_merge": compose_merge,
            "inventory_api_compose_override_conflicts": compose_override_conflicts,
        }
