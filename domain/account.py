"""What a case's debtor owes and where its procedure stands: the questions the workflow asks of its state.

Plain functions over `CaseState` and the policy, so they are unit-tested without Temporal and, passed through
the workflow sandbox, compiled once per worker rather than once per case.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.calendar import procedural_deadline
from domain.case import CaseState, Stage
from domain.money import penalty_lines
from domain.policy import Policy
from domain.schedule import insurer_filing_deadline

ZERO = Decimal("0")


def accrue(s: CaseState, policy: Policy, today: dt.date, until: dt.date | None = None) -> None:
    """Bring late-payment penalties up to `until` (today by default); frozen while a payment plan holds."""
    until = interest_until(s, until or today)
    if until <= s.accrued_through:
        return
    if not plan_active(s):
        lines = penalty_lines(s.principal, s.invoice.due_date, until, policy.penalties,
                              since=s.accrued_through + dt.timedelta(days=1))
        s.penalty_lines.extend(lines)
        s.penalties += sum((line.amount for line in lines), ZERO)
    s.accrued_through = until
    s.indemnity = indemnity_owed(s, policy, today)


def penalties_since_accrual(s: CaseState, policy: Policy, until: dt.date) -> Decimal:
    """Penalties run since the last accrual, not yet booked: what a status as of `until` adds."""
    until = interest_until(s, until)
    if until <= s.accrued_through or plan_active(s) or s.stage is Stage.closed:
        return ZERO
    lines = penalty_lines(s.principal, s.invoice.due_date, until, policy.penalties,
                          since=s.accrued_through + dt.timedelta(days=1))
    return sum((line.amount for line in lines), ZERO)


def stop_interest_at(s: CaseState, policy: Policy, judgment_on: dt.date, today: dt.date) -> Decimal:
    """Interest stops running at the opening judgment; what was accrued beyond it is withdrawn and returned."""
    if judgment_on >= s.accrued_through:
        accrue(s, policy, today, until=min(judgment_on, today))
        return ZERO
    beyond = penalty_lines(s.principal, s.invoice.due_date, s.accrued_through, policy.penalties,
                           since=max(judgment_on, s.invoice.due_date) + dt.timedelta(days=1))
    excess = min(s.penalties, sum((line.amount for line in beyond), ZERO))
    s.penalties -= excess
    s.accrued_through = judgment_on
    return excess


def interest_until(s: CaseState, day: dt.date) -> dt.date:
    """Interest runs until `day`, or until the opening judgment of a procédure collective if one came first."""
    return min(day, s.insolvency.judgment_on) if s.insolvency is not None else day


def indemnity_owed(s: CaseState, policy: Policy, as_of: dt.date) -> Decimal:
    if s.insolvency is not None and s.insolvency.judgment_on <= s.invoice.due_date:
        return ZERO  # D441-5: the insolvency, not the debtor, prevented payment at the due date
    late = as_of > s.invoice.due_date and s.stage is not Stage.closed
    return policy.penalties.fixed_indemnity if late else ZERO


def amount_due(s: CaseState, policy: Policy, today: dt.date) -> Decimal:
    """Principal and penalties, those run since the last accrual included (the indemnity apart)."""
    return s.principal + s.penalties + penalties_since_accrual(s, policy, today)


def settled(s: CaseState, policy: Policy) -> bool:
    payments = policy.payments
    if payments.close_when == "invoice_amount_paid":
        remaining = s.invoice.amount_incl_tax - s.paid_total - s.credited_total
        return remaining <= payments.close_below or s.principal <= payments.close_below
    return s.principal + s.penalties <= payments.close_below


def covered_excl_tax(s: CaseState) -> Decimal:
    """Insurers cover the amount excluding tax; without it (an uninsured debtor routed here by a rule),
    the amount due is the best estimate ops can correct in the claim file."""
    invoice = s.invoice
    share = s.principal / invoice.amount_incl_tax
    base = invoice.amount_excl_tax if invoice.amount_excl_tax is not None else invoice.amount_incl_tax
    return (base * share).quantize(Decimal("0.01"))


def insurer_deadline(s: CaseState, policy: Policy) -> dt.date:
    """Last day to file the threat of loss, moved by the prorogation if the insurer granted it."""
    insurer = policy.insurer
    deadline = insurer_filing_deadline(s.invoice, insurer, policy.calendar)
    return deadline + dt.timedelta(days=insurer.extension_days if confirmed(s, "extension_granted") else 0)


def declaration_deadline(s: CaseState, policy: Policy) -> dt.date | None:
    """Last day to declare the claim to the mandataire, once the BODACC publication is known."""
    published = s.insolvency.published_on if s.insolvency else None
    if published is None:
        return None
    return procedural_deadline(published, months=policy.insolvency.declaration_months, calendar=policy.calendar)


def plan_active(s: CaseState) -> bool:
    return s.plan is not None and s.plan.missed is None


def instalment_paid(s: CaseState, n: int) -> bool:
    """Whether payments since the plan cover its first `n` instalments."""
    due = sum((i.amount for i in s.plan.instalments[:n]), ZERO)
    return s.paid_total - s.plan.paid_before_plan >= due


def confirmed(s: CaseState, step: str) -> bool:
    """Whether ops confirmed this step of the case's procedure."""
    return any(t.name == step for t in s.procedure)
