"""What a case's debtor owes and where its procedure stands: the questions the workflow asks of its state.

Plain functions over `CaseState` and the policy, so they are unit-tested without Temporal and, passed through
the workflow sandbox, compiled once per worker rather than once per case.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.calendar import procedural_deadline
from domain.case import CaseState
from domain.invoice import Invoice
from domain.policy import Policy
from domain.schedule import insurer_filing_deadline
from domain.statement import Account, Entry, Opening, Statement, statement

ZERO = Decimal("0")


def account_of(s: CaseState) -> Account:
    """The dated facts of the case's money, as the statement reads them."""
    insolvency = s.insolvency
    return Account(
        amount=s.invoice.amount_incl_tax, due_date=s.invoice.due_date, entries=s.entries,
        interest_free=s.interest_free, opening=s.opening,
        interest_stops_after=insolvency.judgment_on if insolvency else None,
        # D441-5: no indemnity when the insolvency, not the debtor, prevented payment at the due date.
        indemnity_applies=insolvency is None or insolvency.judgment_on > s.invoice.due_date,
    )


def statement_of(s: CaseState, policy: Policy, as_of: dt.date) -> Statement:
    """What the debtor owes at the end of `as_of`: the one source of every figure the case prints."""
    return statement(account_of(s), policy.penalties, policy.payments.impute, as_of)


def book(s: CaseState, entry: Entry) -> None:
    """Record money in (or taken off) the invoice; the principal kept on the state follows the statement."""
    s.entries.append(entry)
    if entry.kind == "payment":
        s.paid_total += entry.amount
    elif entry.kind == "credit_note":
        s.credited_total += entry.amount


def refresh(s: CaseState, policy: Policy, as_of: dt.date) -> Statement:
    """Bring the figures kept on the state (escalation rules and visibility read the principal) in line."""
    current = statement_of(s, policy, as_of)
    s.principal, s.overpaid = current.principal_due, current.overpaid
    return current


def carry_legacy_balance(s: CaseState) -> None:
    """A case carried over from before dated entries existed starts from the balance it had booked."""
    if s.opening is None and not s.entries and (s.penalties or s.paid_total or s.credited_total):
        s.opening = Opening(principal=s.principal, penalties=s.penalties, lines=s.penalty_lines,
                            accrued_through=s.accrued_through)


def stop_interest_at(s: CaseState, policy: Policy, judgment_on: dt.date, today: dt.date) -> Decimal:
    """Penalties that ran after an opening judgment: withdrawn once the judgment is recorded (returned)."""
    before = statement_of(s, policy, today).penalties_due
    stopped = account_of(s).model_copy(update={"interest_stops_after": judgment_on})
    after = statement(stopped, policy.penalties, policy.payments.impute, today).penalties_due
    return max(ZERO, before - after)


def settled(s: CaseState, policy: Policy, current: Statement) -> bool:
    payments = policy.payments
    if payments.close_when == "invoice_amount_paid":
        remaining = s.invoice.amount_incl_tax - s.paid_total - s.credited_total
        return remaining <= payments.close_below or current.principal_due <= payments.close_below
    return current.total_due <= payments.close_below


def covered_excl_tax(s: CaseState) -> Decimal:
    """Insurers cover the amount excluding tax; without it (an uninsured debtor routed here by a rule),
    the amount due is the best estimate ops can correct in the claim file."""
    return excl_tax_share(s.invoice, s.principal)


def excl_tax_share(invoice: Invoice, principal_due: Decimal) -> Decimal:
    """The part of the amount excluding tax that `principal_due` (tax included) still owes."""
    base = invoice.amount_excl_tax if invoice.amount_excl_tax is not None else invoice.amount_incl_tax
    return (base * principal_due / invoice.amount_incl_tax).quantize(Decimal("0.01"))


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
