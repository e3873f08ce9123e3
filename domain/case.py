"""The state of one collection case, and the messages ops send to it.

These models cross the Temporal boundary (workflow input, continue-as-new, updates, queries),
so they hold plain data only; the lifecycle itself lives in workflows/invoice_case.py.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.invoice import Invoice
from domain.letters import Allocation, Instalment, PenaltyLine
from domain.policy import Policy, Stage
from domain.prior import PriorHistory
from domain.statement import Entry, Opening, Period

EscalationPath = Literal["injonction", "small_claims", "insurer_claim", "ops_review"]
# The steps ops confirm on each procedure; the workflow, the CLI and simulated debtors share these names.
COURT_STEPS = ("filed", "order_issued", "served", "no_opposition", "opposition", "rejected")
SMALL_CLAIMS_STEPS = ("sent", "agreed", "refused")
INSURER_STEPS = ("extension_granted", "acknowledged", "indemnified", "recovered")
DECLARATION_STEPS = ("declared", "admitted", "rejected")  # the claim declared to the mandataire judiciaire
PROCEDURE_STEPS = {"court": COURT_STEPS, "small_claims": SMALL_CLAIMS_STEPS, "insurer": INSURER_STEPS,
                   "declaration": DECLARATION_STEPS}
InsolvencyKind = Literal["sauvegarde", "redressement", "liquidation"]

# What ops must do when a procedure takes one of these turns.
PROCEDURE_TASKS = {
    "injonction:opposition": "Opposition du débiteur: l'affaire passe en procédure contentieuse, préparer l'assignation",
    "injonction:rejected": "Requête rejetée (sans recours possible): assigner le débiteur au fond",
    "small_claims:agreed": "Accord du débiteur constaté par le commissaire de justice: titre exécutoire à faire exécuter",
    "small_claims:refused": "Refus du débiteur: envisager l'injonction de payer",
    "insurer_claim:recovered": "Recouvrement par l'assureur: rapprocher les encaissements reversés",
}


class Action(BaseModel):
    """One line of the audit trail: what the case did, when, and which rule of which policy decided it."""

    at: dt.datetime
    stage: Stage
    kind: str  # email, letter, task, document, payment, dispute, plan, court, insurer, escalation, skipped, close
    step: str  # business identity of the step, e.g. reminder:amicable-j+2
    rule_id: str
    policy_ref: str
    summary: str
    refs: list[str] = []  # message ids, document paths, claim references
    by: str | None = None  # who sent the message from ops (a console user, `cli:<login>`); None: the case itself


class OpsTask(BaseModel):
    key: str
    due: dt.date
    text: str
    rule_id: str


class Dispute(BaseModel):
    reason: str
    opened_at: dt.datetime
    review_by: dt.date
    review_task_raised: bool = False


class PaymentPlan(BaseModel):
    accepted_at: dt.datetime
    instalments: list[Instalment]
    paid_before_plan: Decimal  # total received before acceptance, so instalments count only what follows
    missed: int | None = None  # 1-based number of the first missed instalment


class TrackedStep(BaseModel):
    """A step of a court, small-claims or insurer procedure, as ops confirmed it."""

    name: str
    on: dt.date
    amount: Decimal | None = None


class Insolvency(BaseModel):
    """The debtor's procédure collective, as ops recorded it (from the BODACC or the court's notice)."""

    kind: InsolvencyKind
    judgment_on: dt.date  # the opening judgment: interest stops running, chasing stops
    published_on: dt.date | None = None  # BODACC publication: starts the time to declare the claim
    recorded_at: dt.datetime | None = None


class StepFailure(BaseModel):
    """A step that could not be carried out: why, since when, and whether the case waits for ops to retry it."""

    step: str
    error: str
    since: dt.datetime
    waiting_for_retry: bool  # a failure retrying cannot fix; else it is still retried


class CreditHold(BaseModel):
    """Messages to the debtor wait: a bank credit not matched yet is probably their payment."""

    entry: str  # the bank entry's reference
    amount: Decimal
    value_on: dt.date | None = None
    until: dt.date


class ReturnedPayment(BaseModel):
    """A payment the bank took back, kept so that ops are told once."""

    bank_reference: str
    amount: Decimal
    reason: str = ""


class NextAction(BaseModel):
    step: str
    rule_id: str
    label: str
    at: dt.datetime


class PaymentReversal(BaseModel):
    """A payment the bank took back (a direct debit returned, a cheque unpaid, a transfer returned)."""

    model_config = ConfigDict(frozen=True)

    bank_reference: str = Field(min_length=1)  # the bank entry of the payment taken back
    returned_by: str = ""  # the bank entry of the return
    reason: str = ""  # the bank's reason code or words


# Lifecycle statuses of the 2026 e-invoicing reform that collections acts on, received from the approved platform.
PLATFORM_STATUSES = {"207": "En litige", "208": "Suspendue", "210": "Refusée", "213": "Rejetée", "225": "Affacturée"}


class PlatformStatus(BaseModel):
    """A lifecycle status of the invoice received from the e-invoicing platform."""

    model_config = ConfigDict(frozen=True)

    code: Literal["207", "208", "210", "213", "225"]
    on: dt.date
    comment: str = ""


class CaseState(BaseModel):
    """Everything the workflow knows; carried whole through continue-as-new."""

    invoice: Invoice
    opened_at: dt.datetime
    stage: Stage = Stage.preventive
    principal: Decimal  # principal due after the entries (a copy of the statement's, for rules and visibility)
    # The money's dated facts: every figure is computed from them (domain/statement.py), never accrued by wake-up.
    entries: list[Entry] = []
    interest_free: list[Period] = []  # while a payment plan held
    opening: Opening | None = None  # the balance of a case carried over from before entries were kept
    # Cases carried over by continue-as-new from before entries were kept booked their penalties here; read
    # once into `opening`, never written since.
    penalties: Decimal = Decimal("0")
    accrued_through: dt.date
    penalty_lines: list[PenaltyLine] = []
    indemnity: Decimal = Decimal("0")
    paid_total: Decimal = Decimal("0")
    credited_total: Decimal = Decimal("0")
    overpaid: Decimal = Decimal("0")
    shift_days: int = 0  # calendar days the ladder moved by (disputes, an honoured plan)
    done: list[str] = []  # step identities already carried out: never twice
    audit: list[Action] = []
    tasks: list[OpsTask] = []
    withdrawn_tasks: list[str] = []  # tasks taken back before they were written (decisions.withdrawn)
    dispute: Dispute | None = None
    insolvency: Insolvency | None = None
    plan: PaymentPlan | None = None
    notice_sent_on: dt.date | None = None
    path: EscalationPath | None = None
    path_rule: str | None = None
    procedure: list[TrackedStep] = []
    expected_indemnity: Decimal | None = None
    closed_reason: str | None = None
    failure: StepFailure | None = None
    hold: CreditHold | None = None
    held_for: list[str] = []  # bank entries that held this case once
    returned: list[ReturnedPayment] = []  # payments the bank took back
    platform: list[PlatformStatus] = []  # e-invoicing statuses received


class CaseStart(BaseModel):
    invoice: Invoice
    carried: CaseState | None = None  # set by continue-as-new
    policy: Policy | None = None  # likewise: a pinned case keeps the version it opened with
    newer_policy: int | None = None  # likewise: a version announced but not adopted yet
    # Cases opened by this code read their policy in a local activity. The flag stays False in the start of
    # cases opened earlier, whose histories replay the regular activity (or the `policy-read-locally` patch).
    # A flag rather than a patch for new cases: `workflow.patched` costs each case a marker and an upsert of
    # TemporalChangeVersion, two history events and worker memory for as long as the case is cached.
    read_policy_locally: bool = False
    # Cases opened by this code look for a probable bank credit before a message goes to the debtor; those opened
    # earlier do so once the `bank-hold` patch is in their history (replays of older histories never schedule it).
    bank_checks: bool = False
    # A case closed as paid and reopened because its payment was returned: the reversal it starts with.
    reversal: PaymentReversal | None = None
    # A case that wakes on a worker that no longer caches it replays its whole history: past this many
    # events it continues as new (carrying its state) even before the server suggests it.
    history_events_limit: int = Field(default=2000, gt=0)
    # Set by `relance import` (domain.history): the invoice's past, and the first day the import's daily cap lets
    # it send on. Cases started without them open as they always did, so their histories replay unchanged.
    prior: PriorHistory | None = None
    catch_up_from: dt.date | None = None
    # The daily cap gave the first message a place on `catch_up_from` (published at start, so that a later import
    # counts the places already taken: relance.go_live.places_taken).
    catch_up_capped: bool = False


class CaseStatus(BaseModel):
    invoice_number: str
    debtor: str
    stage: Stage
    policy_ref: str
    principal_due: Decimal
    penalties_due: Decimal
    indemnity_due: Decimal
    total_due: Decimal
    paid_total: Decimal
    overpaid: Decimal
    paused: bool
    dispute: Dispute | None
    plan: PaymentPlan | None
    path: EscalationPath | None
    path_rule: str | None
    expected_indemnity: Decimal | None
    procedure: list[TrackedStep]
    next_action: NextAction | None
    tasks: list[OpsTask]
    audit: list[Action]
    closed_reason: str | None
    insolvency: Insolvency | None = None
    # The statement the amounts above come from: its date, penalty lines and what each entry paid.
    as_of: dt.date | None = None
    penalty_lines: list[PenaltyLine] = []
    allocations: list[Allocation] = []
    written_off: Decimal = Decimal("0")
    failure: StepFailure | None = None
    hold: CreditHold | None = None
    invoice: Invoice | None = None  # as imported: due date, debtor id, SIREN, credit limit (the console reads them)
    # The invoice's amount as the case knows it, credit notes deducted: what a newer export is compared with.
    invoice_amount: Decimal | None = None


# Messages from ops. Validators reject bad input before it reaches the workflow's history.


class OpsMessage(BaseModel):
    """A message from ops names who sent it: the case writes the name on the audit lines it causes."""

    model_config = ConfigDict(frozen=True)

    by: str = Field(default="", max_length=200)


class Payment(OpsMessage):
    amount: Decimal
    currency: str = "EUR"
    paid_on: dt.date | None = None  # defaults to the day it is recorded (a bank credit: its value date)
    reference: str = ""
    # The bank entry this payment comes from (`relance bank`): a case records one bank entry once.
    bank_reference: str = ""

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("a payment amount must be positive")
        return value.quantize(Decimal("0.01"))


class PaymentReceipt(BaseModel):
    to_penalties: Decimal
    to_principal: Decimal
    overpaid: Decimal
    balance: Decimal  # what remains due after it, penalties and indemnity included
    closed: bool
    to_indemnity: Decimal = Decimal("0")


class PlanProposal(OpsMessage):
    instalments: list[Instalment] = Field(min_length=1)


class PlanDecision(BaseModel):
    accepted: bool
    reason: str
    instalments: list[Instalment] = []


class DisputeRequest(OpsMessage):
    reason: str = Field(min_length=3)
    review_by: dt.date | None = None


class DisputeResolution(OpsMessage):
    outcome: Literal["resume", "credit_note"]
    credit_amount: Decimal | None = None  # None with credit_note: the whole balance is credited
    note: str = ""


class ProcedureStep(OpsMessage):
    procedure: Literal["court", "small_claims", "insurer", "declaration"]
    step: str
    on: dt.date | None = None
    amount: Decimal | None = None


class InsolvencyNotice(OpsMessage):
    """A procédure collective opened against the debtor; sent again to add the BODACC publication date."""

    kind: InsolvencyKind
    judgment_on: dt.date
    published_on: dt.date | None = None


class ContactChange(OpsMessage):
    """The debtor's contact details corrected (`relance contact`, or a newer export read by `relance sync`): what
    the next email, letter or court request is addressed with. A field left out keeps its value."""

    email: str | None = Field(default=None, max_length=320)
    address: str | None = Field(default=None, max_length=500)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    language: Literal["fr", "en"] | None = None

    @field_validator("address", "email")
    @classmethod
    def _one_printable_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        hidden = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
        if hidden is not None:  # it would print in the envelope's window, or break the message's headers
            raise ValueError(f"contains the control character U+{ord(hidden):04X}")
        return value.strip()

    @field_validator("country", mode="before")
    @classmethod
    def _country_code(cls, value):
        # "be" as typed is BE. Names are read at the door (domain.countries.country_code, by the CLI and the
        # console): a message decodes from a case's history exactly as it was recorded.
        return value.strip().upper() if isinstance(value, str) else value

    def changes(self) -> dict[str, str]:
        return {name: value for name in CONTACT_FIELDS if (value := getattr(self, name)) is not None}


CONTACT_FIELDS = ("email", "address", "country", "language")


class AccountingCredit(OpsMessage):
    """The accounting lowered the invoice (a credit note, a correction): the export's amount is now `new_amount`."""

    new_amount: Decimal = Field(ge=0, decimal_places=2)
    on: dt.date
    reference: str = Field(default="", max_length=200)


class AccountingNotice(OpsMessage):
    """What a newer export of the accounting shows that relance does not apply by itself (`relance sync`): the
    invoice raised (an issued invoice is never increased: a rectifying invoice, with its own number, carries the
    difference), or the invoice gone from the export. Ops get a task to decide, once per finding."""

    kind: Literal["raised", "vanished"]
    on: dt.date
    export_amount: Decimal | None = Field(default=None, ge=0, decimal_places=2)  # raised: the export's amount


class RetryRequest(OpsMessage):
    """Ops fixed what made a step fail (sent with no argument by callers from before it existed)."""


class CloseRequest(OpsMessage):
    reason: str = Field(min_length=3)
