"""Reading the invoices to import from a CSV or JSON ledger.

The CSV comes from spreadsheets, mostly French Excel: ";" separators, "1 234,56" amounts, 31/01/2026 dates,
sometimes a BOM. One bad row must not block the others, and each error names the row and the column as the
user sees them in the spreadsheet, so it can be fixed without reading code.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.invoice import Invoice
from domain.script import ScriptError, parse_script

# Column -> where it goes in the Invoice model.
_TARGETS: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "debtor_id": ("debtor", "debtor_id"),
    "debtor_name": ("debtor", "name"),
    "debtor_email": ("debtor", "email"),
    "debtor_language": ("debtor", "language"),
    "debtor_siren": ("debtor", "siren"),
    "debtor_address": ("debtor", "address"),
    "debtor_country": ("debtor", "country"),
    "debtor_segment": ("debtor", "segment"),
    "insured": ("debtor", "insured"),
    "credit_limit": ("debtor", "credit_limit"),
    "issue_date": ("issue_date",),
    "due_date": ("due_date",),
    "amount_incl_tax": ("amount_incl_tax",),
    "amount_excl_tax": ("amount_excl_tax",),
    "currency": ("currency",),
    "policy": ("policy_id",),
    "purchase_order": ("purchase_order",),
    "delivery_proof": ("delivery_proof",),
}
COLUMNS: tuple[str, ...] = (*_TARGETS, "script")
REQUIRED_COLUMNS = ("number", "debtor_id", "debtor_name", "debtor_email", "issue_date", "due_date", "amount_incl_tax")
_COLUMN_OF_LOC = {target: column for column, target in _TARGETS.items()}

# The nested shape of Invoice.model_dump(), so an export can be read back.
_NESTED_DEBTOR = {
    "debtor_id": "debtor_id", "name": "debtor_name", "email": "debtor_email", "language": "debtor_language",
    "siren": "debtor_siren", "address": "debtor_address", "country": "debtor_country",
    "segment": "debtor_segment", "insured": "insured", "credit_limit": "credit_limit",
}  # fmt: skip

# The model's own name for a column: left unknown, it would silently put every row under "default".
_ALIASES = {"policy_id": "policy"}

_TRUE = {"true", "oui", "yes", "1", "vrai", "o", "y"}
_FALSE = {"false", "non", "no", "0", "faux", "n"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# Excel FR groups thousands with a (narrow) no-break space; users type plain spaces.
_NUMBER_NOISE = re.compile(r"[\s\u00a0\u202f€]")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_HEADER_ROW = 1


class LedgerFileError(Exception):
    """The file as a whole cannot be read; no row was imported."""


class RowError(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: int  # as a spreadsheet shows it: the header is row 1; for JSON, the 1-based position in the list
    field: str  # the column name, "" when the whole row is wrong
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}" if self.field else f"row {self.row}: {self.message}"


class LedgerRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: int
    invoice: Invoice
    script: str = ""  # raw behaviour script of a simulated debtor, see domain.script


Record = tuple[int, dict[str, Any]]


def read_ledger(
    path: Path, known_policies: set[str] | None = None, route: Callable[[Invoice], str] | None = None
) -> tuple[list[LedgerRow], list[RowError]]:
    """Good rows and the errors of bad ones; a bad row is skipped, never half-imported.

    A row that names no policy gets the one `route` chooses (the rules' routing table), if given.
    """
    records, errors = _records(path)
    rows: list[LedgerRow] = []
    first_row_of: dict[str, int] = {}
    for row, record in records:
        ledger_row, row_errors = _read_row(row, record, known_policies, first_row_of, route)
        errors.extend(row_errors)
        if ledger_row is not None:
            rows.append(ledger_row)
    return rows, errors


# --- files -------------------------------------------------------------------------------------------------


def _records(path: Path) -> tuple[list[Record], list[RowError]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise LedgerFileError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; expected .csv or .json")
    text = _read_text(path)
    return _csv_records(text, path) if suffix == ".csv" else _json_records(text, path)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")  # utf-8-sig also reads files without a BOM
    except FileNotFoundError:
        raise LedgerFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        # Guessing cp1252 would import mangled names silently; saving as "CSV UTF-8" is a one-click fix.
        raise LedgerFileError(
            f"{path}: not UTF-8 (byte {error.object[error.start]:#04x} at offset {error.start}); "
            "save it as 'CSV UTF-8' from the spreadsheet"
        ) from None
    except OSError as error:
        raise LedgerFileError(f"{path}: cannot read: {error.strerror}") from None


def _csv_records(text: str, path: Path) -> tuple[list[Record], list[RowError]]:
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    if not lines or not any(cell.strip() for cell in lines[0]):
        raise LedgerFileError(f"{path}: empty file, expected a header row naming the columns")
    header = [_column_name(cell) for cell in lines[0]]
    _check_header(header, path)
    errors = [_unknown_column(_HEADER_ROW, name) for name in header if name and name not in COLUMNS]
    records: list[Record] = []
    for row, cells in enumerate(lines[1:], start=_HEADER_ROW + 1):
        if not any(cell.strip() for cell in cells):
            continue  # Excel exports trailing ";;;;" lines for rows that were once used
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
            errors.append(RowError(row=row, field="", message=_too_many_cells(len(cells), len(header))))
            continue
        records.append((row, {name: cell for name, cell in zip(header, cells) if name in COLUMNS}))
    return records, errors


def _delimiter(text: str) -> str:
    # Column names contain neither separator, so the header line alone decides.
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _column_name(cell: str) -> str:
    name = re.sub(r"[\s-]+", "_", cell.strip().lower())
    return _ALIASES.get(name, name)


def _check_header(header: list[str], path: Path) -> None:
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise LedgerFileError(f"{path}: column(s) repeated in the header: {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise LedgerFileError(
            f"{path}: required column(s) missing from the header: {', '.join(missing)} "
            f"(header read: {', '.join(name for name in header if name)})"
        )


def _too_many_cells(found: int, expected: int) -> str:
    return f"{found} cells for {expected} columns; is a ';' or ',' inside a value not quoted?"


def _json_records(text: str, path: Path) -> tuple[list[Record], list[RowError]]:
    items = _json_items(text, path)
    errors: list[RowError] = []
    records: list[Record] = []
    reported: set[str] = set()
    for row, item in enumerate(items, start=1):  # JSON has no header row: an unknown key is reported where first seen
        if not isinstance(item, dict):
            errors.append(RowError(row=row, field="", message="expected an object with the invoice fields"))
            continue
        flat = _flatten(item)
        for name in sorted(flat.keys() - set(COLUMNS) - reported):
            reported.add(name)
            errors.append(_unknown_column(row, name))
        records.append((row, {name: value for name, value in flat.items() if name in COLUMNS}))
    return records, errors


def _json_items(text: str, path: Path) -> list[Any]:
    try:
        data = json.loads(text, parse_float=Decimal)  # floats would turn 0.1 into 0.1000000000000000055
    except json.JSONDecodeError as error:
        raise LedgerFileError(f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}")
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


def _unknown_column(row: int, name: str) -> RowError:
    return RowError(row=row, field=name, message="unknown column, ignored")


# --- rows --------------------------------------------------------------------------------------------------


def _read_row(
    row: int, record: dict[str, Any], known_policies: set[str] | None, first_row_of: dict[str, int],
    route: Callable[[Invoice], str] | None = None,
) -> tuple[LedgerRow | None, list[RowError]]:
    values, errors = _convert(row, record)
    errors += _duplicate(row, values.get("number"), first_row_of)
    script, script_errors = _script(row, values.get("script", ""))
    errors += script_errors
    invoice, invoice_errors = _invoice(row, values, skip={error.field for error in errors})
    errors += invoice_errors
    if invoice is not None and route is not None and not values.get("policy"):
        invoice = invoice.model_copy(update={"policy_id": route(invoice)})
    errors += _policy_errors(row, invoice.policy_id if invoice else values.get("policy", "default"), known_policies)
    if errors or invoice is None:
        return None, errors
    return LedgerRow(row=row, invoice=invoice, script=script), []


def _convert(row: int, record: dict[str, Any]) -> tuple[dict[str, Any], list[RowError]]:
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for column, raw in record.items():
        if _blank(raw):
            continue  # an empty cell is an absent value: the model's default, or "missing"
        try:
            values[column] = _CONVERTERS.get(column, _text)(raw)
        except ValueError as error:
            errors.append(RowError(row=row, field=column, message=str(error)))
    return values, errors


def _duplicate(row: int, number: Any, first_row_of: dict[str, int]) -> list[RowError]:
    if not isinstance(number, str):
        return []
    if number in first_row_of:
        return [RowError(row=row, field="number", message=f"duplicate of row {first_row_of[number]}")]
    first_row_of[number] = row
    return []


def _policy_errors(row: int, policy: Any, known_policies: set[str] | None) -> list[RowError]:
    if known_policies is None or policy in known_policies:
        return []
    known = ", ".join(sorted(known_policies)) or "none"
    return [RowError(row=row, field="policy", message=f"unknown policy {policy!r} (known: {known})")]


def _script(row: int, script: str) -> tuple[str, list[RowError]]:
    # Checked here so a typo in a demo ledger surfaces at import with its row, not mid-simulation.
    try:
        parse_script(script)
    except ScriptError as error:
        return script, [RowError(row=row, field="script", message=str(error))]
    return script, []


def _invoice(row: int, values: dict[str, Any], skip: set[str]) -> tuple[Invoice | None, list[RowError]]:
    data: dict[str, Any] = {"debtor": {}}
    for column, value in values.items():
        if column in _TARGETS:
            _put(data, _TARGETS[column], value)
    try:
        return Invoice.model_validate(data), []
    except ValidationError as error:
        errors = [_row_error(row, item) for item in error.errors()]
        # A cell that failed conversion is absent here; its "missing" would only repeat the first error.
        return None, [e for e in errors if e.field not in skip]


def _put(data: dict[str, Any], target: tuple[str, ...], value: Any) -> None:
    if len(target) == 1:
        data[target[0]] = value
    else:
        data[target[0]][target[1]] = value


def _row_error(row: int, item: Any) -> RowError:
    message = "missing" if item["type"] == "missing" else str(item["msg"]).removeprefix("Value error, ")
    loc = tuple(str(part) for part in item["loc"])
    field = _COLUMN_OF_LOC.get(loc) or _COLUMN_OF_LOC.get(loc[:2]) or _mentioned_column(message)
    return RowError(row=row, field=field, message=message)


def _mentioned_column(message: str) -> str:
    """Invoice-level checks have no location; the first column their message names is the one to fix."""
    names = [name for name in _IDENTIFIER.findall(message) if name in COLUMNS]
    precise = [name for name in names if "_" in name]  # "insured" in prose is a word, not a column
    return (precise or names or [""])[0]


# --- cells -------------------------------------------------------------------------------------------------


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise ValueError("expected text")
    return str(raw).strip()


def _lower(raw: Any) -> str:
    return _text(raw).lower()


def _upper(raw: Any) -> str:
    return _text(raw).upper()


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = _text(raw).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{word!r} is not one of true/false, oui/non, yes/no, 1/0")


def _decimal(raw: Any) -> Decimal | str:
    if isinstance(raw, bool):
        raise ValueError("expected an amount")
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    text = _NUMBER_NOISE.sub("", _text(raw))
    return _normalize_separators(text)  # pydantic judges the result, so its messages stay consistent


def _normalize_separators(text: str) -> str:
    """'1.234,56', '1,234.56', '1234,56', '1234.56': the last separator is the decimal one."""
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        thousands_sep = "." if decimal_sep == "," else ","
        text = text.replace(thousands_sep, "")
    if text.count(",") > 1 or text.count(".") > 1:
        raise ValueError(f"{text!r} is not an amount such as 1234.56 or 1 234,56")
    return text.replace(",", ".")


def _date(raw: Any) -> dt.date:
    text = _text(raw)
    french = _FRENCH_DATE.match(text)
    try:
        if french:
            day, month, year = (int(part) for part in french.groups())
            return dt.date(year, month, day)
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None
    raise ValueError(f"{text!r} is not a date as YYYY-MM-DD or DD/MM/YYYY")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "insured": _boolean,
    "credit_limit": _decimal,
    "amount_incl_tax": _decimal,
    "amount_excl_tax": _decimal,
    "issue_date": _date,
    "due_date": _date,
    "debtor_language": _lower,
    "debtor_country": _upper,
    "currency": _upper,
}
