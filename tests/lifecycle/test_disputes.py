"""A disputed invoice is not chased, not claimed from the insurer, and comes back when the dispute ends."""
import datetime as dt
from decimal import Decimal

from domain.case import DisputeRequest, DisputeResolution
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase


async def test_a_dispute_pauses_everything_and_resuming_shifts_the_schedule(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(5)
    planned = (await case.status()).next_action
    assert planned.step == "reminder:amicable-j+30"

    status = await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Livraison incomplète"))
    assert status.paused and status.next_action.step.endswith(":review")
    sent_before = len(case.emails())
    await case.wait_until_due_plus(25)
    assert len(case.emails()) == sent_before, "nothing goes out while the case is paused"

    resumed = await case.update(InvoiceCase.resolve_dispute, DisputeResolution(outcome="resume"))
    assert not resumed.paused
    assert resumed.next_action.step == "reminder:amicable-j+30"
    # Paused 20 days: J+30 moves by as much (to the next working day at the latest).
    assert dt.timedelta(days=20) <= resumed.next_action.at - planned.at <= dt.timedelta(days=23)


async def test_a_dispute_past_its_review_date_raises_a_task(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(5)
    review = await case.today() + dt.timedelta(days=10)
    await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Prix contesté", review_by=review))
    await case.wait_until(review + dt.timedelta(days=3))
    tasks = (await case.status()).tasks
    assert len([t for t in tasks if t.key.endswith(":review")]) == 1
    assert "Prix contesté" in tasks[-1].text


async def test_a_credit_note_for_the_whole_amount_closes_the_case(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(5)
    await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Marchandise non conforme"))
    await case.update(InvoiceCase.resolve_dispute, DisputeResolution(outcome="credit_note"))
    final = await case.finished()
    assert final.closed_reason == "credited" and final.principal_due == 0


async def test_a_partial_credit_note_resumes_on_the_reduced_amount(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20, amount="1200.00"))
    await case.wait_until_due_plus(5)
    await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Une palette manquante"))
    status = await case.update(InvoiceCase.resolve_dispute,
                               DisputeResolution(outcome="credit_note", credit_amount=Decimal("200.00")))
    assert status.principal_due == Decimal("1000.00") and status.stage != "closed"


async def test_a_disputed_insured_invoice_is_not_claimed_from_the_insurer(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="20000.00", excl="16666.67",
                                            insured=True, credit_limit="50000.00"))
    await case.wait_until_due_plus(50)
    await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Qualité contestée",
                                                                review_by=await case.today() + dt.timedelta(days=90)))
    await case.wait_until_due_plus(140)
    status = await case.status()
    assert status.path is None and "insurer:file" not in [a.step for a in status.audit]
    assert all(m["X-Relance-Key"] != f"{case.invoice.number}:insurer:file" for m in harness.sent_to("sinistres@assureur.example"))


async def test_a_dispute_nearing_the_insurers_deadline_asks_for_a_prorogation(harness, today):
    from domain.case import ProcedureStep

    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="20000.00", excl="16666.67",
                                            insured=True, credit_limit="50000.00"))
    await case.wait_until_due_plus(50)
    await case.update(InvoiceCase.open_dispute, DisputeRequest(reason="Qualité contestée",
                                                                review_by=await case.today() + dt.timedelta(days=150)))
    await case.wait_until_due_plus(145)
    status = await case.status()
    task = next(t for t in status.tasks if t.key == "insurer:extension-request")
    assert "prorogation de 60 jours" in task.text

    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="insurer", step="extension_granted"))
    await case.update(InvoiceCase.resolve_dispute, DisputeResolution(outcome="resume"))
    await case.wait_until_due_plus(200)
    filed = await case.action("insurer:file")
    # Filed after the original deadline (due + 150 days) but within the extension.
    assert case.invoice.due_date + dt.timedelta(days=150) < case.day_of(filed.at) <= case.invoice.due_date + dt.timedelta(days=210)
