"""What a case's debtor owes: penalties accrued, frozen and stopped, the indemnity, and when a case is settled."""
import datetime as dt
from decimal import Decimal

from domain import account
from domain.case import CaseState, Insolvency, PaymentPlan, TrackedStep
from domain.letters import Instalment
from domain.money import penalty_lines
from tests.unit.test_schedule import POLICY, an_invoice

DUE = dt.date(2026, 11, 24)
OPENED = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)


def a_case(amount="1000.00", insured=False) -> CaseState:
    invoice = an_invoice(amount, insured)
    return CaseState(invoice=invoice, opened_at=OPENED, principal=invoice.amount_incl_tax, accrued_through=DUE)


def booked(s: CaseState) -> Decimal:
    return sum((line.amount for line in s.penalty_lines), Decimal("0"))


def test_accrual_books_the_legal_penalties_and_the_indemnity_once_late():
    s, today = a_case(), DUE + dt.timedelta(days=45)
    account.accrue(s, POLICY, today)

    expected = penalty_lines(Decimal("1000.00"), DUE, today, POLICY.penalties)
    assert s.penalties == booked(s) == sum((line.amount for line in expected), Decimal("0")) > 0
    assert s.accrued_through == today and s.indemnity == POLICY.penalties.fixed_indemnity == Decimal("40")
    account.accrue(s, POLICY, today)  # nothing more to book the same day
    assert s.penalties == booked(s) and len(s.penalty_lines) == len(expected)
    assert account.amount_due(s, POLICY, today) == Decimal("1000.00") + s.penalties


def test_a_status_adds_what_ran_since_the_last_accrual_without_booking_it():
    s = a_case()
    account.accrue(s, POLICY, DUE + dt.timedelta(days=10))
    later = DUE + dt.timedelta(days=40)
    pending = account.penalties_since_accrual(s, POLICY, later)
    account.accrue(s, POLICY, later)
    assert pending > 0 and s.penalties == booked(s)
    assert account.penalties_since_accrual(s, POLICY, later) == 0


def test_penalties_are_frozen_while_a_plan_holds_and_run_again_once_it_is_missed():
    s = a_case()
    s.plan = PaymentPlan(accepted_at=OPENED, paid_before_plan=Decimal("0"),
                         instalments=[Instalment(due_date=DUE + dt.timedelta(days=30), amount=Decimal("500.00")),
                                      Instalment(due_date=DUE + dt.timedelta(days=60), amount=Decimal("500.00"))])
    account.accrue(s, POLICY, DUE + dt.timedelta(days=50))
    assert account.plan_active(s) and s.penalties == 0

    s.paid_total = Decimal("500.00")
    assert account.instalment_paid(s, 1) and not account.instalment_paid(s, 2)
    s.plan.missed = 2
    assert not account.plan_active(s)
    assert account.penalties_since_accrual(s, POLICY, DUE + dt.timedelta(days=80)) > 0


def test_interest_stops_at_the_opening_judgment_and_what_ran_beyond_is_withdrawn():
    s, judged = a_case(), DUE + dt.timedelta(days=20)
    account.accrue(s, POLICY, DUE + dt.timedelta(days=60))
    before = s.penalties
    s.insolvency = Insolvency(kind="redressement", judgment_on=judged, recorded_at=OPENED)
    withdrawn = account.stop_interest_at(s, POLICY, judged, DUE + dt.timedelta(days=60))

    kept = sum((line.amount for line in penalty_lines(Decimal("1000.00"), DUE, judged, POLICY.penalties)), Decimal("0"))
    assert withdrawn == before - s.penalties and abs(s.penalties - kept) <= Decimal("0.02")  # rounding per line
    assert s.accrued_through == judged
    assert account.penalties_since_accrual(s, POLICY, DUE + dt.timedelta(days=300)) == 0
    assert account.indemnity_owed(s, POLICY, DUE + dt.timedelta(days=60)) == Decimal("40")


def test_no_indemnity_when_the_judgment_came_before_the_due_date():
    s = a_case()
    s.insolvency = Insolvency(kind="liquidation", judgment_on=DUE - dt.timedelta(days=3), recorded_at=OPENED)
    assert account.indemnity_owed(s, POLICY, DUE + dt.timedelta(days=30)) == 0
    assert account.stop_interest_at(s, POLICY, s.insolvency.judgment_on, DUE + dt.timedelta(days=30)) == 0
    assert s.penalties == 0


def test_a_case_is_settled_when_the_invoice_amount_is_in_whatever_the_penalties():
    s = a_case()
    account.accrue(s, POLICY, DUE + dt.timedelta(days=90))
    s.paid_total, s.principal = Decimal("1000.00"), Decimal("0")
    assert POLICY.payments.close_when == "invoice_amount_paid" and s.penalties > 0
    assert account.settled(s, POLICY)
    strict = POLICY.model_copy(update={"payments": POLICY.payments.model_copy(update={"close_when": "all_paid"})})
    assert not account.settled(s, strict)


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
