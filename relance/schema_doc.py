"""The admins' reference of the rule files, generated from the pydantic models so it cannot drift from them."""
from __future__ import annotations

import types
import typing
from enum import Enum
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from domain.policy import Policy
from domain.routing import Routing
from relance.config import ROOT

INTRO = """# Rule files: reference

Generated from the models in `domain/policy.py` and `domain/routing.py` by `relance rules schema`; a test fails
when this page and the models disagree. Every policy is a YAML file in the rules folder (`RELANCE_RULES_DIR`,
default `rules/`); `routing.yaml` in the same folder chooses the policy of an invoice whose ledger row names none.

Check a change with `relance rules check`, preview it with `relance rules simulate --ledger FILE` or
`relance rules diff OLD_DIR NEW_DIR --ledger FILE`, then raise `version` and deploy the file: workers see it
within `RELANCE_RULES_POLL_SECONDS` (or at once with `relance rules reload`), running cases of an `adopt`
policy follow it from their next step, and `relance rules history POLICY` lists the versions seen.
"""


def type_name(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return {"str": "text", "int": "whole number", "bool": "true/false", "Decimal": "amount (\"1234.56\")",
            "date": "date (YYYY-MM-DD)"}.get(getattr(annotation, "__name__", str(annotation)), str(annotation))


def models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """`root` and every model below it, in the order a reader meets them."""
    seen: list[type[BaseModel]] = []

    def visit(model):
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            for candidate in (field.annotation, *typing.get_args(field.annotation)):
                for inner in (candidate, *typing.get_args(candidate)):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        visit(inner)

    visit(root)
    return seen


def section(model: type[BaseModel]) -> str:
    lines = [f"## {model.__name__}", ""]
    if model.__doc__:
        lines += [" ".join(model.__doc__.split()), ""]
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if name == "content_hash":
            continue
        default = "required" if field.is_required() else (
            "" if field.default is PydanticUndefined else f"`{_plain(field.default)}`")
        lines.append(f"| `{name}` | {type_name(field.annotation)} | {default} | {field.description or ''} |")
    return "\n".join(lines) + "\n"


def _plain(value) -> str:
    """A default as it would be written in YAML."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return "its defaults"
    if value == "" or value is None:
        return '""' if value == "" else "null"
    return str(value).replace("|", "\\|")


def reference() -> str:
    example = (ROOT / "rules" / "default.yaml").read_text(encoding="utf-8")
    routing = (ROOT / "rules" / "routing.yaml").read_text(encoding="utf-8")
    parts = [INTRO, *(section(m) for m in models(Policy)), section(Routing), *(section(m) for m in models(Routing)[1:]
                                                                           if m not in models(Policy))]
    parts.append("## Annotated example: `rules/default.yaml`\n\n```yaml\n" + example + "```\n")
    parts.append("## Routing example: `rules/routing.yaml`\n\n```yaml\n" + routing + "```\n")
    return "\n".join(parts)


REFERENCE_PATH = ROOT / "docs" / "rules.md"


def write(path: Path = REFERENCE_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reference(), encoding="utf-8")
