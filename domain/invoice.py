"""An invoice and its debtor as the ledger gives them."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Deliberately simple: one @, a dotted domain, no spaces. Deliverability is the SMTP server's to judge.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INVOICE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


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
