"""What a case's debtor owes: penalties accrued, frozen and stopped, the indemnity, and when a case is settled."""
import datetime as dt
from decimal import Decimal

from domain import account
from domain.case import CaseState, Insolvency, PaymentPlan, TrackedStep
from domain.statement import Entry, Period
from domain.letters import Instalment
from domain.money import penalty_lines
from tests.unit.test_schedule import POLICY, an_invoice

DUE = dt.date(2026, 11, 24)
OPENED = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)


def a_case(amount="1000.00", insured=False) -> CaseState:
    invoice = an_invoice(amount, insured)
    return CaseState(invoice=invoice, opened_at=OPENED, principal=invoice.amount_incl_tax, accrued_through=DUE)


def test_the_statement_books_the_legal_penalties_and_the_indemnity_once_late():
    s, today = a_case(), DUE + dt.timedelta(days=45)
    current = account.statement_of(s, POLICY, today)
    assert current.penalty_lines == penalty_lines(Decimal("1000.00"), DUE, today, POLICY.penalties)
    assert current.penalties_due == sum((line.amount for line in current.penalty_lines), Decimal("0")) > 0
    assert current.indemnity_due == POLICY.penalties.fixed_indemnity == Decimal("40")
    assert current.total_due == Decimal("1000.00") + current.penalties_due + Decimal("40")
    assert account.statement_of(s, POLICY, DUE).total_due == Decimal("1000.00"), "nothing is added on the due date"


def test_penalties_are_frozen_while_a_plan_holds_and_run_again_once_it_is_missed():
    s = a_case()
    s.plan = PaymentPlan(accepted_at=OPENED, paid_before_plan=Decimal("0"),
                         instalments=[Instalment(due_date=DUE + dt.timedelta(days=30), amount=Decimal("500.00")),
                                      Instalment(due_date=DUE + dt.timedelta(days=60), amount=Decimal("500.00"))])
    s.interest_free.append(Period(start=DUE - dt.timedelta(days=5)))
    assert account.statement_of(s, POLICY, DUE + dt.timedelta(days=50)).penalties_due == 0

    account.book(s, Entry(kind="payment", on=DUE + dt.timedelta(days=29), amount=Decimal("500.00")))
    assert account.instalment_paid(s, 1) and not account.instalment_paid(s, 2)
    s.plan.missed = 2
    s.interest_free[-1] = s.interest_free[-1].model_copy(update={"end": DUE + dt.timedelta(days=60)})
    assert not account.plan_active(s)
    later = account.statement_of(s, POLICY, DUE + dt.timedelta(days=80))
    assert later.penalty_lines[0].start == DUE + dt.timedelta(days=61) and later.penalty_lines[0].days == 20


def test_interest_stops_at_the_opening_judgment_and_what_ran_beyond_is_withdrawn():
    s, judged, today = a_case(), DUE + dt.timedelta(days=20), DUE + dt.timedelta(days=60)
    before = account.statement_of(s, POLICY, today).penalties_due
    withdrawn = account.stop_interest_at(s, POLICY, judged, today)
    s.insolvency = Insolvency(kind="redressement", judgment_on=judged, recorded_at=OPENED)
    after = account.statement_of(s, POLICY, DUE + dt.timedelta(days=300))
    kept = sum((line.amount for line in penalty_lines(Decimal("1000.00"), DUE, judged, POLICY.penalties)), Decimal("0"))
    assert after.penalties_due == kept and withdrawn == before - kept > 0
    assert after.penalty_lines[-1].end == judged
    assert after.indemnity_due == Decimal("40"), "the debtor was late before the judgment"


def test_no_indemnity_when_the_judgment_came_before_the_due_date():
    s = a_case()
    s.insolvency = Insolvency(kind="liquidation", judgment_on=DUE - dt.timedelta(days=3), recorded_at=OPENED)
    current = account.statement_of(s, POLICY, DUE + dt.timedelta(days=30))
    assert current.indemnity_due == 0 and current.penalties_due == 0


def test_a_case_is_settled_when_the_invoice_amount_is_in_whatever_the_penalties():
    s = a_case()
    account.book(s, Entry(kind="payment", on=DUE + dt.timedelta(days=90), amount=Decimal("1000.00")))
    current = account.refresh(s, POLICY, DUE + dt.timedelta(days=90))
    assert POLICY.payments.close_when == "invoice_amount_paid" and current.principal_due > 0, "penalties and indemnity came first"
    assert account.settled(s, POLICY, current)
    strict = POLICY.model_copy(update={"payments": POLICY.payments.model_copy(update={"close_when": "all_paid"})})
    assert not account.settled(s, strict, current)


def test_a_case_carried_over_from_before_entries_keeps_its_booked_balance():
    s = a_case()
    s.principal, s.penalties, s.paid_total, s.accrued_through = Decimal("600.00"), Decimal("7.77"), Decimal("410.00"), DUE + dt.timedelta(days=10)
    account.carry_legacy_balance(s)
    current = account.statement_of(s, POLICY, DUE + dt.timedelta(days=10))
    assert current.principal_due == Decimal("600.00") and current.penalties_due == Decimal("7.77")
    assert account.statement_of(s, POLICY, DUE + dt.timedelta(days=40)).penalty_lines[-1].base == Decimal("600.00")


def test_the_insurer_covers_the_amount_excluding_tax_in_proportion_of_what_is_unpaid():
    s = a_case("1200.00", insured=True)
    s.invoice = s.invoice.model_copy(update={"amount_excl_tax": Decimal("1000.00")})
    s.principal = Decimal("600.00")
    assert account.covered_excl_tax(s) == Decimal("500.00")


def test_the_insurer_deadline_moves_by_the_prorogation_once_granted():
    s = a_case(insured=True)
    plain = account.insurer_deadline(s, POLICY)
    s.procedure.append(TrackedStep(name="extension_granted", on=DUE))
    assert account.confirmed(s, "extension_granted")
    assert account.insurer_deadline(s, POLICY) == plain + dt.timedelta(days=POLICY.insurer.extension_days)


def test_the_declaration_deadline_counts_from_the_bodacc_publication():
    s = a_case()
    s.insolvency = Insolvency(kind="sauvegarde", judgment_on=DUE, recorded_at=OPENED)
    assert account.declaration_deadline(s, POLICY) is None
    s.insolvency.published_on = DUE + dt.timedelta(days=10)
    deadline = account.declaration_deadline(s, POLICY)
    assert DUE + dt.timedelta(days=10 + 58) <= deadline <= DUE + dt.timedelta(days=10 + 66)  # two months, worked day
