"""Reading the invoices to import from a ledger file: rows validated into Invoices, one at a time.

The files come from spreadsheets and accounting programs, mostly French (see `importers`, one reader per
format). One bad row must not block the others, and each error names the row and the column as the user sees
them in the file, in French and in English, so it can be fixed without reading code.

A ledger is read row by row (`LedgerReader`): a 200,000-row CSV is never held whole, and `relance import`
starts cases while it reads. The file as a whole is checked before the first row (`importers.open_source`),
so a file is refused as a whole or not at all. Cells are read as hostile: digits 0-9 only in amounts and dates
(no `1_000`, no Arabic-Indic digits, no `1E400`, `NaN` or `Infinity`), and, given today, dates in a window
around it.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.countries import country_code
from domain.history import prior_problems
from domain.invoice import MAX_AMOUNT, Invoice, amount_problem, date_problems, email_problem
from domain.money import format_eur
from domain.policy import Policy
from domain.prior import PriorHistory
from domain.script import ScriptError, parse_script
from importers import open_source
from importers.base import LedgerFileError, Record, RowError, rejected_rows
from importers.checks import address_warning, country_warning, identifier_errors, rates_error, terms_warning
from importers.columns import COLUMNS, HISTORY_COLUMNS, REQUIRED_COLUMNS, TARGETS as _TARGETS
from importers.french import in_french
from importers.mapping import NO_MAPPING, Mapping

__all__ = ["COLUMNS", "REQUIRED_COLUMNS", "LedgerFileError", "LedgerReader", "LedgerRow", "Record", "RowError",
           "read_ledger", "rejected_rows"]

_COLUMN_OF_LOC = {target: column for column, target in _TARGETS.items()}

_TRUE = {"true", "oui", "yes", "1", "vrai", "o", "y"}
_FALSE = {"false", "non", "no", "0", "faux", "n"}
# [0-9], not \d: \d also matches Arabic-Indic and other digits, which int() would read without a word.
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_FRENCH_DATE = re.compile(r"^([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})$")  # 31/01/2026, 31.01.2026, 31-01-2026
_PLAIN_AMOUNT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")  # after separators are normalized
_PLAUSIBLE_YEARS = range(1970, 2200)  # without a today to compare with (previews), still no year 9999
# Excel FR groups thousands with a (narrow) no-break space; users type plain spaces.
_NUMBER_NOISE = re.compile(r"[\s\u00a0\u202f€]")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class LedgerRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    row: int
    invoice: Invoice
    script: str = ""  # raw behaviour script of a simulated debtor, see domain.script
    prior: PriorHistory | None = None  # what happened before relance, from the history columns


def read_ledger(
    path: Path, known_policies: set[str] | None = None, route: Callable[[Invoice], str] | None = None, *,
    today: dt.date | None = None, mapping: Mapping = NO_MAPPING, policies: Mapping[str, Policy] | None = None,
) -> tuple[list[LedgerRow], list[RowError]]:
    """Good rows and the errors of bad ones, all at once (previews, simulations); `relance import` streams."""
    reader = LedgerReader(path, known_policies, route, today=today, mapping=mapping, policies=policies)
    rows = list(reader)
    return rows, reader.errors


class LedgerReader:
    """The good rows of a ledger, validated as they are read; `errors` collects the bad ones with their row,
    and the warnings (severity "warning": an unknown column, payment terms beyond the policy's) that reject
    nothing.

    The file as a whole (type, encoding, header, size) is checked when the reader is made, raising
    `LedgerFileError` before any row. A bad row is skipped, never half-imported. A row that names no policy gets
    the one `route` chooses (the rules' routing table), if given. With `today`, dates too far from it are refused
    (see `domain.invoice.date_problems`); previews and simulations, which may move a ledger's dates, pass none.
    With `policies`, payment terms longer than a row's policy expects are warned, and a row's history
    (`domain.prior`) is checked against its policy's ladder.
    """

    def __init__(self, path: Path, known_policies: set[str] | None = None,
                 route: Callable[[Invoice], str] | None = None, *, today: dt.date | None = None,
                 mapping: Mapping = NO_MAPPING, policies: Mapping[str, Policy] | None = None) -> None:
        self.path, self.known_policies, self.route, self.today = path, known_policies, route, today
        self.policies = policies or {}
        default = self.policies.get("default")  # a FEC without due dates: the customers' terms, failing the mapping's
        self._source = open_source(path, mapping,
                                   default_terms_days=default.max_payment_terms_days if default else None)
        self.rows_hint = self._source.rows_hint  # rows the file seems to hold (lines, for a CSV), for a progress bar
        self.errors: list[RowError] = [self._explained(notice) for notice in self._source.notices]
        self._started = False

    @property
    def rejected(self) -> int:
        return rejected_rows(self.errors)

    def __iter__(self) -> Iterator[LedgerRow]:
        if self._started:
            raise RuntimeError("a LedgerReader is read once")
        self._started = True
        first_row_of: dict[str, int] = {}  # invoice numbers seen: the one thing kept per row
        for row, record in self._source.records:
            if isinstance(record, RowError):
                self.errors.append(self._explained(record))
                continue
            ledger_row, row_errors = _read_row(row, record, self.known_policies, first_row_of, self.route,
                                               self.today, self.policies)
            self.errors.extend(self._explained(error) for error in row_errors)
            if ledger_row is not None:
                yield ledger_row

    def _explained(self, error: RowError) -> RowError:
        """The error with the column named as the file names it, and its French."""
        return error.model_copy(update={"label": error.label or self._source.labels.get(error.field, ""),
                                        "message_fr": error.message_fr or in_french(error.message)})


# --- rows --------------------------------------------------------------------------------------------------


def _read_row(
    row: int, record: dict[str, Any], known_policies: set[str] | None, first_row_of: dict[str, int],
    route: Callable[[Invoice], str] | None = None, today: dt.date | None = None,
    policies: Mapping[str, Policy] | None = None,
) -> tuple[LedgerRow | None, list[RowError]]:
    values, errors = _convert(row, record)
    errors += _bounds(row, values, today)
    errors += identifier_errors(row, values)
    errors += _duplicate(row, values.get("number"), first_row_of)
    script, script_errors = _script(row, values.get("script", ""))
    errors += script_errors
    invoice, invoice_errors = _invoice(row, values, skip={error.field for error in errors})
    errors += invoice_errors
    if invoice is not None and route is not None and not values.get("policy"):
        invoice = invoice.model_copy(update={"policy_id": route(invoice)})
    errors += _policy_errors(row, invoice.policy_id if invoice else values.get("policy", "default"), known_policies)
    policy = (policies or {}).get(invoice.policy_id) if invoice else None
    prior, prior_errors = _prior(row, values, invoice, policy, today, skip={error.field for error in errors})
    errors += prior_errors
    if invoice is not None and "due_date" not in {error.field for error in errors}:
        errors += rates_error(row, invoice.due_date, policy)
    if errors or invoice is None:
        return None, errors
    warnings = terms_warning(row, invoice.issue_date, invoice.due_date, policy) + address_warning(
        row, invoice.debtor.address, policy) + country_warning(row, invoice.debtor.country)
    return LedgerRow(row=row, invoice=invoice, script=script, prior=prior), warnings


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


def _prior(row: int, values: dict[str, Any], invoice: Invoice | None, policy: Policy | None, today: dt.date | None,
           skip: set[str]) -> tuple[PriorHistory | None, list[RowError]]:
    """The row's history, if its columns say any: coherent in itself, and with the invoice and its policy."""
    given = {column: values[column] for column in HISTORY_COLUMNS if column in values}
    if not given:
        return None, []
    try:
        prior = PriorHistory.model_validate(given)
    except ValidationError as error:
        errors = [_row_error(row, item) for item in error.errors()]
        return None, [e for e in errors if e.field not in skip]
    if invoice is None or policy is None:
        return prior, []
    problems = prior_problems(prior, policy, invoice.issue_date, today or dt.date.max)
    return prior, [RowError(row=row, field=field, message=why) for field, why in problems]


def _put(data: dict[str, Any], target: tuple[str, ...], value: Any) -> None:
    if len(target) == 1:
        data[target[0]] = value
    else:
        data[target[0]][target[1]] = value


def _row_error(row: int, item: Any) -> RowError:
    message = "missing" if item["type"] == "missing" else str(item["msg"]).removeprefix("Value error, ")
    loc = tuple(str(part) for part in item["loc"])
    field = (_COLUMN_OF_LOC.get(loc) or _COLUMN_OF_LOC.get(loc[:2]) or (loc[0] if loc and loc[0] in HISTORY_COLUMNS else "")
             or _mentioned_column(message))
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


def _country(text: str) -> str:
    """"Belgique", "belgium", "BEL" or "be": BE. What is no country is kept as written, in capitals, and the row
    imported with a warning (importers.checks.country_warning): a case is not refused for its postal last line."""
    try:
        return country_code(text)
    except ValueError:
        return text.upper()


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
            day, _, month, year = french.groups()
            day, month, year = int(day), int(month), int(year)
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
    "credit_limit_date": _date,
    "amount_incl_tax": _decimal,
    "amount_excl_tax": _decimal,
    "issue_date": _date,
    "due_date": _date,
    **{column: _date for column in HISTORY_COLUMNS if column.endswith("_on")},
    "paid": _decimal,
    "debtor_language": _lower,
    "debtor_country": lambda raw: _country(_text(raw)),
    "currency": _upper,
}
