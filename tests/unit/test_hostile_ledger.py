"""A ledger comes from outside: what a case cannot carry is refused at the door, with its row and column."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from domain.invoice import MAX_AMOUNT, Debtor, Invoice, amount_problem, date_problems, email_problem
from importers import csv_file, json_file
from importers.json_file import MAX_JSON_BYTES
from relance.ledger import LedgerFileError, LedgerReader, read_ledger

TODAY = dt.date(2027, 3, 15)
HEADER = "number;debtor_id;debtor_name;debtor_email;issue_date;due_date;amount_incl_tax"
GOOD_ROW = "F-1;C-1;Alpha SARL;compta@alpha.example;15/01/2027;14/03/2027;1 234,56"


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "l.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _refused(tmp_path: Path, row: str, field: str, today: dt.date | None = TODAY) -> str:
    rows, errors = read_ledger(_csv(tmp_path, row), today=today)
    assert rows == []
    assert [(e.row, e.field) for e in errors] == [(2, field)], errors
    return errors[0].message


# --- amounts -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["1E400", "1e308", "1_000", "١٢٣", "NaN", "Infinity", "-Infinity", "1e2", "۱۲۳,۴۵"])
def test_an_amount_not_written_in_plain_digits_is_refused(tmp_path, cell):
    message = _refused(tmp_path, GOOD_ROW.replace("1 234,56", cell), "amount_incl_tax")
    assert "digits 0-9 only" in message and repr(cell) in message


@pytest.mark.parametrize(("cell", "why"), [
    ("100000000,01", "more than the maximum of 100000000.00 EUR"),
    ("999999999999999999999999", "more than the maximum"),
    ("0", "must be more than 0"),
    ("-5,00", "must be more than 0"),
    ("12,345", "at most 2 decimals"),
    ("123456789012345678901234567,891", "more than the maximum"),
])
def test_an_amount_out_of_range_is_refused(tmp_path, cell, why):
    assert why in _refused(tmp_path, GOOD_ROW.replace("1 234,56", cell), "amount_incl_tax")


def test_the_maximum_itself_is_accepted(tmp_path):
    rows, errors = read_ledger(_csv(tmp_path, GOOD_ROW.replace("1 234,56", "100 000 000,00")), today=TODAY)
    assert errors == [] and rows[0].invoice.amount_incl_tax == MAX_AMOUNT


def test_amount_problem_takes_a_lower_maximum_for_a_policy_that_sets_one():
    assert amount_problem(Decimal("5000.00"), maximum=Decimal("1000.00")) == "more than the maximum of 1000.00 EUR"
    assert amount_problem(Decimal("999.99"), maximum=Decimal("1000.00")) is None
    assert amount_problem(Decimal("NaN")) == "NaN is not an amount"


@pytest.mark.parametrize("value", ["1E400", "NaN", "Infinity", 1e400])
def test_json_amounts_that_are_not_finite_or_huge_are_refused(tmp_path, value):
    item = {"number": "F-1", "debtor_id": "C-1", "debtor_name": "A", "debtor_email": "a@b.example",
            "issue_date": "2027-01-15", "due_date": "2027-03-14"}
    path = tmp_path / "l.json"
    # Bare numbers as JSON has them: 1E400, NaN and Infinity are written without quotes.
    path.write_text(json.dumps([item])[:-2] + f', "amount_incl_tax": {value if isinstance(value, str) else "1E400"}}}]')
    rows, errors = read_ledger(path, today=TODAY)
    assert rows == [] and [(e.row, e.field) for e in errors] == [(1, "amount_incl_tax")], errors


def test_a_json_integer_of_thousands_of_digits_is_a_clear_file_error(tmp_path):
    path = tmp_path / "l.json"
    path.write_text('[{"amount_incl_tax": ' + "9" * 5000 + "}]")
    with pytest.raises(LedgerFileError, match="invalid JSON"):
        read_ledger(path)


# --- dates -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("issue", "due", "field", "why"), [
    ("15/01/2027", "9999-12-31", "due_date", "not a plausible invoice date"),
    ("15/01/2027", "31/12/2032", "due_date", "more than 5 years after today (2027-03-15)"),
    ("14/03/2017", "14/04/2017", "issue_date", "more than 10 years before today (2027-03-15)"),
    ("16/03/2028", "16/04/2028", "issue_date", "more than a year after today (2027-03-15)"),
    ("١٥/٠١/٢٠٢٧", "14/03/2027", "issue_date", "digits 0-9 only"),
    ("2027-01-15", "2027-٠٣-14", "due_date", "digits 0-9 only"),
])
def test_a_date_far_from_today_or_not_in_plain_digits_is_refused(tmp_path, issue, due, field, why):
    row = GOOD_ROW.replace("15/01/2027", issue).replace("14/03/2027", due)
    assert why in _refused(tmp_path, row, field)


def test_the_window_edges_are_accepted(tmp_path):
    row = GOOD_ROW.replace("15/01/2027", "15/03/2017").replace("14/03/2027", "15/03/2032")
    rows, errors = read_ledger(_csv(tmp_path, row), today=TODAY)
    assert errors == [] and len(rows) == 1


def test_without_today_only_the_absolute_bound_applies_for_previews_that_move_dates(tmp_path):
    row = GOOD_ROW.replace("15/01/2027", "15/01/2001").replace("14/03/2027", "14/03/2001")
    rows, errors = read_ledger(_csv(tmp_path, row))
    assert errors == [] and len(rows) == 1
    assert "not a plausible" in _refused(tmp_path, GOOD_ROW.replace("14/03/2027", "31/12/9999"), "due_date", None)


def test_date_problems_is_a_pure_function_of_today():
    assert date_problems(dt.date(2027, 1, 1), dt.date(2027, 2, 1), TODAY) == []
    assert [f for f, _ in date_problems(dt.date(2000, 1, 1), dt.date(2040, 1, 1), TODAY)] == ["issue_date", "due_date"]
    assert date_problems(None, None, TODAY) == []


# --- emails ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("email", "why"), [
    ("compta\x00@alpha.example", "U+0000"),
    ("compta@alpha.example\x07", "U+0007"),
    ("compta@alpha\u200b.example", "U+200B"),
    ("compta @alpha.example", "not a valid email address"),
    ("compta@alpha\u2028.example", "U+2028"),
    ("c" * 250 + "@alpha.example", "longer than 254"),
])
def test_an_email_with_control_characters_or_spaces_is_refused(tmp_path, email, why):
    assert why in _refused(tmp_path, GOOD_ROW.replace("compta@alpha.example", email), "debtor_email")


def test_the_bounds_are_the_doors_not_the_models_so_running_cases_still_replay():
    """Every replay validates a case's Invoice again: one opened before the bounds must still load."""
    debtor = Debtor(debtor_id="D", name="N", email="a\x00b@c.example")
    invoice = Invoice(number="F-1", debtor=debtor, issue_date=dt.date(2001, 1, 1), due_date=dt.date(2040, 1, 1),
                      amount_incl_tax=Decimal("150000000.00"))
    assert Invoice.model_validate_json(invoice.model_dump_json()) == invoice
    assert email_problem(debtor.email) and amount_problem(invoice.amount_incl_tax)


def test_a_credit_limit_over_the_maximum_is_refused(tmp_path):
    header = HEADER + ";credit_limit"
    rows, errors = read_ledger(_csv(tmp_path, GOOD_ROW + ";1E400", GOOD_ROW.replace("F-1", "F-2") + ";200000000",
                                    header=header), today=TODAY)
    assert rows == [] and [(e.row, e.field) for e in errors] == [(2, "credit_limit"), (3, "credit_limit")]


# --- whole files -------------------------------------------------------------------------------------------


def test_a_json_ledger_over_the_bound_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(json_file, "MAX_JSON_BYTES", 1000)
    path = tmp_path / "l.json"
    path.write_text("[" + ",".join(["{}"] * 600) + "]")
    with pytest.raises(LedgerFileError, match="a JSON ledger is read whole, so at most 0 MB: export a larger"):
        read_ledger(path)
    assert MAX_JSON_BYTES == 16 * 2**20


def test_a_csv_line_over_the_bound_is_refused_before_any_row(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_file, "MAX_LINE_BYTES", 100)
    path = _csv(tmp_path, GOOD_ROW, GOOD_ROW.replace("F-1", "F-2").replace("Alpha SARL", "A" * 200))
    with pytest.raises(LedgerFileError, match="line 3 is longer than"):
        LedgerReader(path)


def test_a_csv_of_mixed_encodings_is_refused_before_any_row(tmp_path):
    # UTF-8 at the top, one Windows-1252 byte deep in the file: read either way, some names would be mangled.
    path = tmp_path / "l.csv"
    good = "\n".join(GOOD_ROW.replace("F-1", f"F-{n}").replace("Alpha", "Société") for n in range(30000))
    path.write_bytes(f"{HEADER}\n{good}\n".encode() + b"F-x;C-1;Caf\xe9;a@b.example;15/01/2027;14/03/2027;1\n")
    with pytest.raises(LedgerFileError, match=f"mixed encodings: UTF-8 text and a byte 0xe9 that is not .offset {len(HEADER) + 1 + len(good.encode()) + 1 + len('F-x;C-1;Caf')}"):
        LedgerReader(path)


# --- streaming ---------------------------------------------------------------------------------------------


def test_the_first_row_comes_before_the_file_is_read_whole(tmp_path, monkeypatch):
    rows = [GOOD_ROW.replace("F-1", f"F-{n}") for n in range(20000)]
    path = _csv(tmp_path, *rows)
    consumed = []
    real_records = csv_file._records

    def watched(*args):
        for record in real_records(*args):
            consumed.append(record[0])
            yield record

    monkeypatch.setattr(csv_file, "_records", watched)
    reader = LedgerReader(path, today=TODAY)
    assert reader.rows_hint == 20000
    first = next(iter(reader))
    assert first.invoice.number == "F-0" and consumed == [2], "one row read for the first row yielded"


def test_rows_are_validated_as_they_come_and_errors_carry_their_row(tmp_path):
    path = _csv(tmp_path, GOOD_ROW, GOOD_ROW.replace("F-1", "F-2").replace("1 234,56", "1E400"), GOOD_ROW)
    reader = LedgerReader(path, today=TODAY)
    numbers = []
    for row in reader:
        numbers.append((row.row, row.invoice.number, [(e.row, e.field) for e in reader.errors]))
    assert numbers == [(2, "F-1", [])]
    assert [(e.row, e.field, e.message) for e in reader.errors] == [
        (3, "amount_incl_tax", "'1E400' is not an amount such as 1234.56 or 1 234,56 (digits 0-9 only)"),
        (4, "number", "duplicate of row 2")]


def test_a_cell_over_the_csv_field_limit_is_its_rows_error_and_reading_goes_on(tmp_path):
    huge = GOOD_ROW.replace("F-1", "F-2").replace("Alpha SARL", "A" * 200_000)
    rows, errors = read_ledger(_csv(tmp_path, GOOD_ROW, huge, GOOD_ROW.replace("F-1", "F-3")), today=TODAY)
    assert [r.invoice.number for r in rows] == ["F-1", "F-3"]
    assert [e.message for e in errors] == ["unreadable: field larger than field limit (131072)"]
    assert str(errors[0]).startswith("ligne 3 : illisible")
