"""Factur-X PDFs and UBL/CII XML, made with the factur-x library as invoicing programs make them, read through
the same validation as a CSV row."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from relance.ledger import LedgerFileError, read_ledger
from tests.einvoices import cii_xml, facturx_pdf, ubl_xml


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("name", "make"), [("facture.pdf", facturx_pdf), ("facture.xml", cii_xml),
                                            ("facture-ubl.xml", ubl_xml)])
def test_an_electronic_invoice_is_one_invoice(tmp_path, name, make):
    rows, errors = read_ledger(_write(tmp_path, name, make()))
    assert errors == [] and len(rows) == 1
    invoice = rows[0].invoice
    assert (invoice.number, invoice.issue_date, invoice.due_date) == (
        "FA-2026-0401", dt.date(2026, 10, 5), dt.date(2026, 11, 4))
    assert (invoice.amount_incl_tax, invoice.amount_excl_tax) == (Decimal("864.00"), Decimal("720.00"))
    debtor = invoice.debtor
    assert (debtor.debtor_id, debtor.name, debtor.email, debtor.siren, debtor.address) == (
        "CLI-0041", "Boulangeries Martin SARL", "compta@boulangeries-martin.example", "539749960",
        "8 place Bellecour, 69002 Lyon")
    assert invoice.purchase_order == "BC-2026-014"


def test_an_amount_paid_in_advance_is_history_and_a_missing_due_date_an_error_of_its_field(tmp_path):
    rows, errors = read_ledger(_write(tmp_path, "f.pdf", facturx_pdf(prepaid="264.00")))
    assert rows[0].prior.paid == Decimal("264.00") and rows[0].prior.paid_on == dt.date(2026, 10, 5)
    rows, errors = read_ledger(_write(tmp_path, "g.xml", cii_xml(due=None)))
    assert rows == [] and str(errors[0]).startswith("ligne 1, « BT-9 (échéance) » : valeur absente")


def test_a_pdf_without_an_invoice_inside_is_refused_whole(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as out:
        writer.write(out)
    with pytest.raises(LedgerFileError, match="PDF sans facture Factur-X"):
        read_ledger(path)


def test_xml_with_entities_is_refused_before_the_library_reads_it(tmp_path):
    hostile = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
               b'<Invoice>&secret;</Invoice>')
    with pytest.raises(LedgerFileError, match="DOCTYPE"):
        read_ledger(_write(tmp_path, "f.xml", hostile))
    with pytest.raises(LedgerFileError, match="ni Factur-X/CII ni UBL valide"):
        read_ledger(_write(tmp_path, "g.xml", b"<Invoice><ID>1</ID></Invoice>"))
