"""Loading the YAML rule files that admins write, with errors that point at the line to fix.

Admins are not programmers: an error must say which file, which line and which key, and list every problem at
once so a file is fixed in one pass rather than one complaint per save.

A rule file dropped in the rules folder is read by every worker, so it is read as hostile: at most
`MAX_RULE_FILE_BYTES`, nested at most `MAX_NESTING` deep, and without YAML anchors or aliases (`&a`, `*a`, `<<: *a`):
a kilobyte of nested aliases ("billion laughs") expands to billions of values, and froze `rules check` and the
workers' event loop for minutes. Each is refused with its line before anything is built from the file.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from domain.policy import Policy

RULE_FILE_SUFFIXES = (".yaml", ".yml")
ROUTING_FILE = "routing.yaml"  # which policy applies to which invoice; not a policy itself
M = TypeVar("M", bound=BaseModel)
_HASH_CHARS = 16
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
MAX_RULE_FILE_BYTES = 256 * 1024  # the commented French policy is about 12 KB
MAX_NESTING = 32  # mappings and lists inside each other; a policy needs 4
# libyaml when built in: the pure-Python parser takes seconds on a file near the size bound.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # 1-based, as editors number lines
    field: str  # dotted path such as "reminders.2.offset_days"; "" when the problem is the whole file
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RuleFileError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def parse_policy(text: str, source: str) -> Policy:
    policy, _ = _parse(text, source)
    return policy


def load_policy_file(path: Path) -> Policy:
    return parse_policy(read_rule_text(path), str(path))


def load_policy_dir(directory: Path) -> dict[str, Policy]:
    """Every rule file of a directory, keyed by policy_id; problems of all files are reported together."""
    files = _rule_files(directory)
    problems: list[Problem] = []
    policies: dict[str, Policy] = {}
    first_file: dict[str, str] = {}
    for path in files:
        try:
            policy, root = _parse(read_rule_text(path), str(path))
        except RuleFileError as error:
            problems.extend(error.problems)
            continue
        if policy.policy_id in first_file:
            problems.append(_duplicate_id(policy.policy_id, str(path), root, first_file[policy.policy_id]))
            continue
        first_file[policy.policy_id] = str(path)
        policies[policy.policy_id] = policy
    if problems:
        raise RuleFileError(problems)
    return policies


def content_hash(text: str) -> str:
    """Identifies the exact rule text a case ran under, so a changed file is visible in the history."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


# --- parsing -----------------------------------------------------------------------------------------------


def _parse(text: str, source: str) -> tuple[Policy, MappingNode]:
    policy, root = parse_model(text, source, Policy, computed=("content_hash",))
    return policy.model_copy(update={"content_hash": content_hash(text)}), root


def parse_model(text: str, source: str, model: type[M], computed: tuple[str, ...] = ()) -> tuple[M, MappingNode]:
    """Validate a YAML mapping against `model`; every problem names its file, line and field."""
    root, data = _load_yaml(text, source)
    problems = _structure_problems(root, source)
    for key in computed:
        if key in data:
            problems.append(_at(root, (key,), source, "computed by the loader from the file; remove it"))
            data = {k: v for k, v in data.items() if k != key}
    instance = None
    try:
        instance = model.model_validate(data)
    except ValidationError as error:
        problems.extend(_validation_problems(error, root, source))
    if problems:
        raise RuleFileError(problems)
    return instance, root


_DECLARED_ID = re.compile(rb"^policy_id:[ \t]*[\"']?([a-z0-9][a-z0-9_-]*)", re.MULTILINE)


def declared_policy_id(path: Path) -> str:
    """The policy a file that does not validate was meant to be, so its refusal reaches that policy's registry:
    its top-level `policy_id:` line, read without parsing the YAML (the file may be hostile), else its name."""
    try:
        with path.open("rb") as file:
            head = file.read(MAX_RULE_FILE_BYTES)
    except OSError:
        head = b""
    found = _DECLARED_ID.search(head)
    return found.group(1).decode() if found else path.stem


def policy_files(directory: Path) -> list[Path]:
    """The policy files of a rules folder: every YAML file but the routing table."""
    return sorted(p for p in directory.iterdir()
                  if p.suffix in RULE_FILE_SUFFIXES and p.is_file() and p.name != ROUTING_FILE)


def _load_yaml(text: str, source: str) -> tuple[MappingNode, dict[str, Any]]:
    # The node tree carries line numbers; the plain load carries typed values (dates, numbers).
    if len(text) > MAX_RULE_FILE_BYTES:  # characters, at least as many bytes: refused before YAML sees it
        raise RuleFileError([_too_large(source, len(text.encode("utf-8")))])
    try:
        _refuse_hostile_structure(text, source)
        loader = _LOADER(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise RuleFileError([_syntax_problem(error, source)]) from None
    if root is None:
        raise RuleFileError([Problem(source, 1, "", "the file is empty")])
    if not isinstance(root, MappingNode) or not isinstance(data, dict):
        raise RuleFileError([Problem(source, _line(root), "", "a rule file must be a mapping of keys to values")])
    return root, data


def _refuse_hostile_structure(text: str, source: str) -> None:
    """One linear pass over the parser's events, before any node or value is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor is not None):
            line = event.start_mark.line + 1
            raise RuleFileError([Problem(source, line, "", f"alias/anchor not allowed in rule files (line {line});"
                                                            " write the values out in full")])
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                line = event.start_mark.line + 1
                raise RuleFileError([Problem(source, line, "", f"nested more than {MAX_NESTING} levels deep")])
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def _too_large(source: str, size: int) -> Problem:
    return Problem(source, None, "", f"{size} bytes; a rule file is at most {MAX_RULE_FILE_BYTES // 1024} KB")


def _syntax_problem(error: yaml.YAMLError, source: str) -> Problem:
    if not isinstance(error, yaml.MarkedYAMLError):
        return Problem(source, None, "", f"invalid YAML: {error}")
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    why = error.problem or "syntax error"
    # The parser notices a missing "]" or quote lines later; the opening line is where the fix usually goes.
    if error.context and error.context_mark is not None and error.context_mark.line + 1 != line:
        why = f"{why} ({error.context} started at line {error.context_mark.line + 1})"
    elif error.context:
        why = f"{why} ({error.context})"
    return Problem(source, line, "", f"invalid YAML: {why}")


def _structure_problems(root: MappingNode, source: str) -> list[Problem]:
    """Duplicate keys: YAML keeps the last one silently, so an admin's edit could vanish without a word."""
    problems: list[Problem] = []
    _collect_duplicate_keys(root, (), source, problems, set())
    return problems


def _collect_duplicate_keys(node: Node, path: tuple[str, ...], source: str, out: list[Problem],
                            walked: set[int]) -> None:
    # Each node once: the tree has no shared nodes (aliases are refused), and if it ever had, this stays linear.
    if id(node) in walked:
        return
    walked.add(id(node))
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                where = ".".join((*path, name))
                out.append(Problem(source, _line(key), where, f"key repeated (first at line {seen[name]})"))
            else:
                seen[name] = _line(key)
            _collect_duplicate_keys(value, (*path, name), source, out, walked)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _collect_duplicate_keys(item, (*path, str(index)), source, out, walked)


# --- mapping pydantic errors to lines ----------------------------------------------------------------------


def _validation_problems(error: ValidationError, root: MappingNode, source: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        message = _message(item)
        loc = tuple(item["loc"])
        if not loc:
            problems.append(_model_level(message, root, source))
        else:
            problems.append(_at(root, loc, source, message))
    return problems


def _message(item: Any) -> str:
    if item["type"] == "missing":
        return "missing"
    return str(item["msg"]).removeprefix("Value error, ")


def _at(root: MappingNode, loc: tuple[Any, ...], source: str, message: str) -> Problem:
    return Problem(source, _line_of(root, loc), ".".join(str(part) for part in loc), message)


def _model_level(message: str, root: MappingNode, source: str) -> Problem:
    """A whole-policy check has no location; the first key path its message names is the best hint."""
    for token in _TOKEN.findall(message):
        path = tuple(token.split("."))
        if _find(root, path) is not None:
            return Problem(source, _line_of(root, path), token, message)
    return Problem(source, 1, "", message)


def _line_of(root: MappingNode, loc: tuple[Any, ...]) -> int:
    """Line of the deepest node on the path that exists: a missing key is reported at its parent."""
    node: Node = root
    line = _line(root)
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        line, node = found
    return line


def _find(root: MappingNode, path: tuple[str, ...]) -> Node | None:
    node: Node = root
    for part in path:
        found = _child(node, part)
        if found is None:
            return None
        node = found[1]
    return node


def _child(node: Node, part: Any) -> tuple[int, Node] | None:
    """The child and the line to report: a key's own line for mappings, the item's line for sequences."""
    if isinstance(node, MappingNode):
        for key, value in reversed(node.value):  # YAML keeps the last of repeated keys
            if str(key.value) == str(part):
                return _line(key), value
    elif isinstance(node, SequenceNode) and _is_index(part) and int(part) < len(node.value):
        item = node.value[int(part)]
        return _line(item), item
    return None


def _is_index(part: Any) -> bool:
    return isinstance(part, int) or (isinstance(part, str) and part.isdigit())


def _line(node: Node) -> int:
    return node.start_mark.line + 1


# --- files -------------------------------------------------------------------------------------------------


def read_rule_text(path: Path) -> str:
    """A rule file's text (a policy or the routing table), its size checked before it is read whole."""
    try:
        size = path.stat().st_size
        if size > MAX_RULE_FILE_BYTES:
            raise RuleFileError([_too_large(str(path), size)])
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleFileError([Problem(str(path), None, "", "no such file")]) from None
    except UnicodeDecodeError as error:
        raise RuleFileError([Problem(str(path), None, "", f"not UTF-8 text ({error.reason})")]) from None
    except OSError as error:
        raise RuleFileError([Problem(str(path), None, "", f"cannot read: {error.strerror}")]) from None


def _rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleFileError([Problem(str(directory), None, "", "not a directory")])
    files = policy_files(directory)
    if not files:
        raise RuleFileError([Problem(str(directory), None, "", "no *.yaml or *.yml rule file")])
    return files


def _duplicate_id(policy_id: str, source: str, root: MappingNode, first: str) -> Problem:
    message = f"policy_id {policy_id!r} is already defined in {first}"
    return Problem(source, _line_of(root, ("policy_id",)), "policy_id", message)
