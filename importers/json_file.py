"""JSON ledgers: a list of invoices, or {"invoices": [...]}, flat like the CSV's columns or nested like an
exported Invoice. Read whole, so at most `MAX_JSON_BYTES`; a larger ledger goes as CSV, read row by row."""
from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from importers.base import LedgerFileError, Record, RowError, Source
from importers.columns import COLUMNS

MAX_JSON_BYTES = 16 * 2**20  # about 40,000 invoices

# The nested shape of Invoice.model_dump(), so an export can be read back.
_NESTED_DEBTOR = {
    "debtor_id": "debtor_id", "name": "debtor_name", "email": "debtor_email", "language": "debtor_language",
    "siren": "debtor_siren", "address": "debtor_address", "country": "debtor_country",
    "segment": "debtor_segment", "insured": "insured", "credit_limit": "credit_limit",
}  # fmt: skip


def open_json(path: Path) -> Source:
    items = _json_items(_read_json_text(path), path)
    return Source(records=_json_records(items), rows_hint=len(items), notices=[], labels={})


def not_utf8(path: Path, byte: int, offset: int) -> LedgerFileError:
    return LedgerFileError(f"{path}: pas en UTF-8 (octet {byte:#04x} à la position {offset}) — not UTF-8 "
                           f"(byte {byte:#04x} at offset {offset}); save it as UTF-8")


def _read_json_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise LedgerFileError(f"{path}: {size // 2**20} MB; a JSON ledger is read whole, so at most "
                                  f"{MAX_JSON_BYTES // 2**20} MB: export a larger ledger as CSV, read row by row")
        return path.read_bytes().decode("utf-8-sig")  # utf-8-sig also reads files without a BOM
    except FileNotFoundError:
        raise LedgerFileError(f"{path}: fichier introuvable — no such file") from None
    except UnicodeDecodeError as error:
        raise not_utf8(path, error.object[error.start], error.start) from None
    except OSError as error:
        raise LedgerFileError(f"{path}: cannot read: {error.strerror}") from None


def _json_records(items: list[Any]) -> Iterator[Record]:
    reported: set[str] = set()
    for row, item in enumerate(items, start=1):  # JSON has no header row: an unknown key is reported where first seen
        if not isinstance(item, dict):
            yield row, RowError(row=row, field="", message="expected an object with the invoice fields")
            continue
        flat = _flatten(item)
        for name in sorted(flat.keys() - set(COLUMNS) - reported):
            reported.add(name)
            yield row, RowError(row=row, field=name, message="unknown column, ignored", severity="warning")
        yield row, {name: value for name, value in flat.items() if name in COLUMNS}


def _json_items(text: str, path: Path) -> list[Any]:
    try:
        data = json.loads(text, parse_float=Decimal)  # floats would turn 0.1 into 0.1000000000000000055
    except json.JSONDecodeError as error:
        raise LedgerFileError(f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}")
    except (ValueError, RecursionError) as error:  # an integer of 5,000 digits, [[[[...]]]] thousands deep
        raise LedgerFileError(f"{path}: invalid JSON: {error}") from None
    if isinstance(data, dict) and isinstance(data.get("invoices"), list):
        return data["invoices"]
    if isinstance(data, list):
        return data
    raise LedgerFileError(f'{path}: expected a list of invoices or {{"invoices": [...]}}')


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    """Accepts the flat columns of the CSV, and the nested shape of an exported Invoice."""
    flat = {str(key): value for key, value in item.items() if key not in ("debtor", "policy_id")}
    if "policy_id" in item:
        flat.setdefault("policy", item["policy_id"])
    debtor = item.get("debtor")
    if isinstance(debtor, dict):
        for key, value in debtor.items():
            flat.setdefault(_NESTED_DEBTOR.get(str(key), f"debtor.{key}"), value)
    elif debtor is not None:
        flat["debtor"] = debtor  # reported as an unknown column rather than silently dropped
    return flat
