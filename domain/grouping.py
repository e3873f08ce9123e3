"""One conversation per customer: which of what a customer's invoices ask to send goes out together, when, and as
what. Plain functions; `workflows/debtor_account.py` interprets them.

Each invoice case still decides its own steps (`domain.decisions`). Under `grouping: per_debtor` the case hands the
letter it would have sent alone to its customer's account as an `Ask`; the account holds the asks of one sending
moment (`Account.collect_minutes`), then sends one message per kind of effect: a reminder email at the highest step
among the invoices it lists, one mise en demeure, one insurer notice, one court request. Credits the account holds
(credit notes, payments not applied) are netted in every message; a reminder they cover entirely is not sent.
"""
from __future__ import annotations

import dataclasses
import hashlib
import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.account import excl_tax_share
from domain.decisions import Effect, FileInsurerClaim, PrepareDossier, Record, SendEmail, WriteDocument, reminder_key
from domain.invoice import Invoice
from domain.letters import AccountCredit, AccountLine, LetterContext
from domain.money import expected_insurer_indemnity, format_eur
from domain.case import CaseState
from domain.policy import Policy, Stage
from domain.schedule import local_date, sending_moment

CENT = Decimal("0.01")

# What an account sends for its invoices: an email, a printable letter, an insurer notice, a court request.
EffectKind = Literal["email", "document", "insurer_claim", "injonction", "small_claims"]


class Ask(BaseModel):
    """What one invoice case asks its customer's account to send on its behalf: the letter it would have sent alone."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    step: str  # the case's step (reminder:amicable-j+2, notice, insurer:file...): its audit line's identity
    kind: EffectKind
    rank: int  # the step's place in the chase (ladder index, then notice, then escalation): the highest leads
    at: dt.datetime  # the moment of the case's step
    to: str
    letter: LetterContext
    attach_pdf: bool = False  # the policy attaches the step's letter, printed, to its email

    @property
    def ident(self) -> tuple[str, str, str]:
        """An ask's business identity: the same case asking again (an activity retried) is the same ask."""
        return (self.workflow_id, self.step, self.kind)

    @property
    def policy_id(self) -> str:
        return self.letter.invoice.policy_id

    @property
    def family(self) -> str:
        """Reminders of every rung share one conversation (and the minimum gap); a notice or a claim is its own."""
        return "reminder" if self.step.startswith("reminder:") else self.step.split(":")[0]


def line_of(ask: Ask) -> AccountLine:
    letter, invoice = ask.letter, ask.letter.invoice
    return AccountLine(
        number=invoice.number, issue_date=invoice.issue_date, due_date=invoice.due_date, days_late=letter.days_late,
        amount_incl_tax=invoice.amount_incl_tax, amount_excl_tax=invoice.amount_excl_tax,
        principal_due=letter.principal_due, penalties_due=letter.penalties_due, indemnity_due=letter.indemnity_due,
        penalty_lines=letter.penalty_lines, payments=letter.payments, step=ask.step, rule_id=letter.rule_id)


def batches(asks: list[Ask]) -> list[list[Ask]]:
    """Asks that go out as one message: same kind of effect, same family of step, same policy. In a stable order."""
    groups: dict[tuple[str, str, str], list[Ask]] = {}
    for ask in sorted(asks, key=lambda a: (a.at, a.workflow_id, a.step, a.kind)):
        groups.setdefault((ask.kind, ask.family, ask.policy_id), []).append(ask)
    return list(groups.values())


def due_at(batch: list[Ask], last_reminder_on: dt.date | None, policy: Policy) -> dt.datetime:
    """When a batch goes out: once the invoices of its first sending moment have had time to ask, and, for a
    reminder, not before the minimum gap since the customer's last reminder has passed (on a sending day)."""
    settings = policy.account
    moment = min(a.at for a in batch) + dt.timedelta(minutes=settings.collect_minutes)
    if batch[0].family == "reminder" and last_reminder_on is not None:
        earliest = sending_moment(last_reminder_on + dt.timedelta(days=settings.min_gap_days), policy.calendar)
        moment = max(moment, earliest + dt.timedelta(minutes=settings.collect_minutes))
    return moment


@dataclasses.dataclass(frozen=True)
class Message:
    """One message for the customer: the letter (the leading invoice's, listing every invoice) and its key."""

    key: str
    lead: Ask
    asks: list[Ask]
    letter: LetterContext
    rerouted: str = ""  # why the account took another court route than its invoices asked for (the ceiling)
    covered_excl_tax: Decimal | None = None  # an insurer notice: the customer's covered exposure, earlier notice included


@dataclasses.dataclass(frozen=True)
class Netted:
    """A reminder the customer's credits cover entirely: nothing is sent; each invoice records why."""

    asks: list[Ask]
    credits: list[AccountCredit]
    total: Decimal


def message_key(debtor_id: str, day: dt.date, lead: Ask, asks: list[Ask]) -> str:
    """One per customer, day, kind of message and the asks it carries; it ends with the leading step, as a
    per-invoice key does. The asks are in it because the key is what the sent ledger answers "already sent" to:
    two messages of one day that carry different invoices (a batch that failed, its cases retried one by one) are
    two messages, and the second must not pass for the first."""
    suffix = "" if lead.kind == "email" else f":{lead.kind}"
    carried = hashlib.sha256("\n".join(sorted("|".join(a.ident) for a in asks)).encode()).hexdigest()[:10]
    return f"account-{debtor_id}:{day:%Y-%m-%d}:{carried}:{lead.step}{suffix}"


def compose(batch: list[Ask], credits: list[AccountCredit], now: dt.datetime, policy: Policy,
            claim: "OpenClaim | None" = None) -> Message | Netted:
    """The one message a batch becomes. The highest rank leads (then the latest, then the invoice number, so that
    the order the asks came in never matters); every invoice is listed once, by due date."""
    unique = {a.ident: a for a in batch}
    asks = sorted(unique.values(), key=lambda a: (a.letter.invoice.due_date, a.letter.invoice.number, a.step))
    lead = max(asks, key=lambda a: (a.rank, a.letter.days_late, a.letter.invoice.number))
    lines = [line_of(a) for a in asks]
    total = sum((line.total_due for line in lines), Decimal("0"))
    netted = credits if lead.kind in ("email", "document") and lead.family in ("reminder", "notice") else []
    credit_total = sum((c.amount for c in netted), Decimal("0"))
    if lead.family == "reminder" and netted and credit_total >= total:
        return Netted(asks, list(netted), total)
    update: dict = {"account_lines": lines, "credits": list(netted)}
    covered = None
    if lead.kind == "insurer_claim":
        figures, covered = insurer_figures(asks, policy, claim)
        update |= figures
    rerouted = beyond_small_claims(total, policy) if lead.kind == "small_claims" else ""
    if rerouted:
        lead = lead.model_copy(update={"kind": "injonction"})
        update["kind"] = "injonction_request"
    day = local_date(now, policy.calendar)
    return Message(message_key(lead.letter.invoice.debtor.debtor_id, day, lead, asks), lead, asks,
                   lead.letter.model_copy(update=update), rerouted, covered)


def through_account(effect: Effect, policy: Policy) -> EffectKind | None:
    """The kind of message the customer's account sends for a case's effect, or None when the case sends it itself:
    under per_invoice, and for what is no part of the conversation with the customer (ops tasks, plan emails)."""
    if isinstance(effect, Record) or policy.grouping != "per_debtor":
        return None
    if isinstance(effect, FileInsurerClaim):
        return "insurer_claim"
    if isinstance(effect, PrepareDossier):
        return effect.route
    chase = effect.step.startswith("reminder:") or effect.step == "notice"
    if isinstance(effect, SendEmail) and effect.audit is not None and chase:
        return "email"
    if isinstance(effect, WriteDocument) and chase:
        return "document"
    return None


def left_conversation(s: CaseState, keeps_claim: bool = False) -> bool:
    """Paid, closed, disputed or insolvent: the invoice leaves its customer's message if it has not gone yet. An
    insurer claim asked because of the insolvency (`keeps_claim`) stays: the insolvency is why the loss is declared."""
    insolvent = s.insolvency is not None and not keeps_claim
    return s.stage is Stage.closed or s.dispute is not None or insolvent


def ask_for(effect: Effect, kind: EffectKind, policy: Policy, invoice: Invoice, at: dt.datetime,
            workflow_id: str) -> Ask:
    """What a case hands its customer's account for `effect`: its letter, ranked by the step's place in the chase
    (the ladder's rungs in order, then the notice, then an escalation)."""
    ladder = [reminder_key(r.id) for r in policy.reminders]
    rank = ladder.index(effect.step) if effect.step in ladder else len(ladder) + (effect.step != "notice")
    return Ask(workflow_id=workflow_id, step=effect.step, kind=kind, rank=rank, at=at,
               to=invoice.debtor.email, letter=effect.letter, attach_pdf=getattr(effect, "attach_pdf", False))


def netted_replies(result: Netted) -> list[Reply]:
    credits = ", ".join(f"{c.reference} {format_eur(c.amount)}" for c in result.credits)
    return [Reply(workflow_id=a.workflow_id, step=a.step, kind=a.kind, outcome="netted",
                  summary=f"Relance non envoyée: les avoirs et règlements non imputés du client ({credits})"
                          f" couvrent les {format_eur(result.total)} dus")
            for a in result.asks]


def failed_replies(result: Message, why: str, permanent: bool) -> list[Reply]:
    return [Reply(workflow_id=a.workflow_id, step=a.step, kind=a.kind, outcome="failed", message_key=result.key,
                  summary=why, permanent=permanent) for a in result.asks]


def withdrawn_reply(withdrawal: "Withdrawal") -> Reply:
    return Reply(workflow_id=withdrawal.workflow_id, step=withdrawal.step, kind=withdrawal.kind, outcome="withdrawn",
                 summary="Retirée du message du client avant son envoi")


def summary_of(message: Message, policy: Policy, subject: str = "") -> str:
    """What each invoice's audit line says of the message that carried it (an email: its subject, as sent)."""
    letter, kind = message.letter, message.lead.kind
    if kind == "email":
        summary = subject
    elif kind == "document":
        summary = f"Courrier {letter.kind} à imprimer ({len(letter.account_lines)} factures)"
    elif kind == "insurer_claim":
        what = (f"Déclaration complémentaire de menace de sinistre du client (elle complète {letter.complements})"
                if letter.complements else "Déclaration de menace de sinistre du client")
        summary = (f"{what} déposée auprès de {policy.insurer.name}"
                   f" (indemnité attendue {format_eur(letter.expected_indemnity)} pour le client)")
    else:
        summary = f"Dossier de requête du client préparé ({len(letter.account_lines)} factures)"
    return f"{summary}: {message.rerouted}" if message.rerouted else summary


def sent(state: "AccountState", message: Message, refs: list[str], summary: str, day: dt.date
         ) -> tuple[list[Reply], "SentMessage"]:
    """A message went out: the account remembers the customer's last reminder and open claim; each invoice it
    carried gets its reply (the court route the account took, when it is not the one asked)."""
    lead = message.lead
    if lead.family == "reminder":
        state.last_reminder_on = day
    if lead.kind == "insurer_claim":
        claimed(state, message, day)
    replies = [Reply(workflow_id=a.workflow_id, step=a.step, kind=a.kind, outcome="sent", message_key=message.key,
                     refs=[*refs, message.key], summary=summary, expected_indemnity=message.letter.expected_indemnity,
                     route=lead.kind if message.rerouted else None, route_why=message.rerouted)
               for a in message.asks]
    return replies, SentMessage(key=message.key, day=day, kind=lead.kind, step=lead.step,
                                invoices=[line.number for line in message.letter.account_lines], refs=refs)


def beyond_small_claims(total: Decimal, policy: Policy) -> str:
    """The small-claims procedure is capped per claim, interest included: a customer's invoices asking for it
    together form one claim, and past the ceiling they go to the injonction de payer instead. Why, or nothing."""
    ceiling = policy.small_claims.max_amount
    if total <= ceiling:
        return ""
    return (f"le total du client, {format_eur(total)} pénalités comprises, dépasse le plafond de la procédure des"
            f" petites créances ({format_eur(ceiling)}): requête en injonction de payer")


def insurer_figures(asks: list[Ask], policy: Policy, claim: "OpenClaim | None" = None) -> tuple[dict, Decimal]:
    """The customer's threat-of-loss notice: covered exposure is the invoices' amounts excluding tax still due,
    for those whose credit period (issue to due date) is within the policy's maximum; it is capped once by the
    customer's credit limit, and the expected indemnity is computed once on it. An invoice reaching the notice
    after the customer's notice was filed joins it: its notice complements the first, and the limit caps both
    together (the expected indemnity is the customer's, never one cap per notice). The letter's fields, and the
    covered exposure so far."""
    insurer = policy.insurer
    debtor = asks[0].letter.invoice.debtor
    covered, left_out = Decimal("0"), []
    for ask in asks:
        invoice = ask.letter.invoice
        if (invoice.due_date - invoice.issue_date).days > insurer.max_credit_period_days:
            left_out.append(f"Facture {invoice.number}: délai de paiement au-delà de la durée maximale de crédit"
                            f" ({insurer.max_credit_period_days} jours), non couverte")
            continue
        covered += excl_tax_share(invoice, ask.letter.principal_due)
    figures = {"left_out": [*asks[0].letter.left_out, *left_out]}
    if claim is not None:
        covered += claim.covered_excl_tax
        figures["complements"] = (f"notre déclaration du {claim.filed_on:%d/%m/%Y} (factures {', '.join(claim.invoices)},"
                                  f" indemnité attendue {format_eur(claim.expected_indemnity)})")
    figures["expected_indemnity"] = expected_insurer_indemnity(covered, debtor.credit_limit, insurer)
    return figures, covered


class OpenClaim(BaseModel):
    """The customer's threat-of-loss notice once filed: what later notices of its invoices add to."""

    model_config = ConfigDict(frozen=True)

    key: str
    filed_on: dt.date
    covered_excl_tax: Decimal
    expected_indemnity: Decimal
    invoices: list[str]


def claimed(state: "AccountState", message: Message, day: dt.date) -> None:
    """An insurer notice went: the customer's open claim covers its invoices too (the first notice's key and day)."""
    before = state.claim
    state.claim = OpenClaim(
        key=before.key if before else message.key, filed_on=before.filed_on if before else day,
        covered_excl_tax=message.covered_excl_tax or Decimal("0"),
        expected_indemnity=message.letter.expected_indemnity or Decimal("0"),
        invoices=[*(before.invoices if before else []), *(line.number for line in message.letter.account_lines)])



# ---------------------------------------------------------------------- what crosses the account's boundary

def account_workflow_id(debtor_id: str) -> str:
    """The business identity of a customer's account: every invoice of the debtor finds the same workflow."""
    return f"account-{debtor_id}"


class Reply(BaseModel):
    """The account's answer to an ask: the message that carried it, or why none did."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    step: str
    kind: EffectKind
    outcome: Literal["sent", "netted", "withdrawn", "failed"]
    message_key: str = ""
    refs: list[str] = []  # message id, document paths, claim reference: as the per-invoice effect gives them
    summary: str = ""  # the subject sent, or why nothing was
    expected_indemnity: Decimal | None = None  # the customer's, for an insurer notice
    permanent: bool = False  # a failure retrying cannot fix: the case waits for `relance retry`
    route: EffectKind | None = None  # the court route the account took when it is not the one asked (the ceiling)
    route_why: str = ""

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.workflow_id, self.step, self.kind)


class Withdrawal(BaseModel):
    """A case paid, closed or disputed while its ask waited: take it out of the message if it has not gone."""

    workflow_id: str
    step: str
    kind: EffectKind


class SentMessage(BaseModel):
    """One message the account sent, for its log and `relance` views."""

    key: str
    day: dt.date
    kind: EffectKind
    step: str
    invoices: list[str]
    refs: list[str]


class AccountStart(BaseModel):
    debtor_id: str
    carried: "AccountState | None" = None  # set by continue-as-new
    history_events_limit: int = 2000


class AccountState(BaseModel):
    """Everything a customer's account knows; carried whole through continue-as-new."""

    debtor_id: str
    pending: list[Ask] = []
    credits: list[AccountCredit] = []
    last_reminder_on: dt.date | None = None
    sent: list[SentMessage] = []  # the latest messages (`RECENT`), newest last
    claim: OpenClaim | None = None  # the customer's threat-of-loss notice, once filed
    # Replies already given, by ask identity: an ask that comes again (its activity retried) gets the same answer.
    answered: dict[str, Reply] = {}


RECENT = 200  # messages and replies the account keeps for asks that come again; older ones were answered long ago


def ident_key(ident: tuple[str, str, str]) -> str:
    return "|".join(ident)


def remember(state: AccountState, replies: list[Reply], message: SentMessage | None) -> None:
    """Keep the answers (bounded: a retried ask comes back within minutes, not after hundreds of messages)."""
    for reply in replies:
        state.answered[ident_key(reply.ident)] = reply
    while len(state.answered) > RECENT:
        state.answered.pop(next(iter(state.answered)))
    if message is not None:
        state.sent = [*state.sent, message][-RECENT:]


AccountStart.model_rebuild()
