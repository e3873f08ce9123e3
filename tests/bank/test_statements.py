"""Statements as banks deliver them: camt.053 valid against the ISO 20022 schema, CFONB 120 to the byte."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from bank import cfonb120
from bank.entries import StatementError
from bank.statements import read_statement
from relance.config import ROOT
from tests.bank.writers import Line, camt053, cfonb120 as write_cfonb

XSD = Path(__file__).with_name("camt.053.001.02.xsd")

LINES = [
    Line("ACSR-0001", Decimal("2940.00"), name="Fromagerie Vasseur SAS", iban="FR7617569000301234567890143",
         text="REGLEMENT FACTURE FA 2026 301", e2e="E2E-VASSEUR-1"),
    Line("ACSR-0002", Decimal("13500.00"), name="Northbridge Components Ltd", rf="RF47FA20260302"),
    Line("ACSR-0003", Decimal("12.40"), credit=False, code=("PMNT", "CCRD", "CHRG"), text="FRAIS TENUE DE COMPTE"),
    Line("ACSR-0004", Decimal("500.00"), credit=False, code=("PMNT", "RCHQ", "UPCQ"), name="Bati Ouest",
         return_reason="AM04", text="CHEQUE IMPAYE 1234567"),
    Line("ACSR-0005", Decimal("1.05"), code=("ACMT", "MDOP", "INTR"), text="INTERETS CREDITEURS"),
]


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def test_the_camt053_written_for_the_tests_and_the_example_are_valid_iso_20022(tmp_path):
    validator = schema()
    for text in (camt053(LINES), (ROOT / "examples" / "bank" / "releve-2026-07-06.camt053.xml").read_text()):
        document = etree.fromstring(text.encode())
        assert validator.validate(document), validator.error_log


def test_camt053_entries_come_out_with_their_reference_payer_remittance_and_kind(tmp_path):
    path = tmp_path / "stmt.xml"
    path.write_text(camt053(LINES))
    entries = {e.ref: e for e in read_statement(path)}
    first = entries["ACSR-0001"]
    assert (first.kind, first.amount, first.name, first.iban, first.end_to_end) == (
        "credit", Decimal("2940.00"), "Fromagerie Vasseur SAS", "FR7617569000301234567890143", "E2E-VASSEUR-1")
    assert first.remittance == "REGLEMENT FACTURE FA 2026 301" and first.creditor_reference == ""
    assert entries["ACSR-0002"].creditor_reference == "RF47FA20260302"
    assert [entries[r].kind for r in ("ACSR-0003", "ACSR-0004", "ACSR-0005")] == ["fee", "return", "other"]
    assert entries["ACSR-0004"].return_reason == "AM04" and first.return_reason == ""
    assert first.booked_on == first.value_on == dt.date(2027, 3, 10)


def test_a_camt053_that_is_not_xml_is_refused_in_french(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<Document><BkToCstmrStmt>")
    with pytest.raises(StatementError, match="illisible"):
        read_statement(path)


def test_cfonb120_records_are_120_characters_and_read_back_the_same(tmp_path):
    text = write_cfonb(LINES[:4])
    assert all(len(line) == 120 for line in text.split("\r\n") if line)
    assert [line[:2] for line in text.split("\r\n") if line][:3] == ["01", "04", "05"]
    path = tmp_path / "releve.txt"
    path.write_text(text, encoding="ascii")
    entries = read_statement(path)
    assert [(e.kind, e.amount) for e in entries] == [("credit", Decimal("2940.00")), ("credit", Decimal("13500.00")),
                                                    ("fee", Decimal("12.40")), ("return", Decimal("500.00"))]
    first = entries[0]
    assert first.name == "Fromagerie Vasseur SAS" and first.iban == "FR7617569000301234567890143"
    assert "FA 2026 301" in first.remittance and first.end_to_end == "E2E-VASSEUR-1"
    assert entries[1].creditor_reference == "RF47FA20260302" and entries[3].return_reason == "AM"
    assert len({e.ref for e in entries}) == 4


def test_cfonb120_amounts_carry_their_sign_in_the_last_character():
    assert cfonb120.write_amount(Decimal("1904.00")) == "0000000019040{"
    assert cfonb120.write_amount(Decimal("-24.12")) == "0000000000241K"
    line = "07" + " " * 17 + "2" + " " * 70 + "0000000002412J" + " " * 16
    assert cfonb120._amount(line, "x") == Decimal("-241.21")


def test_a_cfonb120_file_cut_short_or_whose_balances_disagree_is_refused(tmp_path):
    lines = write_cfonb(LINES[:2]).split("\r\n")
    cut = tmp_path / "cut.txt"
    cut.write_text("\r\n".join(lines[:-2]))
    with pytest.raises(StatementError, match="tronqué"):
        read_statement(cut)
    altered = tmp_path / "altered.txt"
    lines[1] = lines[1][:95] + "9" + lines[1][96:]
    altered.write_text("\r\n".join(lines))
    with pytest.raises(StatementError, match="nouveau solde"):
        read_statement(altered)


def test_the_cfonb120_example_reads():
    entries = read_statement(ROOT / "examples" / "bank" / "releve-2026-07-13.cfonb120.txt")
    assert entries and all(e.amount > 0 for e in entries)


def test_a_return_reason_reads_as_ops_act_on_it():
    from bank.return_reasons import describe

    assert describe("AM04") == "AM04, provision insuffisante"
    assert describe("md06") == "MD06, remboursement demandé par le client (prélèvement contesté)"
    assert describe("AC") == "AC, compte du client (clôturé, bloqué ou erroné)", "CFONB 120's two letters"
    assert describe("ZZ99") == "ZZ99" and describe("") == ""
