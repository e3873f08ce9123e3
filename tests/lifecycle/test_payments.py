"""Payments: validated, imputed on penalties first, closing the case or flagging an overpayment."""
import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.case import Payment
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase


def test_a_non_positive_amount_is_refused_before_anything_is_sent():
    with pytest.raises(ValidationError, match="must be positive"):
        Payment(amount=Decimal("0"))
    with pytest.raises(ValidationError, match="must be positive"):
        Payment(amount=Decimal("-10"))


async def test_a_wrong_currency_or_a_future_date_is_refused_with_a_clear_message(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(1)
    assert "kept in EUR" in await case.refusal(InvoiceCase.record_payment, Payment(amount=Decimal("10"), currency="USD"))
    future = await case.today() + dt.timedelta(days=3)
    assert "in the future" in await case.refusal(InvoiceCase.record_payment, Payment(amount=Decimal("10"), paid_on=future))
    assert (await case.status()).paid_total == 0


async def test_a_partial_payment_pays_penalties_then_the_indemnity_then_principal_and_the_schedule_continues(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20, amount="10000.00"))
    await case.wait_until_due_plus(20)
    before = await case.status()
    receipt = await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("4000.00")))

    assert receipt.to_penalties == before.penalties_due > 0
    assert receipt.to_indemnity == before.indemnity_due == Decimal("40.00")
    assert receipt.to_principal == Decimal("4000.00") - before.penalties_due - Decimal("40.00")
    status = await case.status()
    assert status.principal_due == Decimal("10000.00") - receipt.to_principal and status.stage != "closed"
    assert status.total_due == before.total_due - Decimal("4000.00") == receipt.balance
    assert status.allocations[-1].on == await case.today(), "the statement says what was paid and when"
    assert status.next_action.step == "reminder:amicable-j+30"
    await case.wait_until_due_plus(31)
    assert "reminder:amicable-j+30" in await case.steps("email")


async def test_an_overpayment_closes_the_case_and_is_flagged_for_ops(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20, amount="1000.00"))
    await case.wait_until_due_plus(-2)
    receipt = await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1050.00")))
    final = await case.finished()
    assert receipt.closed and receipt.overpaid == Decimal("50.00")
    assert final.overpaid == Decimal("50.00")
    assert any("Trop-perçu" in t.text for t in final.tasks)
    assert "thank-you" in [a.step for a in final.audit]


async def test_paying_the_invoice_amount_late_closes_and_says_what_was_waived(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20, amount="5000.00"))
    await case.wait_until_due_plus(40)
    receipt = await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("5000.00")))
    final = await case.finished()
    assert receipt.closed and receipt.to_penalties > 0
    assert final.principal_due == final.penalties_due == final.indemnity_due == final.total_due == 0
    assert final.written_off > 0 and "balance:written-off" in [a.step for a in final.audit]


async def test_paying_the_displayed_total_closes_the_case_without_an_overpayment(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20, amount="5760.00"))
    await case.wait_until_due_plus(40)
    shown = await case.status()
    assert shown.indemnity_due == Decimal("40.00") and shown.penalties_due > 0
    receipt = await case.update(InvoiceCase.record_payment, Payment(amount=shown.total_due))
    final = await case.finished()
    assert receipt.closed and receipt.overpaid == 0 and receipt.to_indemnity == Decimal("40.00")
    assert final.total_due == final.principal_due == 0 and final.written_off == 0
    assert not any("Trop-perçu" in t.text for t in final.tasks)


async def test_a_payment_dated_before_the_invoice_is_refused(harness, today):
    case = await (await Case.open(harness, invoice(today=today, due_in_days=20))).opened()
    before = case.invoice.issue_date - dt.timedelta(days=1)
    assert "before the invoice date" in await case.refusal(InvoiceCase.record_payment,
                                                          Payment(amount=Decimal("10"), paid_on=before))


async def test_the_same_payment_on_the_same_day_owes_the_same_however_often_the_case_woke(harness, today):
    """Three reminders and a notice in one case, none in the other (paid back-dated): the same figures."""
    woken = await Case.open(harness, invoice(today=today, due_in_days=5, amount="7333.33"))
    await woken.wait_until_due_plus(70)
    paid_on = woken.invoice.due_date + dt.timedelta(days=66)
    await woken.update(InvoiceCase.record_payment, Payment(amount=Decimal("2500.00"), paid_on=paid_on))
    assert len(await woken.steps("email")) >= 5
    quiet = await (await Case.open(harness, woken.invoice.model_copy(update={"number": woken.invoice.number + "-Q"}))).opened()
    await quiet.update(InvoiceCase.record_payment, Payment(amount=Decimal("2500.00"), paid_on=paid_on))
    a, b = await woken.status(), await quiet.status()
    assert (a.penalties_due, a.principal_due, a.total_due, a.penalty_lines) == (b.penalties_due, b.principal_due, b.total_due, b.penalty_lines)
    halves = [(line.start.year, line.start.month > 6, line.base) for line in a.penalty_lines]
    assert len(halves) == len(set(halves)), "one line per half-year and base, not one per wake-up"


async def test_a_case_a_credit_note_closed_reopens_when_the_payment_before_it_comes_back(harness, today):
    """500 € paid from the bank, the rest credited after a dispute: the case closes as credited. The 500 € come back
    (direct debit returned): the debtor owes them again, and the case reopens where it was."""
    from domain.case import DisputeRequest, DisputeResolution, PaymentReversal
    from relance.cases import reverse_payment

    case = await (await Case.open(harness, invoice(today=today, due_date=today - dt.timedelta(days=10)))).opened()
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("500.00"), bank_reference="BQ-PART"))
    await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Prix contesté"))
    await case.update(InvoiceCase.resolve_dispute, DisputeResolution(outcome="credit_note", note="AV-7"))
    closed = await case.finished()
    assert closed.closed_reason == "credited"

    outcome = await reverse_payment(harness.env.client, harness.task_queue, case.invoice.number,
                                    PaymentReversal(bank_reference="BQ-PART", returned_by="BQ-BACK", reason="MD06"))
    assert outcome == "dossier rouvert, paiement annulé", outcome
    harness.started.append(case.handle)
    status = await case.until(lambda s: any(a.step == "payment:reversed:BQ-PART" for a in s.audit), "the reversal")
    assert status.stage != "closed" and status.paid_total == 0
    assert Decimal("0") < status.principal_due <= Decimal("500.00"), "what the returned payment had covered"
