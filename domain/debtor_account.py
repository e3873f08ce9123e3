"""A customer's account (*compte client*): one debtor's open invoices, credits, aging and exposure.

A pure function of the cases' statuses (what each invoice's workflow answers, its figures computed by
`domain/statement.py`): the account view adds nothing the cases do not say, so the two can never disagree.

Exposure (*encours*) is the principal still due on the open invoices, tax included, as the ledger carries it;
the insurer's credit limit is compared with its part excluding tax (the base insurers cover, as the claim's
expected indemnity does in `domain/money.py`), each invoice's principal scaled by its own HT/TTC ratio.
Aging buckets read the days past due as practice does: not yet due, 1-30, 31-60, 61-90, over 90.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.case import CaseStatus, NextAction
from domain.invoice import Debtor
from domain.policy import Stage

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

AgingBucket = Literal["not_due", "1-30", "31-60", "61-90", "over_90"]
AGING_BUCKETS: tuple[AgingBucket, ...] = ("not_due", "1-30", "31-60", "61-90", "over_90")
AGING_LABELS = {"not_due": "non échu", "1-30": "1 à 30 j", "31-60": "31 à 60 j", "61-90": "61 à 90 j",
                "over_90": "plus de 90 j"}


def aging_bucket(days_late: int) -> AgingBucket:
    """The bucket of an invoice `days_late` days past its due date (0 or less: not yet due)."""
    if days_late <= 0:
        return "not_due"
    if days_late <= 30:
        return "1-30"
    if days_late <= 60:
        return "31-60"
    if days_late <= 90:
        return "61-90"
    return "over_90"


class OpenInvoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: str
    issue_date: dt.date
    due_date: dt.date
    days_late: int  # negative: days left before the due date
    bucket: AgingBucket
    stage: Stage
    principal_due: Decimal
    principal_excl_tax: Decimal  # the part of the principal insurers cover
    penalties_due: Decimal
    indemnity_due: Decimal
    total_due: Decimal
    disputed: bool
    policy_ref: str
    next_action: NextAction | None


class Credit(BaseModel):
    """A credit note (*avoir*) or a payment on one of the debtor's invoices, and what of it is not applied."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["credit_note", "payment"]
    invoice: str
    on: dt.date
    amount: Decimal
    unapplied: Decimal  # beyond what the invoice owed: money the customer has on account
    reference: str = ""


class NextContact(BaseModel):
    """The next step planned on the account, and why: the invoice, the rule and the policy version."""

    model_config = ConfigDict(frozen=True)

    invoice: str
    at: dt.datetime
    label: str
    step: str
    rule_id: str
    policy_ref: str


class DebtorAccount(BaseModel):
    model_config = ConfigDict(frozen=True)

    debtor_id: str
    name: str
    debtor: Debtor  # as its latest terms say (address, limit): what a statement of account is addressed to
    as_of: dt.date
    insured: bool
    credit_limit: Decimal | None
    credit_limit_on: dt.date | None  # the date of the insurer's decision (agrément)
    invoices: list[OpenInvoice]  # open ones, oldest due date first
    credits: list[Credit]  # credit notes on open invoices, and every credit or payment with money unapplied
    aging: dict[AgingBucket, Decimal]  # principal due per bucket; the buckets add up to the exposure
    exposure: Decimal  # encours: principal due on the open invoices, tax included
    exposure_excl_tax: Decimal
    penalties_due: Decimal  # late-payment penalties and fixed indemnities
    total_due: Decimal
    overdue: Decimal  # principal of the invoices past their due date
    unapplied: Decimal
    oldest_days_late: int | None
    next_contact: NextContact | None

    @property
    def net_balance(self) -> Decimal:
        """What the customer owes once the money it has on account is set against it."""
        return self.total_due - self.unapplied

    @property
    def over_limit(self) -> bool | None:
        """Whether the exposure (excluding tax) passes the insurer's limit; None without a limit."""
        return None if self.credit_limit is None else self.exposure_excl_tax > self.credit_limit

    @property
    def stages(self) -> set[str]:
        return {str(invoice.stage) for invoice in self.invoices}


class MissingInvoice(ValueError):
    """A status without its invoice (a case opened before statuses carried it): it cannot be placed."""


def debtor_account(statuses: Iterable[CaseStatus], as_of: dt.date) -> DebtorAccount:
    """The account of the debtor these statuses belong to (open and closed cases alike), on `as_of`."""
    statuses = sorted(statuses, key=lambda s: s.invoice_number)  # the same account whatever the order given
    if not statuses:
        raise ValueError("an account needs at least one case")
    for status in statuses:
        if status.invoice is None:
            raise MissingInvoice(f"{status.invoice_number}: the case's status does not carry its invoice")
    debtor = _latest_terms(statuses)
    invoices = sorted((_open_invoice(s, as_of) for s in statuses if s.stage is not Stage.closed),
                      key=lambda i: (i.due_date, i.number))
    credits = sorted((c for s in statuses for c in _credits(s)), key=lambda c: (c.on, c.invoice, c.kind))
    aging = {bucket: ZERO for bucket in AGING_BUCKETS}
    for invoice in invoices:
        aging[invoice.bucket] += invoice.principal_due
    contacts = [NextContact(invoice=i.number, at=i.next_action.at, label=i.next_action.label, step=i.next_action.step,
                            rule_id=i.next_action.rule_id, policy_ref=i.policy_ref)
                for i in invoices if i.next_action is not None]
    return DebtorAccount(
        debtor_id=debtor.debtor_id, name=debtor.name, debtor=debtor, as_of=as_of, insured=debtor.insured,
        credit_limit=debtor.credit_limit, credit_limit_on=debtor.credit_limit_on,
        invoices=invoices, credits=credits, aging=aging,
        exposure=_sum(i.principal_due for i in invoices),
        exposure_excl_tax=_sum(i.principal_excl_tax for i in invoices),
        penalties_due=_sum(i.penalties_due + i.indemnity_due for i in invoices),
        total_due=_sum(i.total_due for i in invoices),
        overdue=_sum(i.principal_due for i in invoices if i.days_late > 0),
        unapplied=_sum(c.unapplied for c in credits),
        oldest_days_late=max((i.days_late for i in invoices), default=None),
        next_contact=min(contacts, key=lambda c: (c.at, c.invoice), default=None),
    )


def _latest_terms(statuses: list[CaseStatus]):
    """The debtor as its most recent terms say: invoices imported at different times may carry an older limit."""
    def recency(status: CaseStatus):
        debtor = status.invoice.debtor
        return (debtor.credit_limit_on or dt.date.min, status.invoice.issue_date, status.invoice_number)

    return max(statuses, key=recency).invoice.debtor


def _open_invoice(status: CaseStatus, as_of: dt.date) -> OpenInvoice:
    invoice = status.invoice
    days_late = (as_of - invoice.due_date).days
    return OpenInvoice(
        number=invoice.number, issue_date=invoice.issue_date, due_date=invoice.due_date, days_late=days_late,
        bucket=aging_bucket(days_late), stage=status.stage, principal_due=status.principal_due,
        principal_excl_tax=_excl_tax(status), penalties_due=status.penalties_due,
        indemnity_due=status.indemnity_due, total_due=status.total_due, disputed=status.paused,
        policy_ref=status.policy_ref, next_action=status.next_action,
    )


def _excl_tax(status: CaseStatus) -> Decimal:
    invoice = status.invoice
    if invoice.amount_excl_tax is None:  # no HT amount in the ledger: the TTC principal is the best estimate
        return status.principal_due
    return (status.principal_due * invoice.amount_excl_tax / invoice.amount_incl_tax).quantize(CENT, ROUND_HALF_UP)


def _credits(status: CaseStatus) -> list[Credit]:
    found = []
    for paid in status.allocations:
        if paid.kind == "credit_note":
            unapplied = paid.amount - paid.to_principal
            if status.stage is not Stage.closed or unapplied > 0:
                found.append(Credit(kind="credit_note", invoice=status.invoice_number, on=paid.on, amount=paid.amount,
                                    unapplied=unapplied, reference=paid.reference))
        elif paid.kind == "payment" and paid.overpaid > 0:
            found.append(Credit(kind="payment", invoice=status.invoice_number, on=paid.on, amount=paid.amount,
                                unapplied=paid.overpaid, reference=paid.reference))
    return found


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)
