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
    insolvency = "insolvency"
    closed = "closed"


class Reminder(Rule):
    """One step of the reminder ladder, dated from the invoice due date (J-10 is -10, J+30 is 30)."""

    id: str = Field(description="Rule id, written in the audit trail of every action it causes.")
    offset_days: int = Field(description="Days from the due date: -10 is J-10 (before), 30 is J+30 (after).")
    channels: list[Channel] = Field(min_length=1, description="email, phone (a call task for ops), letter (a printable document).")
    template: str = Field(description="Template kind under templates/<language>/ (e.g. reminder_overdue).")
    note: str = Field(default="", description="Text of the ops task for the phone channel.")
    attach_pdf: bool = Field(default=False, description="Attach the letter (the template's printable version) to the"
                             " email as a PDF.")

    @property
    def stage(self) -> Stage:
        return Stage.preventive if self.offset_days <= 0 else Stage.amicable


class Calendar(Rule):
    business_days_only: bool = Field(default=True, description="Move every sending to the next working day (no weekend, no French public holiday).")
    country: Literal["FR"] = Field(default="FR", description="Public-holiday calendar.")
    region: Literal["metropole", "alsace-moselle"] = Field(
        default="metropole",
        description="alsace-moselle adds Good Friday and 26 December, for sending and for legal deadlines.")
    extra_closed_days: list[dt.date] = Field(
        default=[], description="Company closures, as dates: nothing goes out then. They do not extend legal deadlines.")
    send_hour: int = Field(default=9, ge=0, le=23, description="Local hour at which a dated step goes out.")
    timezone: str = Field(default="Europe/Paris", description="Time zone of the dates and the sending hour.")


class FormalNotice(Rule):
    id: str = Field(default="mise-en-demeure", description="Rule id of the mise en demeure.")
    offset_days: int = Field(gt=0, description="Days after the due date (typically 60).")
    deadline_days: int = Field(gt=0, description="Days the debtor is given to pay (8 to 15), counted per CPC 641-642.")
    channels: list[Channel] = Field(min_length=1, description="email and/or letter (LRAR is sent by ops from the printable letter).")
    template: str = Field(default="mise_en_demeure", description="Template kind of the notice.")
    attach_pdf: bool = Field(default=False, description="Attach the notice, printed as a PDF, to its email.")


class EcbRate(Rule):
    effective: dt.date = Field(description="1 January or 1 July of the half-year.")
    rate_percent: Decimal = Field(description="Rate in percent, e.g. \"2.15\".")


class Penalties(Rule):
    """Code de commerce L441-10 and D441-5: ECB refinancing rate + points, and the fixed indemnity."""

    points_over_ecb: Decimal = Field(ge=0, description="Points added to the ECB rate (L441-10: 10 unless the contract says otherwise).")
    fixed_indemnity: Decimal = Field(ge=0, description="Fixed recovery indemnity per invoice paid late (D441-5: 40.00; 0 waives it).")
    days_in_year: Literal[360, 365, 366] = Field(default=365, description="Day count of the penalty formula: amount × rate × days / this (365; 360 or 366 where the contract says so).")
    ecb_rates: list[EcbRate] = Field(min_length=1, description="ECB main refinancing rate in force on each 1 January and 1 July.")
    # Taux de l'intérêt légal (professional creditors): a contractual rate must stay above 3 times it.
    legal_rates: list[EcbRate] = Field(default=[], description="Taux de l'intérêt légal per half-year, to check the 3× floor of a contractual rate.")

    @field_validator("ecb_rates")
    @classmethod
    def _sorted(cls, rates: list[EcbRate]) -> list[EcbRate]:
        return sorted(rates, key=lambda r: r.effective)


class Negotiation(Rule):
    id: str = Field(default="payment-plan", description="Rule id of payment-plan decisions.")
    max_instalments: int = Field(gt=0, description="Most instalments a plan may have.")
    min_instalment: Decimal = Field(ge=0, description="Smallest instalment, except the last one.")
    max_duration_days: int = Field(gt=0, description="Days from acceptance to the last instalment.")
    reminder_days_before: int = Field(ge=0, description="Days before each instalment that its reminder goes out.")
    grace_days: int = Field(ge=0, description="Days after an instalment's due date before it counts as missed.")
    on_missed_instalment: Literal["formal_notice", "resume_reminders"] = Field(description="formal_notice: straight to the mise en demeure; resume_reminders: the ladder resumes, shifted.")
    template: str = Field(default="instalment_reminder", description="Template kind of instalment reminders.")


class Condition(Rule):
    """All given fields must hold. Amounts compare the principal still due, tax included."""

    insured: bool | None = Field(default=None, description="Debtor insured by the credit insurer (true/false).")
    amount_at_least: Decimal | None = Field(default=None, description="Principal due ≥ this (EUR, tax included).")
    amount_below: Decimal | None = Field(default=None, description="Principal due < this.")
    segments: list[str] | None = Field(default=None, description="Debtor segment is one of these.")
    countries: list[str] | None = Field(default=None, description="Debtor country is one of these.")

    def holds(self, *, insured: bool, amount: Decimal, segment: str, country: str) -> bool:
        return ((self.insured is None or self.insured == insured)
                and (self.amount_at_least is None or amount >= self.amount_at_least)
                and (self.amount_below is None or amount < self.amount_below)
                and (self.segments is None or segment in self.segments)
                and (self.countries is None or country in self.countries))


class EscalationRule(Rule):
    id: str = Field(description="Rule id.")
    when: Condition = Field(default=Condition(), description="Conditions that must all hold.")
    path: Literal["injonction", "small_claims", "insurer_claim", "ops_review"] = Field(description="insurer_claim, injonction, small_claims or ops_review.")


class Injonction(Rule):
    """CPC 1405 and following: the order lapses if not served within 6 months; 1 month for opposition."""

    serve_within_months: int = Field(gt=0, description="The order lapses unless served within this (CPC 1411: 6).")
    opposition_months: int = Field(gt=0, description="Debtor's time to oppose after service (CPC 1416: 1).")
    task_days_before_deadline: int = Field(ge=0, description="Ops get a task this many days before the service deadline.")
    court_fee: Decimal = Field(ge=0, description="Court fee, for the breakdown (EUR).")


class InsolvencyRules(Rule):
    """Procédure collective of the debtor (sauvegarde, redressement, liquidation judiciaire): every chase stops,
    interest stops running, and the claim must be declared to the mandataire judiciaire in time."""

    id: str = Field(default="procedure-collective", description="Rule id written in the audit trail of what insolvency causes.")
    declaration_months: int = Field(gt=0, description="Time to declare the claim from the BODACC publication (C. com. R622-24: 2).")
    task_days_before_deadline: int = Field(ge=0, description="Ops get a reminder this many days before the declaration deadline.")
    relief_months: int = Field(default=6, gt=0, description="Time to ask the juge-commissaire for a relevé de forclusion after a missed declaration, from the BODACC publication (C. com. L622-26: 6).")


class SmallClaims(Rule):
    max_amount: Decimal = Field(gt=0, description="Ceiling of the simplified procedure, interest included (5000.00).")
    response_months: int = Field(gt=0, description="Debtor's time to answer the commissaire de justice.")


class Insurer(Rule):
    """Credit-insurer policy terms: the DMS must be filed before max credit period + filing window."""

    name: str = Field(description="Insurer's name in letters.")
    claims_email: str = Field(description="Where the threat-of-loss notice is sent.")
    max_credit_period_days: int = Field(gt=0, description="Maximum credit period of the policy, from the due date.")
    filing_window_days: int = Field(gt=0, description="Days after it to file the DMS (déclaration de menace de sinistre).")
    extension_days: int = Field(ge=0, description="Prorogation the insurer grants on request.")
    file_days_before_deadline: int = Field(ge=0, description="Safety margin: file at the latest this many days before the deadline.")
    cover_percent: Decimal = Field(gt=0, le=100, description="Quotité garantie, e.g. 90.")
    deductible: Decimal = Field(ge=0, description="Franchise per claim (EUR).")
    waiting_period_months: int = Field(gt=0, description="Délai constitutif de sinistre: ops get a task when it ends.")
    attach_claim_file: bool = Field(default=False, description="Attach the claim file, as a PDF, to the email to"
                                    " the claims address.")


class Disputes(Rule):
    default_review_days: int = Field(gt=0)
    on_resume: Literal["shift", "keep"] = Field(description="shift: the schedule moves by the days paused; keep: it does not.")


class Payments(Rule):
    currency: Literal["EUR"] = Field(default="EUR", description="Currency of the ledger.")
    impute: Literal["penalties_first", "penalties_indemnity_principal", "penalties_principal_indemnity", "principal_first"] = Field(
        default="penalties_first",
        description="Order in which a payment settles what is owed. penalties_first (the default, the same as"
                    " penalties_indemnity_principal): late-payment penalties, then the fixed indemnity, then the principal."
                    " Penalties come before principal as Code civil 1343-1 requires of interest; the indemnity (D441-5)"
                    " compensates recovery costs, which the traditional order (costs, interest, capital) also settles"
                    " before capital, and a debtor who pays the total shown then owes nothing more."
                    " penalties_principal_indemnity leaves the indemnity for last; principal_first only where the"
                    " contract says so (`rules check` warns).")
    close_below: Decimal = Field(ge=0, description="A remainder this small is written off and the case closes.")
    # invoice_amount_paid: receiving the invoice amount closes the case and waives accrued penalties;
    # all_paid: penalties must be paid too.
    close_when: Literal["invoice_amount_paid", "all_paid"] = Field(default="invoice_amount_paid", description="invoice_amount_paid (penalties waived on full payment) or all_paid.")
    thank_you_template: str | None = Field(default=None, description="Template kind of the thank-you email; empty for none.")


class BankRules(Rule):
    """Money read from bank statements (`relance bank import`): what is matched on its own, and how a reminder
    waits for a credit that is probably the debtor's."""

    allocation: Literal["remittance_order", "oldest_first"] = Field(
        default="remittance_order",
        description="How one credit is shared between several invoices when it does not pay each in full:"
                    " remittance_order serves the invoices in the order the remittance names them (the oldest due"
                    " first for those it does not name); oldest_first always serves the oldest due date first.")
    max_invoices_combined: int = Field(
        default=8, gt=0, le=16,
        description="A credit without a usable reference is matched to a set of the customer's open invoices whose"
                    " amounts add up to it only when the customer has at most this many (the search is exhaustive).")
    hold_days: int = Field(
        default=5, ge=0,
        description="Before a message goes to a debtor, a credit not matched yet that is probably theirs (same"
                    " IBAN or name, amount close to what is due) holds it this many days, and ops get a task; 0 never holds.")
    hold_amount_tolerance_percent: Decimal = Field(
        default=Decimal("5"), ge=0, le=100,
        description="How close to what is due (principal, or the total with penalties) such a credit's amount must"
                    " be, in percent, to hold a message.")


class CatchUp(Rule):
    """What an invoice imported late gets (`relance import` of a book already overdue): the reminder that
    matches its age, not every one it missed, and never one it is too late for; first messages spread over days."""

    id: str = Field(default="catch-up", description="Rule id in the audit trail.")
    daily_first_messages: int = Field(
        default=200, gt=0,
        description="At most this many imported invoices of this policy get their first message on one day; the"
                    " others the next business days, in the order of the file (a book of 5,000 overdue invoices is"
                    " worked through over days, not in one burst).")
    days_after_last_message: int = Field(
        default=7, ge=0,
        description="An invoice whose history says a reminder or a mise en demeure went out gets nothing more"
                    " before this many days after it.")


class Ops(Rule):
    email: str = Field(description="Mailbox that receives ops tasks.")
    task_after_failing_minutes: int = Field(
        default=60, gt=0,
        description="A step that keeps failing for a passing reason (SMTP relay, court or insurer service down) is"
                    " retried with backoff; after this many minutes ops get one task saying so, and retries go on.")


class Account(Rule):
    """How a customer's invoices share one conversation when `grouping` is per_debtor (workflows/debtor_account.py)."""

    collect_minutes: int = Field(
        default=15, ge=0, le=720,
        description="After the first invoice of a customer asks to send, the customer's account waits this long for"
                    " the others of the same sending moment, then sends one message for all of them (0: at once,"
                    " with whatever else has already asked).")
    min_gap_days: int = Field(
        default=3, ge=1,
        description="Days at least between two reminder emails to the same customer (1: at most one a day). A step"
                    " falling sooner waits, and goes out with whatever else is then due.")


class Creditor(Rule):
    """The supplier: named in every letter, required in a mise en demeure and a court request."""

    name: str = Field(description="Your company, as named in letters.")
    address: str = Field(description="Registered address.")
    siren: str = Field(description="SIREN number.")
    email: str = Field(description="Contact address in letters.")
    phone: str = Field(default="", description="Contact phone.")
    iban: str = Field(default="", description="Where debtors pay.")


class Policy(Rule):
    policy_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Identifier; invoices name it in the ledger's policy column.")
    version: int = Field(gt=0, description="Raise it at every change: cases record which version decided each action.")
    # adopt: running cases follow a new version from their next step; pin: they keep the version they opened with.
    adoption: Literal["adopt", "pin"] = Field(default="adopt", description="adopt: running cases follow a new version from their next step; pin: they keep theirs.")
    description: str = Field(default="", description="Free text.")
    language: Literal["fr", "en"] = Field(default="fr", description="Default language of letters (a debtor's own language wins).")
    max_payment_terms_days: int = Field(gt=0, description="Longest payment terms the policy expects (L441-10 caps at 60).")
    calendar: Calendar = Field(default=Calendar(), description="When things may go out.")
    reminders: list[Reminder] = Field(min_length=1, description="The reminder ladder, in increasing offset_days.")
    formal_notice: FormalNotice = Field(description="The mise en demeure.")
    negotiation: Negotiation = Field(description="Bounds of an acceptable payment plan.")
    escalation: list[EscalationRule] = Field(min_length=1, description="Ordered rules choosing the path after the notice; the first that matches wins.")
    injonction: Injonction = Field(description="Injonction de payer deadlines.")
    small_claims: SmallClaims = Field(description="Small-claims procedure.")
    insurer: Insurer = Field(description="Credit-insurance policy terms.")
    # A default, unlike the other sections: cases opened before the section existed carry policy snapshots
    # without it, and must still decode; `rules check` warns a file that leaves it out.
    insolvency: InsolvencyRules = Field(default=InsolvencyRules(declaration_months=2, task_days_before_deadline=15),
                                   description="What a procédure collective of the debtor changes (default: the legal 2 months, a task 15 days before).")
    # A default, like insolvency: policy snapshots of cases opened before the section existed must decode.
    catch_up: CatchUp = Field(default=CatchUp(), description="What an invoice imported late gets first, and how many a day.")
    disputes: Disputes = Field(description="Disputed invoices.")
    payments: Payments = Field(description="Payments and closing.")
    penalties: Penalties = Field(description="Late-payment penalties and the fixed indemnity.")
    # A default, like insolvency: policy snapshots carried by running cases were written before it existed.
    bank: BankRules = Field(default=BankRules(), description="Bank statements: matching credits to invoices, holding reminders.")
    ops: Ops = Field(description="The ops team.")
    creditor: Creditor = Field(description="Your company.")
    # per_invoice is the model's default, not the shipped files': policy snapshots of cases opened before grouping
    # existed decode without it and must go on as they began, one message per invoice.
    grouping: Literal["per_debtor", "per_invoice"] = Field(
        default="per_invoice",
        description="per_debtor: everything a customer's invoices send on the same day goes out as one message per"
                    " customer (reminders listing each invoice at the highest step among them, one mise en demeure,"
                    " one court request, one insurer notice); per_invoice: each invoice on its own.")
    account: Account = Field(default=Account(), description="The customer account's settings under per_debtor grouping.")
    content_hash: str = Field(default="", description="Computed by the loader from the file; never written by admins.")

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


_SHARED: dict[tuple[str, int, str], Policy] = {}


def shared(policy: Policy) -> Policy:
    """One instance per policy version in a process, however many cases read it.

    Each case decodes its own copy of the policy it loads (about 30 KB once built); thousands of cached
    cases under the same version can share one, because a Policy is frozen and equal versions with equal
    hashes are equal in content.
    """
    if not policy.content_hash:  # built in code rather than read from a file: nothing vouches for its content
        return policy
    return _SHARED.setdefault((policy.policy_id, policy.version, policy.content_hash), policy)
