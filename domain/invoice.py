"""An invoice and its debtor as the ledger gives them.

The bounds of what a case can carry for years without an overflow or a send that fails forever (an amount of
1E400, a due date in 9999, an email address with a NUL byte) are checked at the door, by the ledger, with the
functions below; not by the models, which every workflow replay validates again: tightening them would break
cases already running (an invoice of 150 million euros opened last year).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Deliberately simple: one @, a dotted domain, no spaces. Deliverability is the SMTP server's to judge.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INVOICE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, less the angle brackets

# The largest invoice amount accepted, in euros; a policy may set a lower one (`amount_problem(..., maximum=)`).
MAX_AMOUNT = Decimal("100000000.00")
# How far from today a ledger's dates may be: an older issue date is an archive, a later one a typo.
MAX_ISSUE_YEARS_BACK = 10
MAX_ISSUE_DAYS_AHEAD = 366
MAX_DUE_YEARS_AHEAD = 5


def amount_problem(amount: Decimal, maximum: Decimal = MAX_AMOUNT) -> str | None:
    """Why `amount` cannot be an invoice amount, or None: finite, more than 0, cents at most, at most `maximum`."""
    if not amount.is_finite():
        return f"{amount} is not an amount"
    if amount <= 0:
        return "must be more than 0"
    if amount > maximum:  # before the cents: quantizing 1E+400 would overflow
        return f"more than the maximum of {maximum:.2f} EUR"
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        return "at most 2 decimals (cents)"
    return None


def email_problem(email: str) -> str | None:
    """Control and invisible characters (NUL, a zero-width space) and overlong addresses, which every SMTP
    server would refuse, so that the case would retry the send forever; None when there is none."""
    hidden = next((c for c in email if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if hidden is not None:
        return f"not a valid email address: contains the control character U+{ord(hidden):04X}"
    if len(email) > _MAX_EMAIL_LENGTH:
        return f"not a valid email address: longer than {_MAX_EMAIL_LENGTH} characters"
    return None


def date_problems(issue_date: dt.date | None, due_date: dt.date | None, today: dt.date) -> list[tuple[str, str]]:
    """(field, why) for each date too far from `today` to be a real invoice's; today comes from the caller."""
    problems = []
    earliest = _years_before(today, MAX_ISSUE_YEARS_BACK)
    if issue_date is not None and issue_date < earliest:
        problems.append(("issue_date", f"{issue_date} is more than {MAX_ISSUE_YEARS_BACK} years before today ({today})"))
    if issue_date is not None and issue_date > today + dt.timedelta(days=MAX_ISSUE_DAYS_AHEAD):
        problems.append(("issue_date", f"{issue_date} is more than a year after today ({today})"))
    if due_date is not None and due_date > _years_before(today, -MAX_DUE_YEARS_AHEAD):
        problems.append(("due_date", f"{due_date} is more than {MAX_DUE_YEARS_AHEAD} years after today ({today})"))
    return problems


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class Debtor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    debtor_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    email: str
    language: Literal["fr", "en"] = "fr"
    siren: str = ""
    address: str = ""
    country: str = "FR"
    segment: str = ""
    insured: bool = False
    credit_limit: Decimal | None = Field(default=None, ge=0)
    credit_limit_on: dt.date | None = None  # the date of the insurer's decision on the limit (agrément)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not a valid email address")
        return value


class Invoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str
    debtor: Debtor
    issue_date: dt.date
    due_date: dt.date
    amount_incl_tax: Decimal = Field(gt=0, decimal_places=2)
    amount_excl_tax: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    currency: Literal["EUR"] = "EUR"
    policy_id: str = "default"
    purchase_order: str = ""
    delivery_proof: str = ""

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        if not _INVOICE_NUMBER.match(value):
            raise ValueError("letters, digits and . _ / - only, at most 64 characters")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> "Invoice":
        if self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        if self.amount_excl_tax is not None and self.amount_excl_tax > self.amount_incl_tax:
            raise ValueError("amount_excl_tax is larger than amount_incl_tax")
        if self.debtor.insured and self.amount_excl_tax is None:
            raise ValueError("an insured debtor's invoice needs amount_excl_tax (the insurer covers it)")
        return self

    @property
    def workflow_id(self) -> str:
        return case_workflow_id(self.number)


def case_workflow_id(invoice_number: str) -> str:
    """The business identity of a case: importing the same invoice twice finds the same workflow."""
    return f"invoice-{invoice_number}"


def invoice_number_of(workflow_id: str) -> str:
    """The inverse of `case_workflow_id`."""
    return workflow_id.removeprefix("invoice-")
