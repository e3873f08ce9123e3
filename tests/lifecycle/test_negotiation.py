"""Payment plans: bounded by the policy, reminded per instalment, a missed one resumes escalation."""
import datetime as dt
from decimal import Decimal

from domain.calendar import previous_business_day
from domain.case import Payment, PlanProposal
from domain.policy import Calendar
from domain.letters import Instalment
from domain.schedule import equal_instalments
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase


def plan(total: str, count: int, first: dt.date, every: int = 30) -> PlanProposal:
    return PlanProposal(instalments=equal_instalments(Decimal(total), count, first, every))


async def test_a_plan_outside_the_policy_bounds_is_refused_with_the_reason(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=10, amount="3000.00"))
    await case.wait_until_due_plus(35)
    first = await case.today() + dt.timedelta(days=30)

    assert "at most 6" in await case.refusal(InvoiceCase.propose_plan, plan("3000.00", 7, first, 20))
    assert "at most 180" in await case.refusal(InvoiceCase.propose_plan, plan("3000.00", 3, first, 90))
    small_first = PlanProposal(instalments=[Instalment(due_date=first, amount=Decimal("100.00")),
                                            Instalment(due_date=first + dt.timedelta(days=30), amount=Decimal("2900.00"))])
    assert "minimum" in await case.refusal(InvoiceCase.propose_plan, small_first)
    assert "less than the principal" in await case.refusal(InvoiceCase.propose_plan, plan("2000.00", 2, first))
    assert (await case.status()).plan is None, "a refused plan leaves no trace in the case"


async def test_an_honoured_plan_closes_the_case_and_each_instalment_is_reminded(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=10, amount="3000.00"))
    await case.wait_until_due_plus(35)
    first = await case.today() + dt.timedelta(days=30)
    decision = await case.update(InvoiceCase.propose_plan, plan("3000.00", 3, first))
    assert decision.accepted and (await case.status()).stage == "negotiation"

    for instalment in decision.instalments:
        await case.wait_until(instalment.due_date)
        await case.update(InvoiceCase.record_payment, Payment(amount=instalment.amount))
    final = await case.finished()

    assert final.closed_reason == "paid"
    reminders = [a for a in final.audit if a.step.endswith(":reminder") and a.step.startswith("plan:")]
    assert [a.step for a in reminders] == ["plan:1:reminder", "plan:2:reminder", "plan:3:reminder"]
    for action, instalment in zip(reminders, decision.instalments):
        # Three days before, on the working day before that if need be: always before the instalment falls due.
        assert case.day_of(action.at) == previous_business_day(instalment.due_date - dt.timedelta(days=3), Calendar())
    assert not [a for a in final.audit if a.step in ("reminder:amicable-j+45", "notice")], "the ladder waits while the plan holds"


async def test_a_missed_instalment_goes_straight_to_the_mise_en_demeure(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=10, amount="3000.00"))
    await case.wait_until_due_plus(35)
    first = await case.today() + dt.timedelta(days=30)
    await case.update(InvoiceCase.propose_plan, plan("3000.00", 3, first))
    await case.wait_until(first)
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1000.00")))
    await case.wait_until(first + dt.timedelta(days=30 + 5 + 2))  # second instalment, grace, then a margin

    status = await case.status()
    assert status.plan.missed == 2
    notice = next(a for a in status.audit if a.step == "notice")
    missed = next(a for a in status.audit if a.step == "plan:2:missed")
    assert case.day_of(notice.at) - case.day_of(missed.at) <= dt.timedelta(days=3)
    assert "reminder:amicable-j+45" in [a.step for a in status.audit if a.kind == "skipped"]


async def test_under_a_resume_policy_a_missed_instalment_restarts_the_remaining_reminders(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=10, amount="3000.00", policy="brisk"))
    await case.wait_until_due_plus(8)  # after J+7, before J+21
    first = await case.today() + dt.timedelta(days=20)
    await case.update(InvoiceCase.propose_plan, plan("3000.00", 2, first, 20))
    await case.wait_until(first + dt.timedelta(days=6))
    status = await case.status()
    assert status.plan.missed == 1
    assert status.next_action.step == "reminder:brisk-j+21", "the ladder resumes where it stopped"
    assert case.day_of(status.next_action.at) > first
