"""The documents the workers printed (letters, court requests, insurer claim files), shown in the console.

Workers write them under RELANCE_DOCUMENTS_DIR as `<invoice>/<key>.pdf` (activities/documents.py) and a case's
audit line names the file. The console serves a file only from its own RELANCE_DOCUMENTS_DIR, found by those two
names, never by a path a request spells; with workers on other hosts, that folder must be shared with the
console's host (a network mount), or the page says the document is not here.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path, PurePath

SAFE = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,254}$")  # the names activities/documents.py writes
SHOWN = {".pdf": "application/pdf", ".json": "application/json"}


def url_of(ref: str) -> str | None:
    """The console's address of a document an audit line names; None for a message id, a receipt number, a key."""
    path = PurePath(ref)
    if path.suffix not in SHOWN or len(path.parts) < 2 or ".." in path.parts:
        return None
    folder, name = path.parts[-2], path.parts[-1]
    if not (SAFE.match(folder) and SAFE.match(name)):
        return None
    return f"/documents/{folder}/{name}"


def located(root: Path | None, folder: str, name: str) -> Path | None:
    """The file behind `/documents/<folder>/<name>` in `root`, if it is there and nowhere else (no link out)."""
    if root is None or not (SAFE.match(folder) and SAFE.match(name)) or PurePath(name).suffix not in SHOWN:
        return None
    try:
        path = (root / folder / name).resolve(strict=True)
    except OSError:
        return None
    return path if path.is_relative_to(root.resolve()) and path.is_file() else None


def media_type(name: str) -> str:
    return SHOWN[PurePath(name).suffix]


@dataclasses.dataclass(frozen=True)
class Shown:
    at: dt.datetime
    summary: str
    name: str
    url: str


def in_audit(audit) -> list[Shown]:
    """Every document a case's audit names, newest first, each once (a grouped letter is named by each invoice)."""
    found: dict[str, Shown] = {}
    for action in audit:
        for ref in action.refs:
            url = url_of(ref)
            if url and url not in found:
                found[url] = Shown(action.at, action.summary, PurePath(ref).name, url)
    return sorted(found.values(), key=lambda d: d.at, reverse=True)
