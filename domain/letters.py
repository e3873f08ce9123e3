"""What a letter, an email or a dossier shows: the one context every template receives."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.invoice import Invoice
from domain.policy import Creditor


class PenaltyLine(BaseModel):
    """Late-payment penalties over one half-year (the ECB rate changes on 1 January and 1 July)."""

    model_config = ConfigDict(frozen=True)

    start: dt.date  # first day counted
    end: dt.date  # last day counted, inclusive
    days: int
    base: Decimal  # amount the rate applies to, tax included
    rate_percent: Decimal  # ECB rate + points
    amount: Decimal


class Allocation(BaseModel):
    """How one entry was applied: what the notice's table shows as paid, and when."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["payment", "credit_note", "write_off"]
    on: dt.date
    amount: Decimal
    to_penalties: Decimal = Decimal("0.00")
    to_indemnity: Decimal = Decimal("0.00")
    to_principal: Decimal = Decimal("0.00")
    overpaid: Decimal = Decimal("0.00")
    reference: str = ""


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True)

    due_date: dt.date
    amount: Decimal


class AccountLine(BaseModel):
    """One invoice of a customer's message: what a grouped reminder, notice or claim lists for it."""

    model_config = ConfigDict(frozen=True)

    number: str
    issue_date: dt.date
    due_date: dt.date
    days_late: int
    amount_incl_tax: Decimal
    amount_excl_tax: Decimal | None = None
    principal_due: Decimal
    penalties_due: Decimal = Decimal("0")
    indemnity_due: Decimal = Decimal("0")
    penalty_lines: list[PenaltyLine] = []
    payments: list[Allocation] = []
    step: str = ""  # the step of this invoice the message carries
    rule_id: str = ""

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.penalties_due + self.indemnity_due


class AccountCredit(BaseModel):
    """A credit note (avoir) or a payment received and not yet applied to an invoice, held by the customer's account."""

    model_config = ConfigDict(frozen=True)

    reference: str
    kind: Literal["credit_note", "payment"]
    on: dt.date
    amount: Decimal


class LetterContext(BaseModel):
    """Everything a template may print. Amounts are Decimal, dates are dates: templates format them."""

    model_config = ConfigDict(frozen=True)

    kind: str  # template name, e.g. reminder_overdue, mise_en_demeure
    language: str  # fr | en
    today: dt.date
    invoice: Invoice
    creditor: Creditor
    rule_id: str
    policy_ref: str  # policy_id@vN
    principal_due: Decimal
    penalties_due: Decimal = Decimal("0")
    indemnity_due: Decimal = Decimal("0")
    penalty_lines: list[PenaltyLine] = []
    # What came in and how it was applied, and the penalties the lines add up to before payments: a letter's
    # table shows lines, payments and the amount due, which add up.
    payments: list[Allocation] = []
    penalties_accrued: Decimal | None = None
    penalties_paid: Decimal = Decimal("0")
    indemnity_paid: Decimal = Decimal("0")
    deadline: dt.date | None = None  # pay-by date of a mise en demeure
    days_late: int = 0
    instalments: list[Instalment] = []
    instalment: Instalment | None = None  # the one a reminder is about
    note: str = ""  # ops task text, dispute reason, court step...
    recipient: str = ""  # insurer or ops name where the letter is not to the debtor
    expected_indemnity: Decimal | None = None
    attachments: list[str] = []  # supporting documents listed in a dossier
    # A message for a customer's account (grouping per_debtor): every invoice it carries, the credits netted
    # against them and what the account's message left out (disputed or not covered invoices, with why).
    account_lines: list[AccountLine] = []
    credits: list[AccountCredit] = []
    left_out: list[str] = []
    complements: str = ""  # the customer's earlier threat-of-loss notice an insurer notice adds invoices to

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.penalties_due + self.indemnity_due

    @property
    def account_total(self) -> Decimal:
        return sum((line.total_due for line in self.account_lines), Decimal("0"))

    @property
    def credits_total(self) -> Decimal:
        return sum((credit.amount for credit in self.credits), Decimal("0"))

    @property
    def account_net(self) -> Decimal:
        """What the customer owes on the invoices listed, once its credits are netted."""
        return self.account_total - self.credits_total
