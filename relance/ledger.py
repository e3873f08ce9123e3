"""Reading the invoices to import from a CSV or JSON ledger.

The CSV comes from spreadsheets, mostly French Excel: ";" separators, "1 234,56" amounts, 31/01/2026 dates,
sometimes a BOM. One bad row must not block the others, and each error names the row and the column as the
user sees them in the spreadsheet, so it can be fixed without reading code.

A CSV ledger is read row by row (`LedgerReader`): a 200,000-row file is never held whole, and `relance import`
starts cases while it reads. Before the first row, one pass over the bytes checks that the file is UTF-8 with no
line longer than `MAX_LINE_BYTES`, so a file is refused as a whole or not at all. JSON ledgers are read whole,
at most `MAX_JSON_BYTES`. Cells are read as hostile: digits 0-9 only in amounts and dates (no `1_000`, no
Arabic-Indic digits, no `1E400`, `NaN` or `Infinity`), and, given today, dates in a window around it.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.invoice import MAX_AMOUNT, Invoice, amount_problem, date_problems, email_problem
from domain.money import format_eur
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
# [0-9], not \d: \d also matches Arabic-Indic and other digits, which int() would read without a word.
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_FRENCH_DATE = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_PLAIN_AMOUNT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")  # after separators are normalized
_PLAUSIBLE_YEARS = range(1970, 2200)  # without a today to compare with (previews), still no year 9999
# Excel FR groups thousands with a (narrow) no-break space; users type plain spaces.
_NUMBER_NOISE = re.compile(r"[\s\u00a0\u202f€]")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_HEADER_ROW = 1
MAX_JSON_BYTES = 16 * 2**20  # about 40,000 invoices; a larger ledger goes as CSV, which is read row by row
MAX_LINE_BYTES = 2**20  # one CSV line; a spreadsheet row is a few hundred bytes
_CHUNK_BYTES = 2**20


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
    path: Path, known_policies: set[str] | None = None, route: Callable[[Invoice], str] | None = None, *,
    today: dt.date | None = None,
) -> tuple[list[LedgerRow], list[RowError]]:
    """Good rows and the errors of bad ones, all at once (previews, simulations); `relance import` streams."""
    reader = LedgerReader(path, known_policies, route, today=today)
    rows = list(reader)
    return rows, reader.errors


class LedgerReader:
    """The good rows of a ledger, validated as they are read; `errors` collects the bad ones with their row.

    The file as a whole (type, encoding, header, size) is checked when the reader is made, raising
    `LedgerFileError` before any row. A bad row is skipped, never half-imported. A row that names no policy gets
    the one `route` chooses (the rules' routing table), if given. With `today`, dates too far from it are refused
    (see `domain.invoice.date_problems`); previews and simulations, which may move a ledger's dates, pass none.
    """

    def __init__(self, path: Path, known_policies: set[str] | None = None,
                 route: Callable[[Invoice], str] | None = None, *, today: dt.date | None = None) -> None:
        self.path, self.known_policies, self.route, self.today = path, known_policies, route, today
        self.errors: list[RowError] = []
        self.rows_hint = 0  # rows the file seems to hold (lines, for a CSV), for a progress bar
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise LedgerFileError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; expected .csv or .json")
        if suffix == ".csv":
            self.rows_hint = _check_csv_bytes(path)
            header, delimiter = _csv_header(path)
            self.errors += [_unknown_column(_HEADER_ROW, name) for name in header if name and name not in COLUMNS]
            self._records: Iterator[Record] = _csv_records(path, header, delimiter, self.errors)
        else:
            items = _json_items(_read_json_text(path), path)
            self.rows_hint = len(items)
            self._records = _json_records(items, self.errors)
        self._started = False

    def __iter__(self) -> Iterator[LedgerRow]:
        if self._started:
            raise RuntimeError("a LedgerReader is read once")
        self._started = True
        first_row_of: dict[str, int] = {}  # invoice numbers seen: the one thing kept per row
        for row, record in self._records:
            ledger_row, row_errors = _read_row(row, record, self.known_policies, first_row_of, self.route, self.today)
            self.errors.extend(row_errors)
            if ledger_row is not None:
                yield ledger_row


# --- files -------------------------------------------------------------------------------------------------


def _check_csv_bytes(path: Path) -> int:
    """One pass over the bytes, a chunk at a time: UTF-8 throughout, no overlong line. Returns the number of
    lines after the header (the rows, but for quoted line breaks and blank lines)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines, line_bytes = 0, 0, 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK_BYTES):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    _not_utf8(path, error.object[error.start], offset - pending + error.start)
                pieces = chunk.split(b"\n")
                for index, piece in enumerate(pieces):
                    line_bytes = line_bytes + len(piece) if index == 0 else len(piece)
                    if line_bytes > MAX_LINE_BYTES:
                        raise LedgerFileError(f"{path}: line {lines + index + 1} is longer than "
                                              f"{MAX_LINE_BYTES // 2**20} MB; is this a ledger exported as CSV?")
                lines += len(pieces) - 1
                offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as error:
                _not_utf8(path, error.object[error.start], offset - len(error.object) + error.start)
    except FileNotFoundError:
        raise LedgerFileError(f"{path}: no such file") from None
    except OSError as error:
        raise LedgerFileError(f"{path}: cannot read: {error.strerror}") from None
    return max(lines, 1) - 1 if line_bytes == 0 else lines


def _not_utf8(path: Path, byte: int, offset: int) -> NoReturn:
    # Guessing cp1252 would import mangled names silently; saving as "CSV UTF-8" is a one-click fix.
    raise LedgerFileError(f"{path}: not UTF-8 (byte {byte:#04x} at offset {offset}); "
                          "save it as 'CSV UTF-8' from the spreadsheet")


def _read_json_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise LedgerFileError(f"{path}: {size // 2**20} MB; a JSON ledger is read whole, so at most "
                                  f"{MAX_JSON_BYTES // 2**20} MB: export a larger ledger as CSV, read row by row")
        return path.read_bytes().decode("utf-8-sig")  # utf-8-sig also reads files without a BOM
    except FileNotFoundError:
        raise LedgerFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        _not_utf8(path, error.object[error.start], error.start)
    except OSError as error:
        raise LedgerFileError(f"{path}: cannot read: {error.strerror}") from None


def _open_csv(path: Path):
    return path.open(encoding="utf-8-sig", newline="")  # utf-8-sig also reads files without a BOM


def _csv_header(path: Path) -> tuple[list[str], str]:
    with _open_csv(path) as file:
        first = file.readline(MAX_LINE_BYTES)
        delimiter = _delimiter(first)
        try:
            cells = next(csv.reader(itertools.chain([first], file), delimiter=delimiter), [])
        except csv.Error as error:
            raise LedgerFileError(f"{path}: header row unreadable: {error}") from None
    if not any(cell.strip() for cell in cells):
        raise LedgerFileError(f"{path}: empty file, expected a header row naming the columns")
    header = [_column_name(cell) for cell in cells]
    _check_header(header, path)
    return header, delimiter


def _csv_records(path: Path, header: list[str], delimiter: str, errors: list[RowError]) -> Iterator[Record]:
    with _open_csv(path) as file:
        reader = csv.reader(file, delimiter=delimiter)
        row = _HEADER_ROW
        try:
            next(reader)  # the header, read and checked already
            while True:
                row += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:  # a cell over the csv module's 128 KB, say; the next line reads on
                    errors.append(RowError(row=row, field="", message=f"unreadable: {error}"))
                    continue
                if not any(cell.strip() for cell in cells):
                    continue  # Excel exports trailing ";;;;" lines for rows that were once used
                if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
                    errors.append(RowError(row=row, field="", message=_too_many_cells(len(cells), len(header))))
                    continue
                yield row, {name: cell for name, cell in zip(header, cells) if name in COLUMNS}
        except UnicodeDecodeError as error:  # only if the file changed since its bytes were checked
            raise LedgerFileError(f"{path}: not UTF-8 near row {row} (the file changed while being read?)") from error


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


def _json_records(items: list[Any], errors: list[RowError]) -> Iterator[Record]:
    reported: set[str] = set()
    for row, item in enumerate(items, start=1):  # JSON has no header row: an unknown key is reported where first seen
        if not isinstance(item, dict):
            errors.append(RowError(row=row, field="", message="expected an object with the invoice fields"))
            continue
        flat = _flatten(item)
        for name in sorted(flat.keys() - set(COLUMNS) - reported):
            reported.add(name)
            errors.append(_unknown_column(row, name))
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


def _unknown_column(row: int, name: str) -> RowError:
    return RowError(row=row, field=name, message="unknown column, ignored")


# --- rows --------------------------------------------------------------------------------------------------


def _read_row(
    row: int, record: dict[str, Any], known_policies: set[str] | None, first_row_of: dict[str, int],
    route: Callable[[Invoice], str] | None = None, today: dt.date | None = None,
) -> tuple[LedgerRow | None, list[RowError]]:
    values, errors = _convert(row, record)
    errors += _bounds(row, values, today)
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


def _bounds(row: int, values: dict[str, Any], today: dt.date | None) -> list[RowError]:
    """What a case could not carry (see domain.invoice), checked here rather than by the model: a field refused
    here is left out of the model's check, so it is reported once."""
    problems: list[tuple[str, str | None]] = []
    for column in ("amount_incl_tax", "amount_excl_tax"):
        if column in values:
            problems.append((column, amount_problem(Decimal(values[column]))))
    if "credit_limit" in values and Decimal(values["credit_limit"]) > MAX_AMOUNT:
        problems.append(("credit_limit", f"more than the maximum of {MAX_AMOUNT:.2f} EUR"))
    if isinstance(values.get("debtor_email"), str):
        problems.append(("debtor_email", email_problem(values["debtor_email"])))
    if today is not None:
        problems += date_problems(values.get("issue_date"), values.get("due_date"), today)
    return [RowError(row=row, field=field, message=why) for field, why in problems if why]


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
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise ValueError("expected an amount")
    if isinstance(raw, (int, Decimal)):
        amount = Decimal(raw)
        if not amount.is_finite():
            raise ValueError(f"{raw} is not an amount")
        return amount
    text = _normalize_separators(_NUMBER_NOISE.sub("", _text(raw)))
    if not _PLAIN_AMOUNT.match(text):  # Decimal() itself reads 1_000, ١٢٣, 1E400, NaN and Infinity
        raise ValueError(f"{_text(raw)!r} is not an amount such as 1234.56 or 1 234,56 (digits 0-9 only)")
    return text  # pydantic judges the result (sign, cents, bounds), so its messages stay consistent


def read_amount(text: str, maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """An amount typed by ops (`relance pay`, `plan`, `resolve`, `insurer`), read and bounded as a ledger's cell
    is: ASCII digits, French or English separators, more than 0, cents at most, at most `maximum`.
    ValueError says why not, in French (ops read it at the prompt)."""
    try:
        amount = Decimal(_decimal(text))
    except ValueError:
        raise ValueError(f"{text!r} n'est pas un montant : chiffres 0 à 9, et une virgule ou un point avant les"
                         " centimes (1234.56 ou 1 234,56)") from None
    if amount_problem(amount, maximum):
        raise ValueError(f"{text!r} est hors bornes : un montant en euros de 0,01 à {format_eur(maximum)},"
                         " au centime près") from None
    return amount


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
    if not french and not _ISO_DATE.match(text):
        raise ValueError(f"{text!r} is not a date as YYYY-MM-DD or DD/MM/YYYY (digits 0-9 only)")
    try:
        if french:
            day, month, year = (int(part) for part in french.groups())
            parsed = dt.date(year, month, day)
        else:
            parsed = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None
    if parsed.year not in _PLAUSIBLE_YEARS:
        raise ValueError(f"{text!r} is not a plausible invoice date")
    return parsed


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
