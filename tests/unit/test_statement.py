"""The account of one invoice, computed from dated events: exact, additive, independent of wake-ups."""
import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.money import late_penalties, penalty_lines
from domain.statement import Account, Entry, Opening, Period, statement
from tests.unit.test_money import PENALTIES

D = dt.date
DUE = D(2026, 3, 31)
AMOUNT = Decimal("5760.00")


def account(*entries: Entry, **extra) -> Account:
    return Account(amount=AMOUNT, due_date=DUE, entries=list(entries), **extra)


def at(day: dt.date, *entries: Entry, impute: str = "penalties_first", **extra):
    return statement(account(*entries, **extra), PENALTIES, impute, day)


def test_no_payment_one_line_per_half_year_and_the_indemnity():
    s = at(D(2026, 9, 30))
    assert [(line.start, line.end) for line in s.penalty_lines] == [(D(2026, 4, 1), D(2026, 6, 30)), (D(2026, 7, 1), D(2026, 9, 30))]
    assert s.penalty_lines == penalty_lines(AMOUNT, DUE, D(2026, 9, 30), PENALTIES)
    assert s.penalties_due == late_penalties(AMOUNT, DUE, D(2026, 9, 30), PENALTIES)
    assert s.indemnity_due == Decimal("40.00")
    assert s.total_due == AMOUNT + s.penalties_due + Decimal("40.00")


def test_nothing_is_owed_on_the_due_date_itself():
    s = at(DUE)
    assert s.penalty_lines == [] and s.indemnity_due == 0 and s.total_due == AMOUNT


def test_paying_the_displayed_total_closes_the_account_without_overpayment():
    day = D(2026, 8, 14)
    shown = at(day).total_due
    s = at(day, Entry(kind="payment", on=day, amount=shown))
    assert s.total_due == 0 and s.overpaid == 0
    assert s.payments[0].to_indemnity == Decimal("40.00"), "the indemnity is a line a payment settles"


def test_a_partial_payment_goes_to_penalties_then_indemnity_then_principal_and_the_base_changes():
    paid_on = D(2026, 5, 15)
    s = at(D(2026, 6, 30), Entry(kind="payment", on=paid_on, amount=Decimal("1000.00")))
    before = late_penalties(AMOUNT, DUE, paid_on, PENALTIES)
    payment = s.payments[0]
    assert payment.to_penalties == before and payment.to_indemnity == Decimal("40.00")
    assert payment.to_principal == Decimal("1000.00") - before - Decimal("40.00")
    assert [line.base for line in s.penalty_lines] == [AMOUNT, AMOUNT - payment.to_principal]
    assert s.penalty_lines[0].end == paid_on, "the day of the payment still counts on the old base"
    assert s.penalties_accrued == sum(line.amount for line in s.penalty_lines)
    assert s.penalties_due == s.penalties_accrued - s.penalties_paid


def test_the_indemnity_after_principal_when_the_policy_says_so():
    s = at(D(2026, 6, 30), Entry(kind="payment", on=D(2026, 5, 15), amount=Decimal("1000.00")),
           impute="penalties_principal_indemnity")
    assert s.payments[0].to_indemnity == 0 and s.indemnity_due == Decimal("40.00")


def test_interest_free_while_a_plan_held_and_stopped_by_an_insolvency_judgment():
    plan = at(D(2026, 6, 30), interest_free=[Period(start=D(2026, 4, 11), end=D(2026, 5, 31))])
    assert [(line.start, line.end) for line in plan.penalty_lines] == [(D(2026, 4, 1), D(2026, 4, 10)), (D(2026, 6, 1), D(2026, 6, 30))]
    stopped = at(D(2026, 9, 30), interest_stops_after=D(2026, 4, 20))
    assert stopped.penalty_lines[-1].end == D(2026, 4, 20)


def test_a_credit_note_lowers_the_principal_and_a_write_off_zeroes_everything():
    credit = at(D(2026, 4, 30), Entry(kind="credit_note", on=D(2026, 4, 10), amount=Decimal("760.00")))
    assert credit.principal_due == Decimal("5000.00") and credit.penalty_lines[-1].base == Decimal("5000.00")
    closed = at(D(2026, 12, 31), Entry(kind="write_off", on=D(2026, 5, 1)))
    assert closed.total_due == 0 and closed.written_off == at(D(2026, 5, 1)).total_due
    assert closed.penalty_lines[-1].end == D(2026, 5, 1), "nothing runs after the case closed"


def test_a_legacy_opening_balance_carries_on():
    opening = Opening(principal=Decimal("5000.00"), penalties=Decimal("12.34"), accrued_through=D(2026, 4, 30))
    s = at(D(2026, 5, 31), opening=opening)
    assert s.penalties_accrued == Decimal("12.34") + late_penalties(Decimal("5000.00"), DUE, D(2026, 5, 31), PENALTIES,
                                                                   since=D(2026, 5, 1))
    assert s.principal_due == Decimal("5000.00")


days = st.integers(min_value=0, max_value=700)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000"), places=2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(days, amounts, st.sampled_from(["payment", "credit_note"])), max_size=6),
       days, st.sampled_from(["penalties_first", "penalties_principal_indemnity"]))
def test_the_account_always_adds_up(events, horizon, impute):
    entries = [Entry(kind=kind, on=DUE + dt.timedelta(days=d - 30), amount=a) for d, a, kind in events]
    as_of = DUE + dt.timedelta(days=horizon)
    s = at(as_of, *entries, impute=impute)
    assert s.penalties_accrued == sum((line.amount for line in s.penalty_lines), Decimal("0"))
    assert s.principal_due >= 0 and s.penalties_due >= 0 and s.indemnity_due >= 0
    counted = [a for a in s.allocations]
    assert all(a.amount == a.to_penalties + a.to_indemnity + a.to_principal + a.overpaid for a in counted if a.kind == "payment")
    assert s.principal_due == AMOUNT - s.principal_paid - s.credited
    for payment in s.payments:  # a payment reaches the principal only once the penalties owed that day are paid
        if sum(e.on == payment.on for e in entries) > 1:
            continue  # several entries that day: their order decides, the check below needs one
        owed = at(payment.on, *[e for e in entries if e.on < payment.on], impute=impute).penalties_due
        assert payment.to_penalties == min(owed, payment.amount)
        assert payment.to_principal == 0 or payment.to_penalties == owed
    # Lines never overlap and each is rounded once from its own days.
    for first, second in zip(s.penalty_lines, s.penalty_lines[1:]):
        assert first.end < second.start


def test_an_overpayment_is_kept_apart_and_nothing_goes_negative():
    day = D(2026, 3, 20)  # before the due date: no penalty, no indemnity
    s = at(day, Entry(kind="payment", on=day, amount=AMOUNT + Decimal("50.00")))
    assert s.overpaid == Decimal("50.00") and s.total_due == 0 and s.payments[0].to_principal == AMOUNT


def test_principal_first_only_when_agreed():
    s = at(D(2026, 6, 30), Entry(kind="payment", on=D(2026, 5, 15), amount=Decimal("1000.00")), impute="principal_first")
    assert s.payments[0].to_principal == Decimal("1000.00") and s.payments[0].to_penalties == 0


def test_no_indemnity_for_an_invoice_paid_by_its_due_date():
    s = at(D(2026, 9, 30), Entry(kind="payment", on=DUE, amount=AMOUNT))
    assert s.indemnity_due == 0 and s.total_due == 0 and s.penalty_lines == []
