"""What each message to a case changes: payments, plans, disputes, procedure steps, insolvency, closing, a new
policy version, and the opening itself. Plain functions: a refusal (why the message cannot be taken, or None)
and a transition (the new state, and the audit lines it writes), as the workflow's update validators and
handlers, and a preview, use them.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import ValidationError

from domain import account, history
from domain.case import (
    CONTACT_FIELDS, PLATFORM_STATUSES, PROCEDURE_STEPS, AccountingCredit, ContactChange, AccountingNotice, CaseState, CloseRequest, CreditHold, Dispute, DisputeRequest,
    DisputeResolution, Insolvency, InsolvencyNotice, Payment, PaymentPlan, PaymentReceipt, PaymentReversal,
    PlanProposal, PlatformStatus, ProcedureStep, ReturnedPayment, TrackedStep,
)
from domain.countries import is_country
from domain.decisions import FILING_TASKS, Outcome, Record, Work
from domain.history import PriorHistory
from domain.invoice import Debtor
from domain.money import format_eur as eur
from domain.policy import Policy, Reminder, Stage
from domain.schedule import local_date, plan_refusal, sending_moment, step_day
from domain.statement import Entry, Period


def _work(s: CaseState, policy: Policy, now: dt.datetime) -> Work:
    return Work(s, policy, now)


def _done(work: Work) -> Outcome:
    return Outcome(work.s, work.effects)


def signed(outcome: Outcome, by: str) -> Outcome:
    """The audit lines of a message's transition name who sent it (nothing to sign when no one is named)."""
    if not by:
        return outcome
    effects = [Record(effect.action.model_copy(update={"by": by})) if isinstance(effect, Record) else effect
               for effect in outcome.effects]
    return Outcome(outcome.state, effects)


# ---------------------------------------------------------------------- opening and policy versions

def open_case(s: CaseState, policy: Policy, now: dt.datetime, *, prior: PriorHistory | None = None,
              catch_up_from: dt.date | None = None) -> Outcome:
    """An invoice imported late joins the ladder at its next step, rather than receiving a burst; its stage says
    where it really is.

    Cases opened by `relance import` today come with `catch_up_from`, the first day the import's daily cap lets
    them send on, and perhaps their history (`prior`): see `domain.history`. Cases started without it (opened
    by earlier code, whose histories replay this) keep the first rule: one opened after its whole ladder starts
    with the last reminder, and the mise en demeure follows at its usual distance; a formal notice never comes
    out of the blue.
    """
    work = _work(s, policy, now)
    work.record("open", "case", "policy", f"Dossier ouvert sous {policy.ref}")
    if prior is not None and history.prior_steps(work, prior):
        close(work, "paid", "Facture réglée avant relance", history.IMPORT_RULE)
        return _done(work)
    if catch_up_from is not None:
        history.catch_up(work, catch_up_from, prior)
    else:
        _join_ladder(work)
    if work.today > s.invoice.due_date and work.s.stage is Stage.preventive:
        work.s.stage = Stage.amicable  # overdue: past the courtesy reminders, whatever was skipped
    return _done(work)


def _join_ladder(work: Work) -> None:
    last, calendar, invoice = work.policy.reminders[-1], work.policy.calendar, work.s.invoice

    def past(reminder: Reminder) -> bool:
        day = step_day(invoice, reminder.offset_days, work.s.shift_days)
        return sending_moment(day, calendar, before=invoice.due_date) < work.now

    if past(last):
        work.s.shift_days = (work.today - invoice.due_date).days - last.offset_days
        work.skip_reminders("Dossier ouvert après la fin des relances", lambda r: r is not last)
    else:
        work.skip_reminders("Étape déjà passée à l'ouverture du dossier", past)


def adopt_policy(s: CaseState, current: Policy, newer: Policy, now: dt.datetime) -> Outcome:
    """Future steps follow the new version; steps done stay done, and none it dates before today is sent."""
    work = _work(s, newer, now)
    work.record("policy", f"policy:v{newer.version}", "policy",
                f"Nouvelle version adoptée: {newer.ref} (hash {newer.content_hash}), remplace {current.ref}")
    work.skip_reminders(f"Étape datée avant l'adoption de {newer.ref}",
                        lambda r: step_day(s.invoice, r.offset_days, s.shift_days) < work.today)
    return _done(work)


def keep_pinned_version(s: CaseState, policy: Policy, published: int, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    key = f"policy:v{published}:pinned"
    if key not in work.s.done:
        work.s.done.append(key)
        work.record("policy", key, "policy",
                    f"Version v{published} publiée, non adoptée: ce dossier reste sous {policy.ref} (pin)")
    return _done(work)


# ---------------------------------------------------------------------- closing

def close(work: Work, reason: str, summary: str, rule_id: str) -> None:
    """Whatever remains is written off on the day, so a closed case's figures are all zero and say why."""
    s, policy, today = work.s, work.policy, work.today
    remainder = account.statement_of(s, policy, today).total_due
    if remainder > 0:
        account.book(s, Entry(kind="write_off", on=today, reference=reason))
        account.refresh(s, policy, today)
        work.record("payment", "balance:written-off", rule_id, f"Solde de {eur(remainder)} abandonné à la clôture"
                    + (f" (politique: {policy.payments.close_when}, seuil {eur(policy.payments.close_below)})"
                       if reason == "paid" else f" ({reason})"))
    s.stage = Stage.closed
    s.closed_reason = reason
    work.record("close", "close", rule_id, summary)


def open_refusal(s: CaseState) -> str | None:
    if s.stage is Stage.closed:
        return f"the case is closed ({s.closed_reason})"
    return None


CONTACT_LABELS = {"email": "e-mail", "address": "adresse", "country": "pays", "language": "langue"}


def _new_contact(s: CaseState, change: ContactChange) -> dict[str, str]:
    debtor = s.invoice.debtor
    return {name: value for name, value in change.changes().items() if value != getattr(debtor, name)}


def contact_refusal(s: CaseState, change: ContactChange) -> str | None:
    new = _new_contact(s, change)
    if not new:
        return "the debtor's contact details already read so: nothing to change"
    if "country" in new and not is_country(new["country"]):
        return f"country {new['country']}: no such ISO 3166 country code"
    try:
        Debtor.model_validate(s.invoice.debtor.model_dump() | new)  # the checks of an imported row's debtor
    except ValidationError as error:
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                         for e in error.errors())
    return None


def update_contact(s: CaseState, policy: Policy, change: ContactChange, now: dt.datetime) -> Outcome:
    """The next message, letter or request goes to the corrected details; what went before stays as it went."""
    work = _work(s, policy, now)
    new = _new_contact(s, change)
    old = s.invoice.debtor
    work.s.invoice = s.invoice.model_copy(update={"debtor": Debtor.model_validate(old.model_dump() | new)})
    said = ", ".join(f"{CONTACT_LABELS[name]} « {value} » "
                     + (f"(était « {getattr(old, name)} »)" if getattr(old, name) else "(vide jusqu'ici)")
                     for name, value in new.items())
    work.record("contact", "contact", "ops", f"Coordonnées du débiteur corrigées : {said}")
    return _done(work)


def retry_refusal(s: CaseState) -> str | None:
    if s.failure is None or not s.failure.waiting_for_retry:
        return "no step of this case is waiting to be retried"
    return None


def retry_step(s: CaseState, policy: Policy, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    work.record("retry", f"retry:{s.failure.step}", "ops", f"Nouvelle tentative de l'étape {s.failure.step} demandée")
    work.s.failure = s.failure.model_copy(update={"waiting_for_retry": False})
    return _done(work)


def close_case(s: CaseState, policy: Policy, request: CloseRequest, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    close(work, "closed_by_ops", request.reason, "ops")
    return _done(work)


# ---------------------------------------------------------------------- payments and plans

def payment_refusal(s: CaseState, policy: Policy, payment: Payment, today: dt.date) -> str | None:
    if payment.bank_reference and any(e.kind == "payment" and e.reference == payment.bank_reference for e in s.entries):
        return f"already recorded: bank entry {payment.bank_reference}"
    if payment.currency != policy.payments.currency:
        return f"payment in {payment.currency}, this case is kept in {policy.payments.currency}"
    if payment.paid_on is not None and payment.paid_on > today:
        return f"payment dated {payment.paid_on:%d/%m/%Y}, in the future"
    if payment.paid_on is not None and payment.paid_on < s.invoice.issue_date:
        return f"payment dated {payment.paid_on:%d/%m/%Y}, before the invoice date ({s.invoice.issue_date:%d/%m/%Y})"
    return None


def record_payment(s: CaseState, policy: Policy, payment: Payment, now: dt.datetime) -> tuple[Outcome, PaymentReceipt]:
    work = _work(s, policy, now)
    paid_on = payment.paid_on or work.today
    work.s.hold = None  # money came in: the messages a probable credit held follow the schedule again
    reference = payment.bank_reference or payment.reference
    account.book(work.s, Entry(kind="payment", on=paid_on, amount=payment.amount, reference=reference))
    current = account.refresh(work.s, policy, work.today)
    applied = next(a for a in reversed(current.allocations) if a.kind == "payment" and a.on == paid_on)
    work.record("payment", f"payment:{work.s.paid_total}", "payments",
                f"Règlement de {eur(payment.amount)} le {paid_on:%d/%m/%Y} (pénalités {eur(applied.to_penalties)},"
                f" indemnité {eur(applied.to_indemnity)}, principal {eur(applied.to_principal)}"
                + (f", trop-perçu {eur(applied.overpaid)})" if applied.overpaid else ")"),
                refs=[r for r in (payment.reference, payment.bank_reference) if r])
    if account.settled(work.s, policy, current):
        close(work, "paid", "Facture réglée", "payments")
    closed = work.s.stage is Stage.closed
    receipt = PaymentReceipt(to_penalties=applied.to_penalties, to_principal=applied.to_principal,
                             to_indemnity=applied.to_indemnity, overpaid=applied.overpaid,
                             balance=account.ZERO if closed else current.total_due, closed=closed)
    return _done(work), receipt


def plan_proposal_refusal(s: CaseState, policy: Policy, proposal: PlanProposal, today: dt.date) -> str | None:
    if s.insolvency is not None:
        return "procédure collective: no individual payment plan, the claim goes through the mandataire"
    if account.plan_active(s):
        return "a payment plan is already running for this case"
    if s.path is not None:
        return f"the case is already escalated ({s.path})"
    refusal = plan_refusal(proposal.instalments, policy.negotiation, s.principal,
                           account.statement_of(s, policy, today).total_due, today)
    return f"plan refused: {refusal}" if refusal else None


def propose_plan(s: CaseState, policy: Policy, proposal: PlanProposal, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    # No penalty runs while the plan holds (from tomorrow: today still counts).
    work.s.interest_free.append(Period(start=work.today + dt.timedelta(days=1)))
    work.s.plan = PaymentPlan(accepted_at=now, instalments=proposal.instalments, paid_before_plan=work.s.paid_total)
    work.s.stage = Stage.negotiation
    work.record("plan", "plan:accepted", policy.negotiation.id,
                f"Échéancier accepté: {len(proposal.instalments)} échéances jusqu'au {proposal.instalments[-1].due_date:%d/%m/%Y}")
    return _done(work)


# ---------------------------------------------------------------------- disputes

def dispute_refusal(s: CaseState, request: DisputeRequest, today: dt.date) -> str | None:
    if s.dispute is not None:
        return f"already disputed since {s.dispute.opened_at:%d/%m/%Y}: {s.dispute.reason}"
    if request.review_by is not None and request.review_by < today:
        return "the review date is in the past"
    return None


def open_dispute(s: CaseState, policy: Policy, request: DisputeRequest, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    review_by = request.review_by or work.today + dt.timedelta(days=policy.disputes.default_review_days)
    work.s.dispute = Dispute(reason=request.reason, opened_at=now, review_by=review_by)
    work.record("dispute", "dispute:open", "disputes", f"Litige: {request.reason} (revue le {review_by:%d/%m/%Y})")
    return _done(work)


def resolution_refusal(s: CaseState, resolution: DisputeResolution) -> str | None:
    if s.dispute is None:
        return "this case is not disputed"
    if resolution.credit_amount is not None and not (0 < resolution.credit_amount <= s.principal):
        return f"a credit note must be positive and at most the principal due ({eur(s.principal)})"
    return None


def resolve_dispute(s: CaseState, policy: Policy, resolution: DisputeResolution, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    dispute, work.s.dispute = work.s.dispute, None
    paused_days = (work.today - local_date(dispute.opened_at, policy.calendar)).days
    if resolution.outcome == "credit_note":
        credit = resolution.credit_amount if resolution.credit_amount is not None else work.s.principal
        account.book(work.s, Entry(kind="credit_note", on=work.today, amount=credit, reference=resolution.note))
        current = account.refresh(work.s, policy, work.today)
        work.record("dispute", "dispute:credit-note", "disputes", f"Litige clos par un avoir de {eur(credit)} {resolution.note}".strip())
        if account.settled(work.s, policy, current):
            close(work, "credited", "Dossier soldé par avoir", "disputes")
            return _done(work)
    if policy.disputes.on_resume == "shift":
        work.s.shift_days += paused_days
    work.record("dispute", "dispute:resume", "disputes", f"Reprise après {paused_days} jours de litige")
    return _done(work)


# ---------------------------------------------------------------------- the accounting's corrections

def accounting_credit_refusal(s: CaseState, credit: AccountingCredit) -> str | None:
    current = s.invoice.amount_incl_tax - s.credited_total
    if credit.new_amount >= current:
        return f"the amount is {eur(current)}: an export can lower it, not raise it (ops decide)"
    return None


def record_accounting_credit(s: CaseState, policy: Policy, credit: AccountingCredit, now: dt.datetime) -> Outcome:
    """A newer export shows the invoice lowered: the difference is a credit note, on the day the export says."""
    work = _work(s, policy, now)
    difference = s.invoice.amount_incl_tax - s.credited_total - credit.new_amount
    account.book(work.s, Entry(kind="credit_note", on=credit.on, amount=difference, reference=credit.reference))
    current = account.refresh(work.s, policy, work.today)
    work.record("payment", f"credit:{work.s.credited_total}", "payments",
                f"Avoir de {eur(difference)} selon la comptabilité (montant ramené à {eur(credit.new_amount)})"
                + (f", {credit.reference}" if credit.reference else ""))
    if account.settled(work.s, policy, current):
        close(work, "credited", "Dossier soldé par avoir (comptabilité)", "payments")
    return _done(work)


def accounting_notice_refusal(s: CaseState, notice: AccountingNotice) -> str | None:
    current = s.invoice.amount_incl_tax - s.credited_total
    if notice.kind == "raised" and (notice.export_amount is None or notice.export_amount <= current):
        return f"the amount is {eur(current)}: the export does not raise it"
    return None


def record_accounting_notice(s: CaseState, policy: Policy, notice: AccountingNotice, now: dt.datetime) -> Outcome:
    """A task for ops, once per finding: the same export read again the next day raises nothing more."""
    work = _work(s, policy, now)
    number = s.invoice.number
    if notice.kind == "raised":
        key = f"sync:raised:{notice.export_amount}"
        text = (f"La comptabilité porte la facture {number} à {eur(notice.export_amount)} (export du"
                f" {notice.on:%d/%m/%Y}) ; relance suit {eur(s.invoice.amount_incl_tax - s.credited_total)}. Une"
                f" facture émise ne s'augmente pas : émettre une facture rectificative pour la différence (elle"
                f" s'importe avec son numéro), ou corriger l'export")
    else:
        key = "sync:vanished"
        text = (f"La facture {number} n'apparaît plus dans l'export comptable du {notice.on:%d/%m/%Y} : vérifier"
                f" (réglée, annulée, renumérotée), puis enregistrer le règlement ou l'avoir, ou clore le dossier")
    if any(task.key == key for task in work.s.tasks):
        return _done(work)
    work.task(key, "sync", text)
    return _done(work)


# ---------------------------------------------------------------------- procedures and insolvency

def procedure_step_refusal(s: CaseState, step: ProcedureStep) -> str | None:
    steps = PROCEDURE_STEPS[step.procedure]
    if step.step not in steps:
        return f"unknown {step.procedure} step {step.step!r}; expected one of {', '.join(steps)}"
    if account.confirmed(s, step.step):
        return f"step {step.step!r} is already recorded"
    if step.procedure == "declaration":
        if s.insolvency is None:
            return "no procédure collective is recorded for this debtor"
        if step.step != "declared" and not account.confirmed(s, "declared"):
            return "the claim must be declared first"
        return None
    if s.insolvency is not None and step.procedure in ("court", "small_claims"):
        return "procédure collective: individual actions against the debtor have stopped"
    path = {"court": "injonction", "small_claims": "small_claims", "insurer": "insurer_claim"}[step.procedure]
    # A prorogation is asked before filing, while the case is still amicable or disputed.
    before_filing = step.step == "extension_granted" and s.path is None and s.invoice.debtor.insured
    if s.path != path and not before_filing:
        return f"this case is on the {s.path or 'amicable'} path, not {path}"
    if step.step == "served" and not account.confirmed(s, "order_issued"):
        return "the order must be issued before it is served"
    if step.step == "indemnified" and step.amount is None:
        return "an indemnity needs its amount"
    return None


def record_procedure_step(s: CaseState, policy: Policy, step: ProcedureStep, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    on = step.on or work.today
    work.s.procedure.append(TrackedStep(name=step.step, on=on, amount=step.amount))
    rule = policy.insolvency.id if step.procedure == "declaration" else work.s.path_rule or "escalation"
    work.record(step.procedure, f"{step.procedure}:{step.step}", rule,
                f"Étape confirmée: {step.step} le {on:%d/%m/%Y}" + (f" ({eur(step.amount)})" if step.amount else ""))
    if step.procedure == "insurer" and step.step == "indemnified":
        close(work, "indemnified", f"Indemnisé par l'assureur ({eur(step.amount)}); tout encaissement ultérieur revient à l'assureur", rule)
    return _done(work)


def insolvency_refusal(s: CaseState, notice: InsolvencyNotice, today: dt.date) -> str | None:
    if notice.judgment_on > today or (notice.published_on and notice.published_on > today):
        return "the judgment and its publication cannot be in the future"
    if notice.published_on and notice.published_on < notice.judgment_on:
        return "the BODACC publication cannot come before the judgment"
    known = s.insolvency
    if known and notice.judgment_on == known.judgment_on and notice.kind == known.kind and notice.published_on in (None, known.published_on):
        return f"this procédure collective is already recorded ({known.kind}, {known.judgment_on:%d/%m/%Y})"
    return None


def record_insolvency(s: CaseState, policy: Policy, notice: InsolvencyNotice, now: dt.datetime) -> Outcome:
    work = _work(s, policy, now)
    rule, known = policy.insolvency.id, work.s.insolvency
    if known is None:
        withdrawn = account.stop_interest_at(work.s, policy, notice.judgment_on, work.today)
        if withdrawn:
            work.record("payment", "insolvency:interest-stopped", rule,
                        f"Pénalités courues après le jugement d'ouverture retirées: {eur(withdrawn)}")
    work.s.insolvency = Insolvency(kind=notice.kind, judgment_on=notice.judgment_on,
                                   published_on=notice.published_on or (known.published_on if known else None),
                                   recorded_at=now)
    work.s.stage = Stage.insolvency
    published = f", publié au BODACC le {notice.published_on:%d/%m/%Y}" if notice.published_on else ""
    key = ":".join(str(part) for part in ("insolvency", notice.kind, notice.judgment_on, notice.published_on) if part)
    work.record("insolvency", key, rule, f"Procédure collective: {notice.kind}, jugement d'ouverture du"
                f" {notice.judgment_on:%d/%m/%Y}{published}; relances et poursuites arrêtées")
    return _done(work)



# ---------------------------------------------------------------------- money probably in the bank

def hold_for_credit(s: CaseState, policy: Policy, entry: str, amount: Decimal, value_on: dt.date | None,
                    now: dt.datetime) -> Outcome:
    """A bank credit not matched yet is probably this debtor's payment: messages to the debtor wait
    `bank.hold_days`, and ops get a task to match it (once per bank entry)."""
    work = _work(s, policy, now)
    until = work.today + dt.timedelta(days=policy.bank.hold_days)
    work.s.hold = CreditHold(entry=entry, amount=amount, value_on=value_on, until=until)
    work.s.held_for = [*work.s.held_for, entry]
    received = f" reçu le {value_on:%d/%m/%Y}" if value_on else ""
    work.task(f"bank:hold:{entry}", "bank",
              f"Crédit bancaire de {eur(amount)}{received} (écriture {entry}), probablement le paiement de"
              f" {s.invoice.debtor.name}: relances suspendues jusqu'au {until:%d/%m/%Y}. Le rapprocher:"
              f" `relance bank match {entry} {s.invoice.number}`, ou `relance bank ignore {entry} --reason ...`")
    return _done(work)


def not_sent_after_payment(s: CaseState, policy: Policy, step: str, now: dt.datetime) -> Outcome:
    """A message prepared before a payment came in is not sent."""
    work = _work(s, policy, now)
    work.record("skipped", f"{step}:not-sent", "payments", "Message préparé non envoyé: un paiement est arrivé depuis")
    return _done(work)


def reversal_refusal(s: CaseState, reversal: PaymentReversal) -> str | None:
    if not any(e.kind == "payment" and e.reference == reversal.bank_reference for e in s.entries):
        return f"no payment from bank entry {reversal.bank_reference} on this case"
    return None


def reverse_payment(s: CaseState, policy: Policy, reversal: PaymentReversal, now: dt.datetime) -> Outcome:
    """The money never stayed: the payment leaves the account (the statement is computed again without it, so the
    penalties run as if it had never come), the case resumes where its schedule puts it, and ops are told (a
    follow-up task, `decisions.follow_ups`)."""
    work = _work(s, policy, now)
    taken = [e for e in work.s.entries if e.kind == "payment" and e.reference == reversal.bank_reference]
    work.s.entries = [e for e in work.s.entries if e not in taken]
    amount = sum((e.amount for e in taken), account.ZERO)
    work.s.paid_total -= amount
    work.s.hold = None
    current = account.refresh(work.s, policy, work.today)
    work.s.returned = [*work.s.returned, ReturnedPayment(bank_reference=reversal.bank_reference, amount=amount,
                                                         reason=reversal.reason)]
    why = f" ({reversal.reason})" if reversal.reason else ""
    work.record("payment", f"payment:reversed:{reversal.bank_reference}", "bank",
                f"Règlement de {eur(amount)} rejeté par la banque{why}: le dossier reprend (reste dû {eur(current.total_due)})",
                refs=[r for r in (reversal.bank_reference, reversal.returned_by) if r])
    return _done(work)


def reopened(s: CaseState) -> CaseState:
    """A case closed by money that came back (paid, or credited after a payment): the stage it closed from,
    without the close's write-off."""
    if s.stage is not Stage.closed:
        return s
    before = next((a.stage for a in reversed(s.audit) if a.stage is not Stage.closed), Stage.amicable)
    entries = [e for e in s.entries if not (e.kind == "write_off" and e.reference == s.closed_reason)]
    return s.model_copy(update={"stage": before, "closed_reason": None, "entries": entries})


# ---------------------------------------------------------------------- the e-invoicing platform's statuses

def platform_status_refusal(s: CaseState, status: PlatformStatus) -> str | None:
    if status in s.platform:
        return f"already recorded: status {status.code} of {status.on:%d/%m/%Y}"
    return None


def platform_status(s: CaseState, policy: Policy, status: PlatformStatus, now: dt.datetime) -> Outcome:
    """207 "En litige" opens a dispute and 208 "Suspendue" pauses the case the same way (no chasing until ops
    resolve it); 210 "Refusée" and 213 "Rejetée" give ops a task (`decisions.follow_ups`); 225 "Affacturée" stops
    the chasing: the factor collects now."""
    label = PLATFORM_STATUSES[status.code]
    said = f"Statut {status.code} « {label} » reçu de la plateforme le {status.on:%d/%m/%Y}" + (
        f": {status.comment}" if status.comment else "")
    work = _work(s, policy, now)
    work.s.platform = [*work.s.platform, status]
    work.record("einvoicing", f"einvoicing:{status.code}:{status.on:%Y%m%d}", "einvoicing", said)
    if status.code == "225":
        close(work, "factored", said, "einvoicing")
        return _done(work)
    if status.code in ("207", "208") and work.s.dispute is None:
        review_by = work.today + dt.timedelta(days=policy.disputes.default_review_days)
        work.s.dispute = Dispute(reason=said, opened_at=now, review_by=review_by)
        work.record("dispute", "dispute:open", "einvoicing", f"Litige: {said} (revue le {review_by:%d/%m/%Y})")
    return _done(work)


def rerouted(s: CaseState, policy: Policy, route: str, why: str, now: dt.datetime) -> Outcome:
    """The customer's account took another court route than this case asked for (its invoices together pass the
    small-claims ceiling): the case follows it, its filing task with it."""
    work = _work(s, policy, now)
    s = work.s
    asked = s.path
    s.path, s.stage = route, Stage.injonction if route == "injonction" else Stage.small_claims
    s.tasks = [t for t in s.tasks if t.key != f"{asked}:file"]
    s.withdrawn_tasks = [*s.withdrawn_tasks, f"{asked}:file"]
    rule = s.path_rule or "escalation"
    work.record("escalation", f"escalate:{route}", rule, f"Voie changée par le compte client: {why}")
    work.task(f"{route}:file", rule, FILING_TASKS[route])
    return _done(work)
