"""Opening an invoice that has a past (domain.history): where its history puts it, what it gets first, and how
many a day, played in memory over generated books; the workflow runs these same functions."""
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain import decisions
from domain.calendar import is_business_day, next_business_day
from domain.history import CatchUpDays, prior_problems
from domain.invoice import Debtor, Invoice
from domain.playback import Playback
from domain.policy import Stage
from domain.prior import PriorHistory
from domain.rule_file import load_policy_file
from domain.schedule import local_date, step_day
from relance.config import ROOT

POLICY = load_policy_file(ROOT / "rules" / "default.yaml")
OPENED = dt.datetime(2027, 3, 10, 7, tzinfo=dt.timezone.utc)  # a Wednesday, before the 9:00 sending
TODAY = OPENED.date()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _invoice(days_late: int, *, amount: str = "1200.00", insured: bool = False) -> Invoice:
    due = TODAY - dt.timedelta(days=days_late)
    return Invoice(number="H-1", issue_date=due - dt.timedelta(days=30), due_date=due, amount_incl_tax=Decimal(amount),
                   amount_excl_tax=(Decimal(amount) / Decimal("1.2")).quantize(Decimal("0.01")),
                   debtor=Debtor(debtor_id="D", name="Client SARL", email="c@client.example", insured=insured,
                                 credit_limit=Decimal("50000.00") if insured else None))


def _opened(invoice: Invoice, prior: PriorHistory | None = None, first_day: dt.date = TODAY) -> Playback:
    return Playback(invoice, POLICY, OPENED, prior=prior, catch_up_from=first_day)


def _first(case: Playback) -> decisions.Step:
    return decisions.next_step(case.s, POLICY, case.now)


# --- what a late invoice gets first --------------------------------------------------------------------------


@SETTINGS
@given(days_late=st.integers(min_value=-40, max_value=700), wait=st.integers(min_value=0, max_value=20))
def test_a_late_invoice_gets_the_reminder_matching_its_age_and_nothing_before_its_day(days_late, wait):
    invoice = _invoice(days_late)
    first_day = TODAY + dt.timedelta(days=wait)
    case = _opened(invoice, first_day=first_day)
    step = _first(case)
    day = local_date(step.at, POLICY.calendar)
    assert day >= first_day, "no message before the day the daily cap gave"
    if days_late > 0:
        assert case.s.stage is Stage.amicable
        assert not (isinstance(step.action, decisions.Remind) and step.action.reminder.offset_days < 0), \
            "never a courtesy reminder 'before the due date' to an overdue invoice"
        passed = [r for r in POLICY.reminders if 0 <= r.offset_days and step_day(invoice, r.offset_days, 0) < TODAY]
        if passed:
            assert step.key == f"reminder:{passed[-1].id}", "the reminder matching its age, not the first missed"
    # However late, one step at a time: the ladder after the first keeps its spacing.
    case.advance(step.at)
    second = _first(case)
    assert second is None or second.at > step.at
    reminders_sent = [a for a in case.s.audit if a.kind == "email"]
    assert len(reminders_sent) <= 1


@pytest.mark.parametrize(("days_late", "expected"), [
    (1, "reminder:amicable-j+2"), (20, "reminder:amicable-j+2"), (35, "reminder:amicable-j+30"),
    (50, "reminder:amicable-j+45"), (200, "reminder:amicable-j+45"),
])
def test_examples_of_the_step_matching_the_age(days_late, expected):
    case = _opened(_invoice(days_late))
    step = _first(case)
    assert step.key == expected
    assert local_date(step.at, POLICY.calendar) == (TODAY if days_late > 1 else TODAY + dt.timedelta(days=1))


def test_a_case_started_without_catch_up_opens_as_before():
    """Cases opened by earlier code replay `open_case` without catch_up_from: the old rule, unchanged."""
    case = Playback(_invoice(20), POLICY, OPENED)
    assert _first(case).key == "reminder:amicable-j+30"  # the next step, waiting for it


# --- the daily cap --------------------------------------------------------------------------------------------


@SETTINGS
@given(cap=st.integers(min_value=1, max_value=7), dues=st.lists(st.integers(min_value=-30, max_value=30), max_size=60))
def test_the_daily_cap_spreads_first_messages_over_business_days(cap, dues):
    policy = POLICY.model_copy(update={"catch_up": POLICY.catch_up.model_copy(update={"daily_first_messages": cap})})
    days = CatchUpDays(TODAY)
    given_days = [days.first_day(policy, TODAY + dt.timedelta(days=d)) for d in dues]
    late = [day for d, day in zip(dues, given_days) if d <= 0]
    assert all(day == TODAY for d, day in zip(dues, given_days) if d > 0), "a future step takes no place"
    assert late == sorted(late), "in the order of the file"
    assert all(late.count(day) <= cap and is_business_day(day, policy.calendar) for day in late)
    if late:
        assert late[-1] <= TODAY + dt.timedelta(days=2 * (len(late) // cap + 1) + 4), "no day left unused"


def test_five_thousand_overdue_invoices_are_worked_through_over_days():
    days = CatchUpDays(TODAY)
    given_days = [days.first_day(POLICY, TODAY - dt.timedelta(days=90)) for _ in range(5000)]
    per_day = {day: given_days.count(day) for day in set(given_days)}
    assert max(per_day.values()) == POLICY.catch_up.daily_first_messages
    assert len(per_day) == -(-5000 // POLICY.catch_up.daily_first_messages)


# --- history ----------------------------------------------------------------------------------------------------


def _audit(case: Playback, kind: str) -> list[str]:
    return [a.summary for a in case.s.audit if a.kind == kind]


def test_a_reminder_sent_before_relance_is_not_sent_again_and_the_next_waits_a_week():
    prior = PriorHistory(last_reminder="amicable-j+30", last_reminder_on=TODAY - dt.timedelta(days=3))
    case = _opened(_invoice(50), prior)
    assert _audit(case, "done_before")[-1] == (f"Fait avant relance : relance amicable-j+30 envoyée le "
                                               f"{TODAY - dt.timedelta(days=3):%d/%m/%Y}")
    step = _first(case)
    assert step.key == "reminder:amicable-j+45"
    week_after = next_business_day(TODAY + dt.timedelta(days=4), POLICY.calendar)  # a Sunday: the Monday
    assert local_date(step.at, POLICY.calendar) == week_after, "7 days after the last one"


def test_an_order_issued_seven_months_ago_and_not_served_gives_ops_the_lapse_at_once():
    prior = PriorHistory(notice_sent_on=TODAY - dt.timedelta(days=300), court_filed_on=TODAY - dt.timedelta(days=260),
                         order_issued_on=TODAY - dt.timedelta(days=215))
    case = _opened(_invoice(330, amount="9000.00"), prior)
    assert case.s.stage is Stage.injonction and case.s.path == "injonction"
    assert "notice" in case.s.done and "escalate" in case.s.done
    assert len([a for a in case.s.audit if a.summary.startswith("Fait avant relance")]) == 9
    case.advance(OPENED)
    tasks = [t.key for t in case.s.tasks]
    assert "injonction:lapsed" in tasks, "the 6 months to serve ran out: a task at once"
    assert not [a for a in case.s.audit if a.kind == "email"], "nothing is sent to the debtor again"


def test_an_order_served_two_months_ago_is_enforceable_at_once():
    prior = PriorHistory(court_filed_on=TODAY - dt.timedelta(days=120), order_issued_on=TODAY - dt.timedelta(days=90),
                         order_served_on=TODAY - dt.timedelta(days=60))
    case = _opened(_invoice(200, amount="9000.00"), prior)
    case.advance(OPENED)
    assert "injonction:enforce" in [t.key for t in case.s.tasks]


def test_an_insured_invoice_past_its_filing_window_gives_ops_a_task_at_open():
    case = _opened(_invoice(400, insured=True))
    lapsed = [t for t in case.s.tasks if t.key == "insurer:lapsed"]
    assert lapsed and "couverture est compromise" in lapsed[0].text


def test_an_insurer_notice_filed_before_relance_waits_for_the_indemnity():
    prior = PriorHistory(notice_sent_on=TODAY - dt.timedelta(days=100), insurer_filed_on=TODAY - dt.timedelta(days=60))
    case = _opened(_invoice(150, insured=True), prior)
    assert case.s.stage is Stage.insurer_claim and case.s.expected_indemnity > 0
    assert _first(case).key == "insurer:waiting-period"


def test_a_dispute_opened_before_relance_pauses_the_case_until_its_review():
    prior = PriorHistory(dispute_reason="Livraison incomplète", dispute_opened_on=TODAY - dt.timedelta(days=10))
    case = _opened(_invoice(40), prior)
    assert case.s.dispute is not None and _first(case).label == "Revue du litige"


def test_payments_received_before_relance_count_and_a_paid_invoice_closes():
    part = _opened(_invoice(40), PriorHistory(paid=Decimal("200.00"), paid_on=TODAY - dt.timedelta(days=5)))
    # Imputed as the policy says: penalties and the 40 EUR indemnity first, the rest to the principal.
    assert part.s.paid_total == Decimal("200.00") and Decimal("1000.00") < part.s.principal < Decimal("1160.00")
    whole = _opened(_invoice(40), PriorHistory(paid=Decimal("1200.00"), paid_on=TODAY - dt.timedelta(days=5)))
    assert whole.s.stage is Stage.closed and whole.s.closed_reason == "paid" and _first(whole) is None


@SETTINGS
@given(days_late=st.integers(min_value=1, max_value=600), stage=st.sampled_from(
    ["reminder", "notice", "court", "order", "served", "insurer", "dispute", "paid"]))
def test_a_book_at_any_stage_opens_without_a_burst_nor_a_step_done_twice(days_late, stage):
    due = TODAY - dt.timedelta(days=days_late)
    after = lambda fraction: due + dt.timedelta(days=max(1, int(days_late * fraction)))  # noqa: E731
    prior = {
        "reminder": dict(last_reminder="amicable-j+2", last_reminder_on=after(0.2)),
        "notice": dict(notice_sent_on=after(0.3)),
        "court": dict(court_filed_on=after(0.4)),
        "order": dict(court_filed_on=after(0.4), order_issued_on=after(0.6)),
        "served": dict(court_filed_on=after(0.4), order_issued_on=after(0.6), order_served_on=after(0.8)),
        "insurer": dict(insurer_filed_on=after(0.5)),
        "dispute": dict(dispute_reason="Qualité", dispute_opened_on=after(0.5)),
        "paid": dict(paid=Decimal("100.00"), paid_on=after(0.5)),
    }[stage]
    history = PriorHistory(**prior)
    invoice = _invoice(days_late, amount="9000.00", insured=stage == "insurer")
    assert prior_problems(history, POLICY, invoice.issue_date, TODAY) == []
    case = _opened(invoice, history)
    case.advance(OPENED + dt.timedelta(days=400))
    emails = [a.step for a in case.s.audit if a.kind == "email"]
    assert len(emails) == len(set(emails)), "no step twice"
    before = {a.step for a in case.s.audit if a.kind == "done_before"}
    assert not before & set(emails), "a step done before relance is not done again"
    first_day = min((local_date(a.at, POLICY.calendar) for a in case.s.audit if a.kind == "email"), default=None)
    assert first_day is None or first_day >= TODAY


def test_a_history_that_contradicts_itself_is_refused():
    with pytest.raises(ValidationError, match="order_served_on needs order_issued_on"):
        PriorHistory(court_filed_on=TODAY, order_served_on=TODAY)
    with pytest.raises(ValidationError, match="last_reminder and last_reminder_on go together"):
        PriorHistory(last_reminder="amicable-j+2")
    problems = prior_problems(PriorHistory(last_reminder="j+99", last_reminder_on=TODAY + dt.timedelta(days=1)),
                              POLICY, TODAY - dt.timedelta(days=60), TODAY)
    assert [field for field, _ in problems] == ["last_reminder", "last_reminder_on"]


def test_places_taken_by_an_earlier_import_are_counted_before_any_new_one():
    policy = POLICY.model_copy(update={"catch_up": POLICY.catch_up.model_copy(update={"daily_first_messages": 2})})
    first = next_business_day(TODAY, policy.calendar)
    second = next_business_day(first + dt.timedelta(days=1), policy.calendar)
    days = CatchUpDays(TODAY, taken={(policy.policy_id, first): 2, (policy.policy_id, second): 1})
    late = TODAY - dt.timedelta(days=40)
    given = [days.place(policy, late) for _ in range(3)]
    assert given[0] == second and given[1] > second and given[1] == given[2]
    assert days.place(policy, TODAY + dt.timedelta(days=3)) is None, "a first step ahead takes no place"
