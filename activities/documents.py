"""Printable documents (letters, court requests, claim files) written as files under one root, one folder per invoice."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, invoice_number: str, key: str, content: str | bytes, suffix: str = ".pdf") -> Path:
        """Write atomically, named after the business key: a retry overwrites the same file."""
        folder = self.root / folder_of(invoice_number)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (_safe(key.removeprefix(f"{invoice_number}:")) + suffix)
        partial = path.with_suffix(path.suffix + ".part")
        if isinstance(content, bytes):
            partial.write_bytes(content)
        else:
            partial.write_text(content, encoding="utf-8")
        os.replace(partial, path)
        return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name)


def folder_of(invoice_number: str) -> str:
    """An invoice's folder: its number, or, when the number has characters a file name may not hold (`FA/2026/12`),
    the number made safe and a digest of it, so that `FA/2026/12` and `FA_2026_12` never share a folder."""
    safe = re.sub(r"^\.+", "_", _safe(invoice_number))  # no hidden folder, no `..`
    if safe == invoice_number:
        return safe
    return f"{safe}-{hashlib.sha256(invoice_number.encode('utf-8')).hexdigest()[:10]}"
