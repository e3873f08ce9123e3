"""Step dates, escalation choice and plan bounds: the policy's decisions as plain functions."""
import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.invoice import Debtor, Invoice
from domain.rule_file import load_policy_file
from domain.schedule import choose_escalation, equal_instalments, plan_refusal, sending_moment
from relance.config import ROOT

POLICY = load_policy_file(ROOT / "rules" / "default.yaml")
TODAY = dt.date(2026, 11, 24)


def an_invoice(amount="1000.00", insured=False, segment="", country="FR") -> Invoice:
    return Invoice(number="F-1", debtor=Debtor(debtor_id="D", name="D", email="d@d.example", insured=insured,
                                               segment=segment, country=country),
                   issue_date=TODAY, due_date=TODAY, amount_incl_tax=Decimal(amount),
                   amount_excl_tax=Decimal(amount) if insured else None)


def test_escalation_follows_the_default_rules_around_the_small_claims_threshold():
    def path(amount, insured=False):
        return choose_escalation(POLICY.escalation, an_invoice(amount, insured), Decimal(amount)).path

    assert path("4999.99") == "small_claims"
    assert path("5000.00") == "injonction"
    assert path("100.00", insured=True) == "insurer_claim"
    assert path("90000.00", insured=True) == "insurer_claim"


def test_escalation_that_nothing_matches_returns_none():
    only_exports = [POLICY.escalation[0].model_copy(update={"when": POLICY.escalation[0].when.model_copy(
        update={"insured": None, "countries": ["DE"]})})]
    assert choose_escalation(only_exports, an_invoice(), Decimal("1000")) is None
    assert choose_escalation(only_exports, an_invoice(country="DE"), Decimal("1000")).id == "insured-debtor"


def test_a_step_due_on_a_saturday_goes_out_on_monday_at_the_policys_hour():
    moment = sending_moment(dt.date(2026, 11, 28), POLICY.calendar)  # a Saturday
    assert moment.astimezone(dt.timezone(dt.timedelta(hours=1))).replace(tzinfo=None) == dt.datetime(2026, 11, 30, 9, 0)


@given(total=st.decimals(min_value="0.01", max_value="1000000", places=2), count=st.integers(1, 24))
def test_equal_instalments_add_up_exactly(total, count):
    instalments = equal_instalments(total, count, TODAY, 30)
    assert sum(i.amount for i in instalments) == total
    assert len(instalments) == count
    assert max(i.amount for i in instalments) - min(i.amount for i in instalments) <= Decimal("0.01") * count


def test_plan_bounds_from_the_policy():
    bounds = POLICY.negotiation
    ok = equal_instalments(Decimal("3000.00"), 3, TODAY + dt.timedelta(days=30), 30)
    assert plan_refusal(ok, bounds, Decimal("3000.00"), Decimal("3050.00"), TODAY) is None
    assert "at most 6" in plan_refusal(equal_instalments(Decimal("3000.00"), 7, TODAY + dt.timedelta(days=5), 20),
                                       bounds, Decimal("3000.00"), Decimal("3000.00"), TODAY)
    assert "before today" in plan_refusal(equal_instalments(Decimal("3000.00"), 3, TODAY - dt.timedelta(days=1), 30),
                                          bounds, Decimal("3000.00"), Decimal("3000.00"), TODAY)
    assert "less than the principal" in plan_refusal(ok, bounds, Decimal("3500.00"), Decimal("3500.00"), TODAY)
    assert "more than the amount due" in plan_refusal(ok, bounds, Decimal("2000.00"), Decimal("2500.00"), TODAY)


def test_a_step_meant_to_arrive_before_the_due_date_moves_earlier_not_later():
    due = dt.date(2026, 12, 1)  # a Tuesday; three days before is Saturday 28/11
    moment = sending_moment(dt.date(2026, 11, 28), POLICY.calendar, before=due)
    assert moment.astimezone(dt.timezone(dt.timedelta(hours=1))).date() == dt.date(2026, 11, 27)  # Friday
    # After the due date, a weekend still moves the step to Monday.
    after = sending_moment(dt.date(2026, 12, 5), POLICY.calendar, before=due)
    assert after.astimezone(dt.timezone(dt.timedelta(hours=1))).date() == dt.date(2026, 12, 7)
