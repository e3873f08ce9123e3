"""Mise en demeure, then the path the rules choose: injonction de payer, small claims, credit insurer."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

from domain.calendar import procedural_deadline
from domain.case import Payment, ProcedureStep
from domain.money import format_eur, late_penalties
from domain.rule_file import load_policy_file
from relance.config import ROOT
from tests.lifecycle.scenario import Case, invoice
from tests.pdf import pdf_text
from workflows.invoice_case import InvoiceCase

POLICY = load_policy_file(ROOT / "rules" / "default.yaml")


async def test_mise_en_demeure_claims_the_laws_penalties_and_indemnity(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="12000.00"))
    await case.wait_until_due_plus(66)
    notice = await case.action("notice")
    sent_on = case.day_of(notice.at)

    expected = late_penalties(Decimal("12000.00"), case.invoice.due_date, sent_on, POLICY.penalties)
    message = next(m for m in case.emails() if "Mise en demeure" in m["Subject"])
    body = message.get_body(("plain",)).get_content()
    assert "mise en demeure" in body.lower()
    assert format_eur(expected) in body, "the penalties computed per L441-10 appear in the notice"
    assert format_eur(Decimal("40.00")) in body, "the fixed recovery indemnity appears"
    deadline = procedural_deadline(sent_on, days=8, calendar=POLICY.calendar)
    assert deadline.strftime("%d/%m/%Y") in body
    assert message.get_body(("html",)) is not None, "HTML with a text alternative"

    letter = next(a for a in (await case.status()).audit if a.step == "notice" and a.kind == "letter")
    document = pdf_text(letter.refs[0])
    assert "recommandée" in document.lower() and format_eur(expected) in document and case.invoice.number in document
    # The policy attaches the printed notice to its email: the same letter as the one posted.
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == f"mise_en_demeure-{case.invoice.number}.pdf"
    assert attached.get_payload(decode=True) == Path(letter.refs[0]).read_bytes()
    assert "notice:lrar" in await case.steps("task")
    assert notice.rule_id == "mise-en-demeure" and notice.policy_ref == POLICY.ref


async def test_uninsured_large_claim_goes_to_injonction_and_tracks_the_court_deadlines(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="8000.00"))
    await case.wait_until_due_plus(75)
    status = await case.status()
    assert status.stage == "injonction" and status.path_rule == "uninsured-large"
    dossier = next(a for a in status.audit if a.step == "injonction:dossier")
    request = pdf_text(dossier.refs[0])
    assert "injonction de payer" in request.lower() and case.invoice.number in request
    assert any("notice" in ref for ref in dossier.refs[1:]), "the mise en demeure is part of the dossier"
    assert "injonction:file" in await case.steps("task")

    refusal = await case.refusal(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step="served"))
    assert "issued before it is served" in refusal
    order_day = await case.today()
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step="order_issued"))
    lapse = procedural_deadline(order_day, months=6, calendar=POLICY.calendar)
    assert (await case.status()).next_action.step == "injonction:serve-reminder"

    await case.wait_until(lapse - dt.timedelta(days=10))
    assert "injonction:serve-reminder" in await case.steps("task"), "ops are warned before the order lapses"
    served_day = await case.today()
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step="served"))
    opposition_end = procedural_deadline(served_day, months=1, calendar=POLICY.calendar)
    await case.wait_until(opposition_end + dt.timedelta(days=5))
    status = await case.status()
    assert "injonction:enforce" in [t.key for t in status.tasks]
    assert "injonction:lapsed" not in [t.key for t in status.tasks]
    assert case.day_of(next(a for a in status.audit if a.step == "injonction:enforceable").at) > opposition_end


async def test_an_unserved_order_lapses_after_six_months(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="8000.00"))
    await case.wait_until_due_plus(75)
    order_day = await case.today()
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step="order_issued"))
    await case.wait_until(procedural_deadline(order_day, months=6, calendar=POLICY.calendar) + dt.timedelta(days=5))
    assert "injonction:lapsed" in await case.steps("task")


async def test_uninsured_small_claim_goes_to_the_small_claims_procedure(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="4999.99"))
    await case.wait_until_due_plus(75)
    status = await case.status()
    assert status.stage == "small_claims" and status.path_rule == "uninsured-small"
    assert "small_claims:file" in await case.steps("task")
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="small_claims", step="sent"))
    await case.wait_until(await case.today() + dt.timedelta(days=40))
    assert "small_claims:no-answer" in await case.steps("task")


async def test_insured_debtor_is_claimed_from_the_insurer_with_the_expected_indemnity(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="60000.00", excl="50000.00",
                                            insured=True, credit_limit="30000.00"))
    await case.wait_until_due_plus(75)
    status = await case.status()
    assert status.stage == "insurer_claim" and status.path_rule == "insured-debtor"
    # Covered amount excl. tax capped by the credit limit, times the 90 % cover, less a nil deductible.
    assert status.expected_indemnity == Decimal("27000.00")
    filed = next(a for a in status.audit if a.step == "insurer:file")
    deadline = case.invoice.due_date + dt.timedelta(days=120 + 30)
    assert case.day_of(filed.at) <= deadline - dt.timedelta(days=10)
    claim = [m for m in harness.sent_to(POLICY.insurer.claims_email) if m["X-Relance-Key"].startswith(case.invoice.number)]
    assert [m["X-Relance-Key"] for m in claim] == [f"{case.invoice.number}:insurer:file"]
    assert any(ref.endswith(".json") and Path(ref).exists() for ref in filed.refs), "the claim file is written"
    claim_file = next(ref for ref in filed.refs if ref.endswith(".pdf"))
    assert format_eur(Decimal("27000.00")) in pdf_text(claim_file)
    [attached] = list(claim[0].iter_attachments())
    assert attached.get_payload(decode=True) == Path(claim_file).read_bytes(), "sent with the claims email"

    await case.update(InvoiceCase.record_procedure_step,
                      ProcedureStep(procedure="insurer", step="indemnified", amount=Decimal("27000.00")))
    final = await case.finished()
    assert final.closed_reason == "indemnified"


async def test_an_opposition_to_the_order_gives_ops_the_contentious_task(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="8000.00"))
    await case.wait_until_due_plus(75)
    for step in ("order_issued", "served", "opposition"):
        await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step=step))
    await case.wait_until(await case.today() + dt.timedelta(days=1))
    tasks = [t.text for t in (await case.status()).tasks]
    assert any("Opposition du débiteur" in t for t in tasks)
    assert not any("exécutoire" in t for t in tasks), "no enforcement after an opposition"


async def test_after_a_partial_payment_the_notice_adds_up_and_says_what_was_paid_and_when(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=15, amount="5760.00"))
    await case.wait_until_due_plus(50)
    paid_on = await case.today()
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1000.00")))
    await case.wait_until_due_plus(60)  # 24/05/2027, a Monday: the notice goes out at 9:00
    sent_on = case.day_of((await case.action("notice")).at)
    status = await case.status()  # asked the day the notice went out: the same figures
    assert status.as_of == sent_on

    body = next(m for m in case.emails() if "Mise en demeure" in m["Subject"]).get_body(("plain",)).get_content()
    lines_total = sum(line.amount for line in status.penalty_lines)
    paid = status.allocations[0]
    assert lines_total - paid.to_penalties == status.penalties_due, "lines, less what was paid, are what is due"
    for figure in (lines_total, paid.to_penalties, status.penalties_due, status.principal_due, status.total_due):
        assert format_eur(figure) in body
    assert f"le {paid_on:%d/%m/%Y}" in body and format_eur(Decimal("1000.00")) in body, "the payment and its date"
    assert len({line.base for line in status.penalty_lines}) == 2, "the base changed once, on the payment"
