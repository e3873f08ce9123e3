"""The collection policy that admins write in YAML: every offset, channel, template and threshold.

Plain pydantic: no Temporal here. The workflow receives a validated `Policy` through an activity.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(StrEnum):
    email = "email"
    phone = "phone"  # a call task for ops; nothing is sent
    letter = "letter"  # a printable document for the post (LRAR for a mise en demeure)


class Stage(StrEnum):
    preventive = "preventive"
    amicable = "amicable"
    negotiation = "negotiation"
    formal_notice = "formal_notice"
    injonction = "injonction"
    small_claims = "small_claims"
    insurer_claim = "insurer_claim"
    closed = "closed"


class Reminder(Rule):
    """One step of the reminder ladder, dated from the invoice due date (J-10 is -10, J+30 is 30)."""

    id: str
    offset_days: int
    channels: list[Channel] = Field(min_length=1)
    template: str
    note: str = ""

    @property
    def stage(self) -> Stage:
        return Stage.preventive if self.offset_days <= 0 else Stage.amicable


class Calendar(Rule):
    business_days_only: bool = True
    country: Literal["FR"] = "FR"
    extra_closed_days: list[dt.date] = []
    send_hour: int = Field(default=9, ge=0, le=23)  # local time at which a dated step goes out
    timezone: str = "Europe/Paris"


class FormalNotice(Rule):
    id: str = "mise-en-demeure"
    offset_days: int = Field(gt=0)
    deadline_days: int = Field(gt=0)
    channels: list[Channel] = Field(min_length=1)
    template: str = "mise_en_demeure"


class EcbRate(Rule):
    effective: dt.date
    rate_percent: Decimal


class Penalties(Rule):
    """Code de commerce L441-10 and D441-5: ECB refinancing rate + points, and the fixed indemnity."""

    points_over_ecb: Decimal
    fixed_indemnity: Decimal
    days_in_year: int = 365
    ecb_rates: list[EcbRate] = Field(min_length=1)
    # Taux de l'intérêt légal (professional creditors): a contractual rate must stay above 3 times it.
    legal_rates: list[EcbRate] = []

    @field_validator("ecb_rates")
    @classmethod
    def _sorted(cls, rates: list[EcbRate]) -> list[EcbRate]:
        return sorted(rates, key=lambda r: r.effective)


class Negotiation(Rule):
    id: str = "payment-plan"
    max_instalments: int = Field(gt=0)
    min_instalment: Decimal = Field(ge=0)
    max_duration_days: int = Field(gt=0)
    reminder_days_before: int = Field(ge=0)
    grace_days: int = Field(ge=0)
    on_missed_instalment: Literal["formal_notice", "resume_reminders"]
    template: str = "instalment_reminder"


class Condition(Rule):
    """All given fields must hold. Amounts compare the principal still due, tax included."""

    insured: bool | None = None
    amount_at_least: Decimal | None = None
    amount_below: Decimal | None = None
    segments: list[str] | None = None
    countries: list[str] | None = None

    def holds(self, *, insured: bool, amount: Decimal, segment: str, country: str) -> bool:
        return ((self.insured is None or self.insured == insured)
                and (self.amount_at_least is None or amount >= self.amount_at_least)
                and (self.amount_below is None or amount < self.amount_below)
                and (self.segments is None or segment in self.segments)
                and (self.countries is None or country in self.countries))


class EscalationRule(Rule):
    id: str
    when: Condition = Condition()
    path: Literal["injonction", "small_claims", "insurer_claim", "ops_review"]


class Injonction(Rule):
    """CPC 1405 and following: the order lapses if not served within 6 months; 1 month for opposition."""

    serve_within_months: int = Field(gt=0)
    opposition_months: int = Field(gt=0)
    task_days_before_deadline: int = Field(ge=0)
    court_fee: Decimal = Field(ge=0)


class SmallClaims(Rule):
    max_amount: Decimal = Field(gt=0)
    response_months: int = Field(gt=0)


class Insurer(Rule):
    """Credit-insurer policy terms: the DMS must be filed before max credit period + filing window."""

    name: str
    claims_email: str
    max_credit_period_days: int = Field(gt=0)
    filing_window_days: int = Field(gt=0)
    extension_days: int = Field(ge=0)  # prorogation granted on request
    file_days_before_deadline: int = Field(ge=0)
    cover_percent: Decimal = Field(gt=0, le=100)
    deductible: Decimal = Field(ge=0)
    waiting_period_months: int = Field(gt=0)


class Disputes(Rule):
    default_review_days: int = Field(gt=0)
    on_resume: Literal["shift", "keep"]


class Payments(Rule):
    currency: Literal["EUR"] = "EUR"
    impute: Literal["penalties_first", "principal_first"] = "penalties_first"
    close_below: Decimal = Field(ge=0)  # a remainder this small is written off and the case closes
    # invoice_amount_paid: receiving the invoice amount closes the case and waives accrued penalties;
    # all_paid: penalties must be paid too.
    close_when: Literal["invoice_amount_paid", "all_paid"] = "invoice_amount_paid"
    thank_you_template: str | None = None


class Ops(Rule):
    email: str


class Creditor(Rule):
    """The supplier: named in every letter, required in a mise en demeure and a court request."""

    name: str
    address: str
    siren: str
    email: str
    phone: str = ""
    iban: str = ""


class Policy(Rule):
    policy_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: int = Field(gt=0)
    # adopt: running cases follow a new version from their next step; pin: they keep the version they opened with.
    adoption: Literal["adopt", "pin"] = "adopt"
    description: str = ""
    language: Literal["fr", "en"] = "fr"
    max_payment_terms_days: int = Field(gt=0)
    calendar: Calendar = Calendar()
    reminders: list[Reminder] = Field(min_length=1)
    formal_notice: FormalNotice
    negotiation: Negotiation
    escalation: list[EscalationRule] = Field(min_length=1)
    injonction: Injonction
    small_claims: SmallClaims
    insurer: Insurer
    disputes: Disputes
    payments: Payments
    penalties: Penalties
    ops: Ops
    creditor: Creditor
    content_hash: str = ""  # set by the loader from the file bytes, never written by admins

    @model_validator(mode="after")
    def _coherent(self) -> "Policy":
        ids = [r.id for r in self.reminders] + [self.formal_notice.id] + [e.id for e in self.escalation]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique, repeated: {', '.join(dupes)}")
        offsets = [r.offset_days for r in self.reminders]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            raise ValueError("reminders must be listed in strictly increasing offset_days")
        if self.formal_notice.offset_days <= offsets[-1]:
            raise ValueError("formal_notice.offset_days must come after the last reminder")
        return self

    @property
    def ref(self) -> str:
        return f"{self.policy_id}@v{self.version}"
