"""Printed documents: a valid PDF from the same templates, with the facts in it, laid out for a window envelope."""
from __future__ import annotations

import asyncio

import pytest

from activities import printing
from activities.printing import WeasyPrinter, as_attachment, print_letter
from activities.rendering import render_document
from domain.money import format_eur
from tests.pdf import lines_on_first_page, pdf_text
from tests.unit.test_rendering import DOCUMENT_KINDS, make_context

# What a French DL window envelope always shows of a page folded in three (activities' document_base.html).
WINDOW_X, WINDOW_Y = (100.0, 190.0), (50.0, 84.0)


class InProcess:
    """The printer's layout, in this process: what the tests read back is what a worker writes."""

    def pdf_now(self, html: str) -> bytes:
        return printing.print_pdf(html)


@pytest.fixture(scope="module")
def printer() -> InProcess:
    return InProcess()


@pytest.mark.parametrize("kind", sorted(DOCUMENT_KINDS))
def test_every_printable_document_is_a_pdf_with_the_invoice_and_its_amounts(printer, kind):
    letter = make_context(kind)
    text = pdf_text(printer.pdf_now(render_document(letter)))
    assert letter.invoice.number in text and letter.creditor.name in text
    assert format_eur(letter.principal_due) in text or format_eur(letter.total_due) in text


def test_the_notice_prints_its_penalty_table_total_and_deadline(printer):
    letter = make_context("mise_en_demeure")
    text = pdf_text(printer.pdf_now(render_document(letter)))
    for line in letter.penalty_lines:
        assert format_eur(line.amount) in text
    assert format_eur(letter.total_due) in text and "31/07/2026" in text
    assert "LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION" in text


@pytest.mark.parametrize("address", ["5 avenue des Tests, 75011 Paris",
                                     "Bâtiment C, ZI des Tests, 5 avenue des Tests, BP 12, 75011 Paris"])
def test_the_debtors_address_falls_in_the_envelopes_window(printer, address):
    letter = make_context("reminder_last", debtor_name="Dupont et Fils SARL")
    letter = letter.model_copy(update={"invoice": letter.invoice.model_copy(update={
        "debtor": letter.invoice.debtor.model_copy(update={"address": address})})})
    lines = lines_on_first_page(printer.pdf_now(render_document(letter)))
    expected = ["Dupont et Fils SARL", *[part.strip() for part in address.split(",")][:-1], "75011 PARIS"]
    block = [(x, y, text) for x, y, text in lines if text in expected]
    assert [text for _, _, text in block] == expected, "one line per part, the city in capitals, in order"
    for x, y, text in block:
        assert WINDOW_X[0] <= x <= WINDOW_X[0] + 10 and WINDOW_Y[0] + 3 <= y <= WINDOW_Y[1], (text, x, y)
    others = [(x, y, text) for x, y, text in lines if (x, y, text) not in block]
    assert not [o for o in others if WINDOW_X[0] <= o[0] <= WINDOW_X[1] and WINDOW_Y[0] <= o[1] <= WINDOW_Y[1] + 3], \
        "nothing else shows through the window"


def test_an_address_abroad_ends_with_its_country(printer):
    letter = make_context("reminder_last")
    letter = letter.model_copy(update={"invoice": letter.invoice.model_copy(update={
        "debtor": letter.invoice.debtor.model_copy(update={"address": "Rue Neuve 1, 1000 Bruxelles",
                                                           "country": "BE"})})})
    texts = [text for _, _, text in lines_on_first_page(printer.pdf_now(render_document(letter)))]
    assert texts[texts.index("Rue Neuve 1"):texts.index("Rue Neuve 1") + 3] == ["Rue Neuve 1", "1000 BRUXELLES", "BELGIQUE"], \
        "the country's name in French capitals, as the Universal Postal Union asks of a letter leaving France"


def test_a_template_cannot_print_a_file_of_the_worker():
    pdf = printing.print_pdf('<p>Facture</p><img src="file:///etc/hostname"><img src="/etc/hostname">')
    assert b"/Image" not in pdf and "Facture" in pdf_text(pdf)


def test_a_letter_printed_twice_in_a_step_is_laid_out_once_in_the_printing_process():
    printer, calls = WeasyPrinter(), []
    lay_out = printer._lay_out

    async def counted(html: str) -> bytes:
        calls.append(html)
        return await lay_out(html)

    printer._lay_out = counted
    letter = make_context("mise_en_demeure")

    async def twice():
        return await print_letter(printer, letter), await print_letter(printer, letter)

    first, again = asyncio.run(twice())
    assert first == again and len(calls) == 1 and pdf_text(first) == pdf_text(printing.print_pdf(calls[0]))
    attached = as_attachment(letter, first)
    assert (attached.filename, attached.content_type) == ("mise_en_demeure-F-2026-0042.pdf", "application/pdf")


def test_a_statement_of_account_lists_the_open_items_and_goes_in_the_window(printer):
    from activities.rendering import render_statement
    from domain.debtor_account import debtor_account
    from tests.unit.test_debtor_account import AS_OF, a_status

    account = debtor_account([a_status("F-1", days_late=40), a_status("F-2", days_late=-3),
                              a_status("F-3", days_late=10, closed=True, entries=(("payment", 0, "1300.00"),))], AS_OF)
    creditor = make_context("reminder_last").creditor
    pdf = printer.pdf_now(render_statement(account, creditor, AS_OF))
    text = pdf_text(pdf)
    assert "Relevé de compte" in text and "F-1" in text and "F-2" in text
    assert format_eur(account.exposure) in text and format_eur(account.total_due) in text
    assert format_eur(account.unapplied) in text, "the money on account is set against the total"
    window = [(x, y) for x, y, t in lines_on_first_page(pdf) if t == "Dupont SARL"]
    assert window and all(WINDOW_X[0] <= x <= WINDOW_X[1] and WINDOW_Y[0] <= y <= WINDOW_Y[1] for x, y in window)


def test_an_english_speaking_customer_gets_its_statement_and_its_notice_in_english_in_the_window(printer):
    from activities.rendering import render_statement
    from domain.debtor_account import debtor_account
    from tests.unit.test_debtor_account import AS_OF, a_status

    statuses = [a_status("F-1", days_late=40), a_status("F-2", days_late=-3)]
    statuses = [s.model_copy(update={"invoice": s.invoice.model_copy(update={
        "debtor": s.invoice.debtor.model_copy(update={"language": "en", "address": "1 High Street, London EC1A 1BB",
                                                      "country": "GB"})})}) for s in statuses]
    account = debtor_account(statuses, AS_OF)
    text = pdf_text(printer.pdf_now(render_statement(account, make_context("reminder_last").creditor, AS_OF)))
    assert "Statement of account" in text and "Aged balance" in text and "not due" in text and "40 d" in text
    assert "Relevé" not in text and "Échéance" not in text
    notice = make_context("mise_en_demeure", language="en")
    pdf = printer.pdf_now(render_document(notice))
    assert "REGISTERED LETTER WITH ACKNOWLEDGMENT OF RECEIPT" in pdf_text(pdf)
    assert format_eur(notice.total_due) in pdf_text(pdf) and "formal notice to pay" in pdf_text(pdf)
    window = [(x, y) for x, y, t in lines_on_first_page(pdf) if t == "Dupont & <Fils>"]
    assert window and all(WINDOW_X[0] <= x <= WINDOW_X[1] and WINDOW_Y[0] <= y <= WINDOW_Y[1] for x, y in window)


def test_the_number_of_printing_processes_comes_from_the_environment(monkeypatch):
    from activities import printing
    from relance.config import from_env

    monkeypatch.setenv("RELANCE_PRINT_PROCESSES", "2")
    assert from_env().worker.print_processes == 2
    monkeypatch.delenv("RELANCE_PRINT_PROCESSES")
    assert from_env().worker.print_processes == 1
    with pytest.raises(ValueError, match="RELANCE_PRINT_PROCESSES must be 1 or more"):
        printing.configure(0)
    printing.configure(1)  # the suite's size: the pool it already has stays
    assert printing._printing_process()._max_workers == 1
