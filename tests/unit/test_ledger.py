import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from domain.script import parse_script
from relance.ledger import LedgerFileError, RowError, read_ledger

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

HEADER = "number;debtor_id;debtor_name;debtor_email;issue_date;due_date;amount_incl_tax"
GOOD_ROW = "F-1;C-1;Alpha SARL;compta@alpha.example;15/01/2026;14/03/2026;1 234,56"


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def _errors(errors: list[RowError]) -> list[tuple[int, str]]:
    return [(e.row, e.field) for e in errors]


# --- the example files -------------------------------------------------------------------------------------


def test_example_ledger_reads_without_errors():
    rows, errors = read_ledger(EXAMPLES / "ledger.csv", known_policies={"default"})
    assert errors == []
    assert len(rows) == 18
    assert [r.row for r in rows] == list(range(2, 20))
    assert len({r.invoice.number for r in rows}) == 18
    customers = [r.invoice.debtor.debtor_id for r in rows]
    assert {d for d in customers if customers.count(d) > 1} == {"CLI-0170", "CLI-0185"}, "customers with several invoices"
    assert {r.invoice.debtor.language for r in rows} == {"fr", "en"}
    for row in rows:
        assert row.script and parse_script(row.script)
        assert 30 <= (row.invoice.due_date - row.invoice.issue_date).days <= 60
        assert len(row.invoice.debtor.siren) == 9 and row.invoice.debtor.siren.isdigit()


def test_example_ledger_insured_debtor_has_the_insurer_fields():
    rows, _ = read_ledger(EXAMPLES / "ledger.csv")
    [insured] = [r.invoice for r in rows if r.invoice.debtor.insured and r.invoice.debtor.debtor_id == "CLI-0121"]
    assert all(r.invoice.debtor.credit_limit and r.invoice.amount_excl_tax for r in rows if r.invoice.debtor.insured)
    assert insured.debtor.credit_limit == Decimal("50000.00")
    assert insured.amount_excl_tax == Decimal("32000.00")


def test_example_json_reads_without_errors():
    rows, errors = read_ledger(EXAMPLES / "invoices.json", known_policies={"default"})
    assert errors == []
    assert [r.row for r in rows] == [1, 2, 3]
    assert all(r.script == "" for r in rows)


def test_bad_example_keeps_good_rows_and_reports_bad_ones():
    rows, errors = read_ledger(EXAMPLES / "bad_invoices.csv")
    assert [r.row for r in rows] == [2, 6]
    assert _errors(errors) == [
        (3, "due_date"),
        (4, "amount_incl_tax"),
        (4, "amount_excl_tax"),
        (5, "debtor_email"),
    ]
    assert str(errors[0]) == "ligne 3, « due_date » : valeur absente / row 3, due_date: missing"


# --- CSV dialects ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ","])
def test_both_delimiters(tmp_path, delimiter):
    text = f"{HEADER}\n{GOOD_ROW}\n".replace(";", delimiter).replace("1 234,56", '"1 234,56"')
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text))
    assert errors == []
    assert rows[0].invoice.amount_incl_tax == Decimal("1234.56")


def test_bom_and_crlf(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(f"{HEADER}\r\n{GOOD_ROW}\r\n".encode("utf-8-sig"))
    rows, errors = read_ledger(path)
    assert errors == [] and len(rows) == 1


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234,56", "1234.56"),
        ("1234,5", "1234.5"),
        ("1234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1 234,56 €", "1234.56"),
        ("800", "800"),
    ],
)
def test_french_and_plain_decimals(tmp_path, cell, expected):
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER}\n{GOOD_ROW.replace('1 234,56', cell)}\n"))
    assert errors == []
    assert rows[0].invoice.amount_incl_tax == Decimal(expected)


@pytest.mark.parametrize("cell", ["12,34,56", "douze", "12.345"])
def test_bad_amounts_are_reported(tmp_path, cell):
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER}\n{GOOD_ROW.replace('1 234,56', cell)}\n"))
    assert rows == []
    assert _errors(errors) == [(2, "amount_incl_tax")]


@pytest.mark.parametrize(
    ("issue", "due"),
    [("15/01/2026", "14/03/2026"), ("2026-01-15", "2026-03-14"), ("15/1/2026", "2026-03-14")],
)
def test_french_and_iso_dates(tmp_path, issue, due):
    row = GOOD_ROW.replace("15/01/2026", issue).replace("14/03/2026", due)
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER}\n{row}\n"))
    assert errors == []
    assert (rows[0].invoice.issue_date, rows[0].invoice.due_date) == (dt.date(2026, 1, 15), dt.date(2026, 3, 14))


@pytest.mark.parametrize(("cell", "why"), [("31/02/2026", "not a calendar date"), ("03-14-2026", "not a calendar date"),
                                         ("2026/03/14", "YYYY-MM-DD")])
def test_bad_dates_are_reported(tmp_path, cell, why):
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER}\n{GOOD_ROW.replace('14/03/2026', cell)}\n"))
    assert rows == []
    assert _errors(errors) == [(2, "due_date")]
    assert why in errors[0].message


@pytest.mark.parametrize(
    ("cell", "insured"),
    [("oui", True), ("Non", False), ("true", True), ("FALSE", False), ("1", True), ("0", False),
     ("yes", True), ("no", False), ("", False)],
)  # fmt: skip
def test_insured_words(tmp_path, cell, insured):
    text = f"{HEADER};insured;amount_excl_tax\n{GOOD_ROW};{cell};1000,00\n"
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text))
    assert errors == []
    assert rows[0].invoice.debtor.insured is insured


def test_insured_nonsense_is_reported(tmp_path):
    text = f"{HEADER};insured;amount_excl_tax\n{GOOD_ROW};peut-être;1000,00\n"
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text))
    assert rows == [] and _errors(errors) == [(2, "insured")]


def test_all_columns_map_to_the_invoice(tmp_path):
    header = (
        "number;debtor_id;debtor_name;debtor_email;debtor_language;debtor_siren;debtor_address;debtor_country;"
        "debtor_segment;insured;credit_limit;credit_limit_date;issue_date;due_date;amount_incl_tax;amount_excl_tax;currency;policy;"
        "purchase_order;delivery_proof;script"
    )
    row = (
        "F-9;C-9;Beta SA;ap@beta.example;EN;123456782;1 rue B, 75001 Paris;fr;industrie;oui;20 000;15/01/2026;"
        "01/02/2026;03/03/2026;1 200,00;1 000,00;eur;special;PO-1;BL-1;+3 pay full"
    )
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{header}\n{row}\n"), known_policies={"special"})
    assert errors == []
    invoice = rows[0].invoice
    assert invoice.debtor.model_dump() == {
        "debtor_id": "C-9", "name": "Beta SA", "email": "ap@beta.example", "language": "en",
        "siren": "123456782", "address": "1 rue B, 75001 Paris", "country": "FR", "segment": "industrie",
        "insured": True, "credit_limit": Decimal("20000"), "credit_limit_on": dt.date(2026, 1, 15),
    }  # fmt: skip
    assert (invoice.policy_id, invoice.currency, invoice.purchase_order, invoice.delivery_proof) == (
        "special", "EUR", "PO-1", "BL-1",
    )  # fmt: skip
    assert invoice.amount_excl_tax == Decimal("1000.00")
    assert rows[0].script == "+3 pay full"


def test_a_debtors_country_is_read_from_its_code_or_its_name_and_an_unknown_one_is_said(tmp_path):
    header = f"{HEADER};debtor_country"
    written = ["be", "Belgique", "BEL", "Pays-Bas", "Germany", "Côte d'Ivoire", "Russie", "UK", "La Réunion",
               "Deutschland", "N/A", "Belgiq"]
    rows = [GOOD_ROW.replace("F-1", f"F-{n}") + f";{country}" for n, country in enumerate(written)]
    read, said = read_ledger(_write(tmp_path, "l.csv", header + "\n" + "\n".join(rows) + "\n"))
    assert [r.invoice.debtor.country for r in read] == ["BE", "BE", "BE", "NL", "DE", "CI", "RU", "GB", "RE", "DE",
                                                        "N/A", "BELGIQ"], "no row refused for its country"
    assert [(e.row, e.field, e.severity) for e in said] == [(12, "debtor_country", "warning"),
                                                           (13, "debtor_country", "warning")], "N/A is not Namibia"
    assert "« BELGIQ » n'est pas un pays connu" in said[1].message_fr


def test_a_country_a_json_ledger_gives_as_a_number_or_a_list_is_said_not_a_crash(tmp_path):
    path = tmp_path / "l.json"
    path.write_text(json.dumps([{"number": f"F-{n}", "debtor_id": "C-1", "debtor_name": "Alpha", "debtor_email":
                                 "a@alpha.example", "issue_date": "2026-01-15", "due_date": "2026-03-14",
                                 "amount_incl_tax": "100.00", "debtor_country": country} for n, country in enumerate((32, ["BE"]))]),
                    encoding="utf-8")
    rows, said = read_ledger(path)
    assert [r.invoice.debtor.country for r in rows] == ["32"] and [(e.row, e.severity) for e in said] == [
        (1, "warning"), (2, "error")], said


# --- row-level problems ------------------------------------------------------------------------------------


def test_duplicate_number_keeps_the_first(tmp_path):
    other = GOOD_ROW.replace("C-1;Alpha SARL", "C-2;Gamma SAS")
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER}\n{GOOD_ROW}\n{other}\n"))
    assert [r.row for r in rows] == [2]
    assert _errors(errors) == [(3, "number")]
    assert str(errors[0]) == "ligne 3, « number » : doublon de la ligne 2 / row 3, number: duplicate of row 2"


def test_unknown_policy(tmp_path):
    lines = [f"{HEADER};policy", f"{GOOD_ROW};default", f"{GOOD_ROW.replace('F-1', 'F-2')};vip",
             f"{GOOD_ROW.replace('F-1', 'F-3')};"]  # a blank policy is "default"
    text = "\n".join(lines) + "\n"
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text), known_policies={"default"})
    assert [r.row for r in rows] == [2, 4]
    assert _errors(errors) == [(3, "policy")]
    assert "'vip'" in errors[0].message


def test_policies_are_not_checked_without_a_known_set(tmp_path):
    text = f"{HEADER};policy\n{GOOD_ROW};vip\n"
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text))
    assert errors == [] and rows[0].invoice.policy_id == "vip"


def test_invoice_level_error_names_a_column(tmp_path):
    row = GOOD_ROW.replace("14/03/2026", "01/01/2026")
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER}\n{row}\n"))
    assert [(e.row, e.field, e.message) for e in errors] == [(2, "due_date", "due_date is before issue_date")]


def test_insured_without_amount_excl_tax_names_that_column(tmp_path):
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER};insured\n{GOOD_ROW};oui\n"))
    assert _errors(errors) == [(2, "amount_excl_tax")]


def test_bad_script_is_reported_with_its_row(tmp_path):
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER};script\n{GOOD_ROW};+3 pay everything\n"))
    assert rows == [] and _errors(errors) == [(2, "script")]
    assert "+3 pay everything" in errors[0].message


def test_unknown_columns_are_reported_once_and_ignored(tmp_path):
    text = f"{HEADER};colour;notes\n{GOOD_ROW};blue;x\n{GOOD_ROW.replace('F-1', 'F-2')};red;y\n"
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text))
    assert len(rows) == 2
    assert [(e.row, e.field, e.message) for e in errors] == [
        (1, "colour", "unknown column, ignored"),
        (1, "notes", "unknown column, ignored"),
    ]


def test_blank_lines_are_skipped_but_still_counted(tmp_path):
    text = f"{HEADER}\n;;;;;;\n\n{GOOD_ROW}\n"
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text))
    assert errors == [] and [r.row for r in rows] == [4]


def test_a_row_with_extra_cells_is_rejected(tmp_path):
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER}\n{GOOD_ROW};surprise\n"))
    assert rows == [] and _errors(errors) == [(2, "")]


def test_missing_trailing_cells_are_blank(tmp_path):
    text = f"{HEADER};script\n{GOOD_ROW}\n"
    rows, errors = read_ledger(_write(tmp_path, "l.csv", text))
    assert errors == [] and rows[0].script == ""


# --- JSON --------------------------------------------------------------------------------------------------


def _invoice_json(number: str, **extra: object) -> dict:
    return {
        "number": number, "debtor_id": "C-1", "debtor_name": "Alpha", "debtor_email": "a@alpha.example",
        "issue_date": "2026-01-15", "due_date": "15/02/2026", "amount_incl_tax": 1200.5, **extra,
    }  # fmt: skip


def test_json_list_and_wrapped_list(tmp_path):
    items = [_invoice_json("F-1"), _invoice_json("F-2", insured=True, amount_excl_tax="1 000,42")]
    for data in (items, {"invoices": items}):
        rows, errors = read_ledger(_write(tmp_path, "l.json", json.dumps(data)))
        assert errors == []
        assert [r.invoice.amount_incl_tax for r in rows] == [Decimal("1200.5"), Decimal("1200.5")]
        assert rows[1].invoice.amount_excl_tax == Decimal("1000.42")


def test_json_rows_are_positions_in_the_list(tmp_path):
    items = [_invoice_json("F-1"), "oops", _invoice_json("F-3", debtor_email="nope"), _invoice_json("F-1")]
    rows, errors = read_ledger(_write(tmp_path, "l.json", json.dumps(items)))
    assert [r.row for r in rows] == [1]
    assert _errors(errors) == [(2, ""), (3, "debtor_email"), (4, "number")]


def test_json_accepts_the_nested_shape_of_an_exported_invoice(tmp_path):
    rows, _ = read_ledger(EXAMPLES / "ledger.csv")
    exported = [r.invoice.model_dump(mode="json") for r in rows]
    back, errors = read_ledger(_write(tmp_path, "l.json", json.dumps(exported)))
    assert errors == []
    assert [r.invoice for r in back] == [r.invoice for r in rows]


def test_json_unknown_keys_reported_once(tmp_path):
    items = [_invoice_json("F-1", colour="blue"), _invoice_json("F-2", colour="red")]
    rows, errors = read_ledger(_write(tmp_path, "l.json", json.dumps(items)))
    assert len(rows) == 2
    assert [(e.row, e.field) for e in errors] == [(1, "colour")]


# --- unreadable files --------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(LedgerFileError, match="no such file"):
        read_ledger(tmp_path / "absent.csv")


def test_unsupported_extension(tmp_path):
    with pytest.raises(LedgerFileError, match="expected .csv or .json"):
        read_ledger(_write(tmp_path, "l.xlsx", "whatever"))


def test_bad_json(tmp_path):
    with pytest.raises(LedgerFileError, match="invalid JSON at line 2"):
        read_ledger(_write(tmp_path, "l.json", '[\n{"number": }]'))


def test_json_of_the_wrong_shape(tmp_path):
    with pytest.raises(LedgerFileError, match="expected a list"):
        read_ledger(_write(tmp_path, "l.json", '{"rows": []}'))


def test_csv_without_required_columns(tmp_path):
    with pytest.raises(LedgerFileError, match="due_date"):
        read_ledger(_write(tmp_path, "l.csv", "number;debtor_id;debtor_name;debtor_email;issue_date;amount_incl_tax\n"))


def test_empty_csv(tmp_path):
    with pytest.raises(LedgerFileError, match="empty"):
        read_ledger(_write(tmp_path, "l.csv", ""))


def test_csv_in_windows_1252_is_read_as_such(tmp_path):
    path = _write(tmp_path, "l.csv", f"{HEADER}\n{GOOD_ROW.replace('Alpha', 'Société')}\n", encoding="cp1252")
    rows, errors = read_ledger(path)
    assert errors == [] and rows[0].invoice.debtor.name == "Société SARL"


def test_csv_neither_utf8_nor_windows_1252_is_refused(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(f"{HEADER}\n".encode() + GOOD_ROW.replace("Alpha", "Soci\x81t\xe9").encode("latin-1") + b"\n")
    with pytest.raises(LedgerFileError, match="ni UTF-8 ni Windows-1252 .* neither UTF-8 nor Windows-1252 .byte 0x81"):
        read_ledger(path)


def test_policy_id_header_is_read_as_policy(tmp_path):
    rows, errors = read_ledger(_write(tmp_path, "l.csv", f"{HEADER};Policy_ID\n{GOOD_ROW};vip\n"), {"default"})
    assert rows == [] and _errors(errors) == [(2, "policy")]


def test_an_invoice_older_than_its_policys_rates_is_refused_naming_the_half_year(tmp_path):
    """Its penalties could not be computed (the case would fail at its first figure): said at the door."""
    from domain.rule_file import load_policy_file
    from relance.config import ROOT

    policy = load_policy_file(ROOT / "rules" / "default.yaml")
    first = policy.penalties.ecb_rates[0].effective
    due = first - dt.timedelta(days=10)
    row = (f"OLD-1;C-1;Alpha SARL;compta@alpha.example;{due - dt.timedelta(days=30):%d/%m/%Y};{due:%d/%m/%Y};"
           "1 234,56")
    path = _write(tmp_path, "old.csv", "\n".join([HEADER, row, GOOD_ROW]) + "\n")
    rows, errors = read_ledger(path, known_policies={"default"}, policies={"default": policy})
    assert [r.invoice.number for r in rows] == ["F-1"]
    [error] = [e for e in errors if e.severity == "error"]
    assert (error.row, error.field) == (2, "due_date")
    assert f"semestre commençant le {due.replace(day=1, month=7 if due.month >= 7 else 1):%d/%m/%Y}" in str(error)


def test_a_missing_address_is_imported_with_a_warning_said_once_for_many_rows(tmp_path):
    from importers.base import said

    rows_text = [f"F-{n};C-{n};Alpha SARL;compta@alpha.example;15/01/2026;14/03/2026;1 234,56" for n in range(1, 9)]
    path = _write(tmp_path, "no_address.csv", "\n".join([HEADER, *rows_text]) + "\n")
    from domain.rule_file import load_policy_file
    from relance.config import ROOT

    rows, errors = read_ledger(path, known_policies={"default"},
                               policies={"default": load_policy_file(ROOT / "rules" / "default.yaml")})
    assert len(rows) == 8 and {(e.field, e.severity) for e in errors} == {("debtor_address", "warning")}
    [line] = said(errors)
    assert line.startswith("lignes 2, 3, 4, 5, 6 et 3 autres, « debtor_address » : adresse du débiteur absente")
    assert "/ rows 2, 3, 4, 5, 6 and 3 more, debtor_address: no debtor address" in line


def test_an_excel_unicode_text_export_utf16_with_tabs_is_read(tmp_path):
    text = "\r\n".join(["N° facture\tCode client\tClient\tEmail\tDate facture\tDate d'échéance\tMontant TTC",
                        "U-1\tC-1\tSociété Été\tcompta@ete.example\t15/01/2026\t14/03/2026\t1 234,56", ""])
    path = tmp_path / "unicode.txt.csv"
    path.write_bytes(text.encode("utf-16"))  # with its BOM, as Excel writes it
    rows, errors = read_ledger(path, known_policies={"default"})
    assert [e for e in errors if e.severity == "error"] == []
    assert [(r.invoice.number, r.invoice.debtor.name, r.invoice.amount_incl_tax) for r in rows] == [
        ("U-1", "Société Été", Decimal("1234.56"))]
