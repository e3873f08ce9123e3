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
from domain.money import format_eur as eur
from domain.policy import Stage

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

AgingBucket = Literal["not_due", "1-30", "31-60", "61-90", "over_90"]
AGING_BUCKETS: tuple[AgingBucket, ...] = ("not_due", "1-30", "31-60", "61-90", "over_90")
AGING_LABELS = {"not_due": "non échu", "1-30": "1 à 30 j", "31-60": "31 à 60 j", "61-90": "61 à 90 j",
                "over_90": "plus de 90 j"}
AGING_LABELS_EN = {"not_due": "not due", "1-30": "1-30 d", "31-60": "31-60 d", "61-90": "61-90 d", "over_90": "over 90 d"}


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
    not_covered: str | None = None  # why the insurer will not cover it (issued after the customer's claim)


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


class Terms(BaseModel):
    """What one invoice says of its customer's insurance: the limit, the date of the insurer's decision, and the
    invoice it came with (the most recent terms are the customer's)."""

    model_config = ConfigDict(frozen=True)

    insured: bool
    credit_limit: Decimal | None
    credit_limit_on: dt.date | None
    issue_date: dt.date
    invoice: str

    @property
    def recency(self) -> tuple:
        return (self.credit_limit_on or dt.date.min, self.issue_date, self.invoice)


AlertKind = Literal["over_limit", "limit_lowered", "limit_withdrawn", "not_covered"]


class ExposureAlert(BaseModel):
    """Something about the customer's insured exposure ops must act on (ask the insurer, stop deliveries)."""

    model_config = ConfigDict(frozen=True)

    kind: AlertKind
    text: str  # in French, with the figures
    key: str  # the same while the facts are the same: a console mark holds until they change


def exposure_alerts(terms: Iterable[Terms], exposure_excl_tax: Decimal, not_covered: Iterable[str] = (),
                    claim_on: dt.date | None = None) -> list[ExposureAlert]:
    """The account's alerts: exposure past the limit, a limit lowered or withdrawn by a later decision, invoices
    issued after a threat-of-loss notice (`not_covered`). A customer never insured has none."""
    # An invoice imported without a limit says nothing of it (not a withdrawal): only the terms that give one count;
    # a withdrawal is a limit of 0.
    terms = sorted((t for t in terms if t.credit_limit is not None), key=lambda t: t.recency, reverse=True)
    alerts: list[ExposureAlert] = []
    if not terms:
        return _not_covered_alert(not_covered, claim_on)
    latest = terms[0]
    earlier = next((t for t in terms[1:] if t.credit_limit != latest.credit_limit), None)
    on = f" le {latest.credit_limit_on:%d/%m/%Y}" if latest.credit_limit_on else ""
    if earlier is not None and latest.insured and latest.credit_limit < earlier.credit_limit:
        if not latest.credit_limit:
            alerts.append(ExposureAlert(
                kind="limit_withdrawn", key=f"limit_withdrawn:{latest.credit_limit_on}",
                text=f"Limite de crédit retirée par l'assureur{on} (elle était de {eur(earlier.credit_limit)}):"
                     f" encours HT non couvert {eur(exposure_excl_tax)}; livraisons à revoir"))
        else:
            alerts.append(ExposureAlert(
                kind="limit_lowered", key=f"limit_lowered:{latest.credit_limit}:{latest.credit_limit_on}",
                text=f"Limite de crédit abaissée{on} de {eur(earlier.credit_limit)} à {eur(latest.credit_limit)}"))
    if latest.credit_limit and exposure_excl_tax > latest.credit_limit:
        alerts.append(ExposureAlert(
            kind="over_limit", key=f"over_limit:{latest.credit_limit}",
            text=f"Encours HT {eur(exposure_excl_tax)} au-delà de la limite de crédit de {eur(latest.credit_limit)}"
                 f" (dépassement {eur(exposure_excl_tax - latest.credit_limit)}, non couvert)"))
    return alerts + _not_covered_alert(not_covered, claim_on)


def _not_covered_alert(not_covered: Iterable[str], claim_on: dt.date | None) -> list[ExposureAlert]:
    uncovered = sorted(not_covered)
    if not uncovered or claim_on is None:
        return []
    return [ExposureAlert(
        kind="not_covered", key=f"not_covered:{','.join(uncovered)}",
        text=f"{len(uncovered)} facture(s) émise(s) après la déclaration de menace de sinistre du"
             f" {claim_on:%d/%m/%Y}, non couverte(s): {', '.join(uncovered)}")]


def claim_filed_on(status: CaseStatus) -> dt.date | None:
    """When the case's threat-of-loss notice went to the insurer, if it did."""
    if status.path != "insurer_claim":
        return None
    return next((step.on for step in status.procedure if step.name == "filed"), None)


def not_covered_reason(issue_date: dt.date, claim_on: dt.date | None, path: str | None = None) -> str | None:
    """Once a threat-of-loss notice is filed, the insurer covers nothing the supplier invoices after it (an invoice
    that is itself on the claim, `path` insurer_claim, is covered by it)."""
    if claim_on is None or issue_date < claim_on or path == "insurer_claim":
        return None
    return f"non couverte: émise après la déclaration de menace de sinistre du {claim_on:%d/%m/%Y}"


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
    alerts: list[ExposureAlert] = []

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
    claim_on = min(filter(None, map(claim_filed_on, statuses)), default=None)
    invoices = sorted((_open_invoice(s, as_of, claim_on) for s in statuses if s.stage is not Stage.closed),
                      key=lambda i: (i.due_date, i.number))
    credits = sorted((c for s in statuses for c in _credits(s)), key=lambda c: (c.on, c.invoice, c.kind))
    aging = {bucket: ZERO for bucket in AGING_BUCKETS}
    for invoice in invoices:
        aging[invoice.bucket] += invoice.principal_due
    contacts = [NextContact(invoice=i.number, at=i.next_action.at, label=i.next_action.label, step=i.next_action.step,
                            rule_id=i.next_action.rule_id, policy_ref=i.policy_ref)
                for i in invoices if i.next_action is not None]
    exposure_excl_tax = _sum(i.principal_excl_tax for i in invoices)
    alerts = exposure_alerts([terms_of(s) for s in statuses], exposure_excl_tax,
                             [i.number for i in invoices if i.not_covered], claim_on)
    return DebtorAccount(
        debtor_id=debtor.debtor_id, name=debtor.name, debtor=debtor, as_of=as_of, insured=debtor.insured,
        credit_limit=debtor.credit_limit, credit_limit_on=debtor.credit_limit_on,
        invoices=invoices, credits=credits, aging=aging,
        exposure=_sum(i.principal_due for i in invoices),
        exposure_excl_tax=exposure_excl_tax, alerts=alerts,
        penalties_due=_sum(i.penalties_due + i.indemnity_due for i in invoices),
        total_due=_sum(i.total_due for i in invoices),
        overdue=_sum(i.principal_due for i in invoices if i.days_late > 0),
        unapplied=_sum(c.unapplied for c in credits),
        oldest_days_late=max((i.days_late for i in invoices), default=None),
        next_contact=min(contacts, key=lambda c: (c.at, c.invoice), default=None),
    )


def terms_of(status: CaseStatus) -> Terms:
    invoice = status.invoice
    return Terms(insured=invoice.debtor.insured, credit_limit=invoice.debtor.credit_limit,
                 credit_limit_on=invoice.debtor.credit_limit_on, issue_date=invoice.issue_date, invoice=invoice.number)


def _latest_terms(statuses: list[CaseStatus]):
    """The debtor as its most recent terms say: invoices imported at different times may carry an older limit."""
    return max(statuses, key=lambda s: terms_of(s).recency).invoice.debtor


def _open_invoice(status: CaseStatus, as_of: dt.date, claim_on: dt.date | None) -> OpenInvoice:
    invoice = status.invoice
    days_late = (as_of - invoice.due_date).days
    return OpenInvoice(
        number=invoice.number, issue_date=invoice.issue_date, due_date=invoice.due_date, days_late=days_late,
        bucket=aging_bucket(days_late), stage=status.stage, principal_due=status.principal_due,
        principal_excl_tax=excl_tax(status), penalties_due=status.penalties_due,
        indemnity_due=status.indemnity_due, total_due=status.total_due, disputed=status.paused,
        policy_ref=status.policy_ref, next_action=status.next_action,
        not_covered=not_covered_reason(invoice.issue_date, claim_on, status.path),
    )


def excl_tax(status: CaseStatus) -> Decimal:
    """The principal still due, excluding tax: what an insurer covers."""
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


# ---------------------------------------------------------------------- what the customer was sent

CORRESPONDENCE = ("email", "letter", "document", "insurer")  # audit kinds that went to the customer or about it


class Correspondence(BaseModel):
    """One message, letter or filing about the customer, with every invoice it carried."""

    model_config = ConfigDict(frozen=True)

    at: dt.datetime
    kind: str
    step: str
    summary: str
    invoices: list[str]
    reference: str  # the customer's message key when its account sent it, else the message id or document
    documents: list[str] = []  # the printed files among its references (a letter, a request, a claim file)


PRINTED = (".pdf", ".json")  # what activities/documents.py writes: a letter, a request, a claim file and its summary


def correspondence(statuses: Iterable[CaseStatus]) -> list[Correspondence]:
    """What the customer's cases sent, newest first: a message the customer's account sent for several invoices is
    one line naming them all (their audit lines share its key, the last of their refs)."""
    found: dict[str, Correspondence] = {}
    for status in sorted(statuses, key=lambda s: s.invoice_number):
        for action in status.audit:
            if action.kind not in CORRESPONDENCE:
                continue
            shared = action.refs[-1] if action.refs and action.refs[-1].startswith("account-") else None
            key = shared or f"{status.invoice_number}|{action.step}|{action.kind}|{action.at.isoformat()}"
            if key in found:
                if status.invoice_number not in found[key].invoices:
                    found[key] = found[key].model_copy(update={"invoices": [*found[key].invoices, status.invoice_number]})
                continue
            found[key] = Correspondence(at=action.at, kind=action.kind, step=action.step, summary=action.summary,
                                        invoices=[status.invoice_number],
                                        reference=shared or (action.refs[0] if action.refs else ""),
                                        documents=[r for r in action.refs if r.endswith(PRINTED)])
    return sorted(found.values(), key=lambda c: (c.at, c.reference), reverse=True)
