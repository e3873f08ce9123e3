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


async def test_a_partial_payment_pays_penalties_first_and_the_schedule_continues(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20, amount="10000.00"))
    await case.wait_until_due_plus(20)
    before = await case.status()
    receipt = await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("4000.00")))

    assert receipt.to_penalties == before.penalties_due > 0
    assert receipt.to_principal == Decimal("4000.00") - before.penalties_due
    status = await case.status()
    assert status.principal_due == Decimal("10000.00") - receipt.to_principal and status.stage != "closed"
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
    assert final.principal_due == 0
    assert "balance:written-off" in [a.step for a in final.audit]
