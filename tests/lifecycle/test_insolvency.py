"""A procédure collective of the debtor: chasing stops, interest stops, the claim is declared in time."""
import datetime as dt
from decimal import Decimal

from domain.calendar import procedural_deadline
from domain.case import InsolvencyNotice, PlanProposal, ProcedureStep
from domain.letters import Instalment
from domain.rule_file import load_policy_file
from relance.config import ROOT
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase

POLICY = load_policy_file(ROOT / "rules" / "default.yaml")


async def test_an_insolvency_stops_the_chase_and_the_interest_and_asks_for_the_declaration(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    due = case.invoice.due_date
    await case.wait_until_due_plus(10)
    letters_before = len(case.emails())
    judgment, published = due + dt.timedelta(days=6), due + dt.timedelta(days=9)
    status = await case.update(InvoiceCase.record_insolvency,
                               InsolvencyNotice(kind="redressement", judgment_on=judgment, published_on=published))
    frozen = status.penalties_due

    assert status.stage == "insolvency" and status.next_action is not None
    assert "mandataire" in await case.refusal(InvoiceCase.propose_plan, PlanProposal(
        instalments=[Instalment(due_date=due + dt.timedelta(days=40), amount=Decimal("1200.00"))]))
    assert "stopped" in await case.refusal(InvoiceCase.record_procedure_step, ProcedureStep(procedure="court", step="filed"))

    deadline = procedural_deadline(published, months=POLICY.insolvency.declaration_months, calendar=POLICY.calendar)
    await case.wait_until(deadline + dt.timedelta(days=3))
    later = await case.status()

    assert len(case.emails()) == letters_before, "no reminder, no mise en demeure after the judgment"
    assert later.penalties_due == frozen and frozen > 0, "penalties stop at the opening judgment"
    tasks = [t.key for t in later.tasks]
    assert tasks == ["insolvency:declare", f"insolvency:declare-by:{deadline}", f"insolvency:lapsed:{deadline}"]
    warning = next(t for t in later.tasks if t.key.startswith("insolvency:declare-by"))
    assert warning.due == deadline - dt.timedelta(days=POLICY.insolvency.task_days_before_deadline)
    assert all(a.rule_id == POLICY.insolvency.id for a in later.audit if a.kind == "task")


async def test_a_declared_claim_needs_no_deadline_warning(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(5)
    await case.update(InvoiceCase.record_insolvency, InsolvencyNotice(kind="liquidation", judgment_on=await case.today()))
    assert "first" in await case.refusal(InvoiceCase.record_procedure_step, ProcedureStep(procedure="declaration", step="admitted"))
    await case.update(InvoiceCase.record_procedure_step, ProcedureStep(procedure="declaration", step="declared"))
    published = await case.today()
    await case.update(InvoiceCase.record_insolvency, InsolvencyNotice(kind="liquidation", judgment_on=published,
                                                                        published_on=published))
    await case.wait_until(published + dt.timedelta(days=80))

    assert [t.key for t in (await case.status()).tasks] == ["insolvency:declare"]


async def test_an_insured_debtor_s_insolvency_is_declared_to_the_insurer(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20, insured=True, excl="1000.00",
                                            credit_limit="50000"))
    await case.wait_until_due_plus(3)
    await case.update(InvoiceCase.record_insolvency, InsolvencyNotice(kind="liquidation", judgment_on=await case.today()))
    await case.wait_until_due_plus(5)
    status = await case.status()

    assert status.stage == "insolvency" and status.path == "insurer_claim"
    assert status.expected_indemnity == Decimal("900.00")
    claims = [m for m in harness.sent_to(POLICY.insurer.claims_email) if case.invoice.number in m["Subject"]]
    assert len(claims) == 1


async def test_no_recovery_indemnity_when_the_insolvency_came_before_the_due_date(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(-5)
    status = await case.update(InvoiceCase.record_insolvency,
                               InsolvencyNotice(kind="sauvegarde", judgment_on=await case.today()))
    await case.wait_until_due_plus(30)
    later = await case.status()

    assert status.indemnity_due == later.indemnity_due == 0
    assert later.penalties_due == 0, "no interest runs after the opening judgment"


async def test_penalties_accrued_after_a_judgment_recorded_late_are_withdrawn(harness, today):
    from domain.money import penalty_lines

    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    due = case.invoice.due_date
    await case.wait_until_due_plus(35)  # the J+30 reminder brought penalties up to date
    judgment = due + dt.timedelta(days=10)
    status = await case.update(InvoiceCase.record_insolvency, InsolvencyNotice(kind="redressement", judgment_on=judgment))

    await case.wait_until_due_plus(36)  # the declaration task goes out meanwhile

    owed = sum(line.amount for line in penalty_lines(Decimal("1200.00"), due, judgment, POLICY.penalties))
    assert status.penalties_due == (await case.status()).penalties_due == owed > 0
    assert any(a.step == "insolvency:interest-stopped" for a in status.audit)
