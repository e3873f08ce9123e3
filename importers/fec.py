"""The FEC (fichier des écritures comptables, article A47 A-1 of the Livre des procédures fiscales): the export
every French accounting program must produce, one line per line of each journal entry.

Its 18 columns, in this order, separated by a tab or a "|": JournalCode, JournalLib, EcritureNum, EcritureDate,
CompteNum, CompteLib, CompAuxNum, CompAuxLib, PieceRef, PieceDate, EcritureLib, Debit, Credit, EcritureLet,
DateLet, ValidDate, Montantdevise, Idevise. Dates are YYYYMMDD, amounts use a decimal comma.

An open customer item is a customer-account line (411…) not yet lettered (EcritureLet empty): the invoice's
receivable still waiting for its payment. A lettered one was matched with its payment: it is read as paid on
its DateLet (history), so that a first import opens no case for it and a sync closes the case it has. The lines of one document (PieceRef, per customer) make one invoice:
its amount incl. tax is their debit less their credit, its amount excl. tax the revenue lines (class 7) of the
same entry. The due date is the line's EcheanceDate when the export adds that column, otherwise the piece date
plus the customer's terms (`payment_terms_days` of the mapping, or the policy's). A FEC names no email: the
customers come from the mapping's `customers` file (a CSV with Code client, Email, SIREN, Adresse...).

Read as a stream: the lines of one entry are contiguous in a FEC, so one entry is held at a time, and memory
stays bounded however long the year's file is.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from importers.base import Record, RowError, Source, file_error
from importers.columns import normalize
from importers.csv_file import MAX_LINE_BYTES, open_csv, scan
from importers.mapping import NO_MAPPING, Mapping

FEC_COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
               "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
               "ValidDate", "Montantdevise", "Idevise")
_DUE = ("echeancedate", "dateecheance", "echeance")  # not in A47 A-1, added by some programs
_CUSTOMER_ACCOUNT = "411"
_REVENUE_CLASS = "7"
_FEC_DATE = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
_HEADER_ROW = 1


def is_fec(path: Path) -> bool:
    """A FEC by its first line: the 18 column names, whatever the file is called (SIRENFECYYYYMMDD.txt)."""
    try:
        with path.open("rb") as file:
            first = file.readline(MAX_LINE_BYTES).decode("latin-1")
    except OSError:
        return False
    names = [normalize(name) for name in re.split(r"[\t|;]", first.strip())]
    return names[:3] == ["journalcode", "journallib", "ecriturenum"]


@dataclasses.dataclass
class _Item:
    """The open lines of one document of one customer, within one entry."""

    row: int
    piece: str
    customer: str
    name: str
    issued: str
    due: str = ""
    debit: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    lettered_on: str = ""  # DateLet: matched with its payment in the accounting, so paid on that day


def open_fec(path: Path, mapping: Mapping = NO_MAPPING, default_terms_days: int | None = None) -> Source:
    encoding, rows_hint = scan(path, mapping.encoding)
    with path.open(encoding=encoding, newline="") as file:
        first = file.readline(MAX_LINE_BYTES)
    delimiter = "\t" if first.count("\t") >= first.count("|") else "|"
    header = [normalize(name).replace(" ", "") for name in first.rstrip("\r\n").split(delimiter)]
    missing = [name for name in FEC_COLUMNS if name.lower() not in header]
    if missing:
        raise file_error(path, f"FEC incomplet : colonne(s) absente(s) {', '.join(missing)} (article A47 A-1 du LPF)",
                         f"incomplete FEC: column(s) missing {', '.join(missing)}")
    customers = load_customers(mapping)
    terms = mapping.payment_terms_days or default_terms_days
    records = _records(path, encoding, delimiter, header, customers, terms, mapping.defaults)
    return Source(records=records, rows_hint=rows_hint, notices=[], labels={
        "number": "PieceRef", "issue_date": "PieceDate", "due_date": "EcheanceDate", "debtor_id": "CompAuxNum",
        "debtor_name": "CompAuxLib", "amount_incl_tax": "Debit", "debtor_email": "Email (fichier clients)"})


def load_customers(mapping: Mapping) -> dict[str, dict[str, Any]]:
    """The mapping's customers file, by customer code: what the FEC does not say (email, SIREN, address)."""
    if mapping.customers is None:
        return {}
    source = open_csv(mapping.customers, NO_MAPPING, required=("debtor_id", "debtor_email"))
    customers: dict[str, dict[str, Any]] = {}
    for row, record in source.records:
        if isinstance(record, dict) and record.get("debtor_id", "").strip():
            customers[record["debtor_id"].strip()] = {k: v for k, v in record.items() if k.startswith("debtor_")
                                                      or k in ("insured", "credit_limit")}
    return customers


def _records(path: Path, encoding: str, delimiter: str, header: list[str], customers: dict[str, dict[str, Any]],
             terms: int | None, defaults: dict[str, str]) -> Iterator[Record]:
    index = {name: header.index(name.lower()) for name in FEC_COLUMNS}
    due_column = next((header.index(name) for name in _DUE if name in header), None)
    with path.open(encoding=encoding, newline="") as file:
        reader = csv.reader(file, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        next(reader)
        entry_key, items, revenue, row = None, {}, Decimal("0"), _HEADER_ROW
        for cells in reader:
            row += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) < len(FEC_COLUMNS):
                yield row, RowError(row=row, field="", message=f"{len(cells)} cells for {len(header)} columns",
                                    message_fr=f"{len(cells)} cellules pour {len(header)} colonnes")
                continue
            cell = {name: cells[i].strip() for name, i in index.items()}
            key = (cell["JournalCode"], cell["EcritureNum"])
            if key != entry_key:
                yield from _invoices(items, revenue, customers, terms, defaults)
                entry_key, items, revenue = key, {}, Decimal("0")
            try:
                debit, credit = _amount(cell["Debit"]), _amount(cell["Credit"])
            except ValueError as error:
                yield row, RowError(row=row, field="amount_incl_tax", message=str(error),
                                    message_fr=f"montant illisible : {error}")
                continue
            account = cell["CompteNum"]
            if account.startswith(_REVENUE_CLASS):
                revenue += credit - debit
            if not account.startswith(_CUSTOMER_ACCOUNT):
                continue
            customer = cell["CompAuxNum"] or account  # without auxiliary accounts, one 411 account per customer
            item = items.setdefault((cell["PieceRef"], customer), _Item(
                row=row, piece=cell["PieceRef"], customer=customer, name=cell["CompAuxLib"] or cell["CompteLib"],
                issued=_fec_date(cell["PieceDate"] or cell["EcritureDate"]),
                due=_fec_date(cells[due_column].strip()) if due_column is not None and due_column < len(cells) else ""))
            item.debit += debit
            item.credit += credit
            if cell["EcritureLet"]:
                item.lettered_on = _fec_date(cell["DateLet"] or cell["EcritureDate"])
        yield from _invoices(items, revenue, customers, terms, defaults)


def _invoices(items: dict, revenue: Decimal, customers: dict[str, dict[str, Any]], terms: int | None,
              defaults: dict[str, str]) -> Iterator[Record]:
    receivables = [item for item in items.values() if item.debit > item.credit]
    for item in items.values():
        if item.debit <= item.credit and not item.lettered_on:  # a payment or credit note not lettered yet
            yield item.row, RowError(
                row=item.row, field="", severity="warning",
                message=f"unlettered credit of {item.credit - item.debit} on {item.customer} ({item.piece}), not imported",
                message_fr=f"crédit non lettré de {item.credit - item.debit} sur {item.customer} ({item.piece}) :"
                           " règlement ou avoir à lettrer, non importé")
    for item in receivables:
        record: dict[str, Any] = {**defaults, "number": item.piece, "debtor_id": item.customer,
                                  "debtor_name": item.name, "issue_date": item.issued,
                                  "amount_incl_tax": str(item.debit - item.credit)}
        # The revenue of an entry is one invoice's when the entry holds one receivable: its amount excl. tax.
        if len(receivables) == 1 and 0 < revenue <= item.debit - item.credit:
            record["amount_excl_tax"] = str(revenue)
        record["due_date"] = item.due or _plus_days(item.issued, terms)
        if item.lettered_on:  # paid: a first import opens no case for it, a sync closes the case it has
            record.update(paid=record["amount_incl_tax"], paid_on=item.lettered_on)
        record.update(customers.get(item.customer, {}))
        record.setdefault("debtor_name", item.name)
        yield item.row, record


def _amount(text: str) -> Decimal:
    if not text:
        return Decimal("0")
    cleaned = text.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]{1,2})?", cleaned):
        raise ValueError(f"{text!r} is not an amount")
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern above lets only numbers through
        raise ValueError(f"{text!r} is not an amount") from None


def _fec_date(text: str) -> str:
    """YYYYMMDD as the ledger reads dates (YYYY-MM-DD); anything else is left for the ledger to refuse."""
    match = _FEC_DATE.match(text)
    return f"{match[1]}-{match[2]}-{match[3]}" if match else text


def _plus_days(iso: str, days: int | None) -> str:
    if days is None:
        return ""  # "missing": the row's error says to give EcheanceDate or payment_terms_days
    try:
        return (dt.date.fromisoformat(iso) + dt.timedelta(days=days)).isoformat()
    except ValueError:
        return ""
