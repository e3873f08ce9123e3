"""When each step of a case falls, and which escalation path and plan the policy allows.

Pure functions over the policy and the invoice; the workflow asks them and waits.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from domain.calendar import next_business_day, previous_business_day, procedural_deadline
from domain.invoice import Invoice
from domain.letters import Instalment
from domain.policy import Calendar, EscalationRule, Insurer, Negotiation, Policy

CENT = Decimal("0.01")


def local_date(moment: dt.datetime, calendar: Calendar) -> dt.date:
    """The business date of a moment, in the policy's time zone (a case lives in French days)."""
    return moment.astimezone(ZoneInfo(calendar.timezone)).date()


def sending_moment(day: dt.date, calendar: Calendar, *, before: dt.date | None = None) -> dt.datetime:
    """The moment a step dated `day` goes out: the policy's hour, on a working day if the policy asks.

    A step meant to arrive before a due date (`before`) moves to the previous working day rather than the
    next, which could be the due date itself.
    """
    day = previous_business_day(day, calendar) if before and day < before else next_business_day(day, calendar)
    local = dt.datetime.combine(day, dt.time(calendar.send_hour), tzinfo=ZoneInfo(calendar.timezone))
    return local.astimezone(dt.timezone.utc)


def step_day(invoice: Invoice, offset_days: int, shift_days: int) -> dt.date:
    """A ladder step's nominal date: due date + offset, moved by the days the case spent paused."""
    return invoice.due_date + dt.timedelta(days=offset_days + shift_days)


def notice_deadline(sent_on: dt.date, policy: Policy) -> dt.date:
    return procedural_deadline(sent_on, days=policy.formal_notice.deadline_days, calendar=policy.calendar)


def insurer_filing_deadline(invoice: Invoice, insurer: Insurer, calendar: Calendar) -> dt.date:
    """Last day to file the threat-of-loss notice: maximum credit period, then the filing window."""
    days = insurer.max_credit_period_days + insurer.filing_window_days
    return procedural_deadline(invoice.due_date, days=days, calendar=calendar)


def choose_escalation(rules: list[EscalationRule], invoice: Invoice, amount_due: Decimal) -> EscalationRule | None:
    """The first rule whose conditions all hold, or None: the caller raises a task for what falls through."""
    debtor = invoice.debtor
    return next((rule for rule in rules if rule.when.holds(
        insured=debtor.insured, amount=amount_due, segment=debtor.segment, country=debtor.country)), None)


def equal_instalments(total: Decimal, count: int, first_due: dt.date, every_days: int) -> list[Instalment]:
    """Split `total` into `count` instalments; the last one carries the rounding so the sum is exact."""
    if count < 1:
        raise ValueError("a plan needs at least one instalment")
    share = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    amounts = [share] * (count - 1) + [total - share * (count - 1)]
    return [
        Instalment(due_date=first_due + dt.timedelta(days=every_days * n), amount=amount)
        for n, amount in enumerate(amounts)
    ]


def plan_refusal(instalments: list[Instalment], bounds: Negotiation, principal_due: Decimal, amount_due: Decimal,
                 today: dt.date) -> str | None:
    """Why the policy refuses this plan, or None when it may be accepted.

    A plan must cover at least the principal; it may also cover the penalties accrued so far (`amount_due`).
    """
    if len(instalments) > bounds.max_instalments:
        return f"{len(instalments)} instalments, the policy allows at most {bounds.max_instalments}"
    dates = [i.due_date for i in instalments]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        return "instalment due dates must be distinct and in order"
    if dates[0] < today:
        return f"the first instalment falls on {dates[0]:%d/%m/%Y}, before today"
    if (dates[-1] - today).days > bounds.max_duration_days:
        return f"the plan runs {(dates[-1] - today).days} days, the policy allows at most {bounds.max_duration_days}"
    small = [i for i in instalments if i.amount < bounds.min_instalment]
    # The last instalment may be smaller: it carries the remainder.
    if any(i is not instalments[-1] for i in small) or (small and len(instalments) == 1):
        return f"an instalment is below the policy's minimum of {bounds.min_instalment} EUR"
    total = sum((i.amount for i in instalments), Decimal("0"))
    if total < principal_due:
        return f"the instalments add up to {total} EUR, less than the principal due ({principal_due} EUR)"
    if total > amount_due:
        return f"the instalments add up to {total} EUR, more than the amount due ({amount_due} EUR)"
    return None
