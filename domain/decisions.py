"""What a case does next, and what doing it changes: the policy as plain functions.

`next_step(state, policy, now)` says which step comes next, when, and under which rule; `carry_out(state, step,
policy, now)` returns the state once the step is done and the effects to carry out in order (emails, printable
letters, court dossiers, insurer claims, audit lines). Nothing here knows Temporal: the workflow interprets the
effects through activities, and a preview can run the same functions over a whole ledger in memory.

The state given is never changed: a new one is returned (lists are copied, never appended to in place).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from domain import account
from domain.calendar import add_months, procedural_deadline
from domain.case import (
    PROCEDURE_TASKS, Action, CaseState, CaseStatus, NextAction, OpsTask, StepFailure, TrackedStep,
)
from domain.letters import LetterContext
from domain.money import expected_insurer_indemnity, format_eur as eur
from domain.policy import Channel, Policy, Reminder, Stage
from domain.schedule import choose_escalation, local_date, notice_deadline, sending_moment, step_day


# ---------------------------------------------------------------------- step keys: a step's business identity

def reminder_key(reminder_id: str) -> str:
    return f"reminder:{reminder_id}"


def instalment_key(n: int, what: str) -> str:
    return f"plan:{n}:{what}"  # reminder | check | missed


def dispute_review_key(opened_at: dt.datetime) -> str:
    return f"dispute:{opened_at:%Y%m%d%H%M%S}:review"


def plan_confirmation_key(accepted_at: dt.datetime) -> str:
    return f"plan:{accepted_at:%Y%m%d%H%M%S}:confirmation"


def overpaid_key(amount: Decimal) -> str:
    return f"payment:overpaid:{amount}"


# ---------------------------------------------------------------------- steps and effects

@dataclasses.dataclass(frozen=True)
class Remind:
    reminder: Reminder


@dataclasses.dataclass(frozen=True)
class SendNotice:
    pass


@dataclasses.dataclass(frozen=True)
class Escalate:
    pass


@dataclasses.dataclass(frozen=True)
class RaiseTask:
    text: str


@dataclasses.dataclass(frozen=True)
class RemindInstalment:
    n: int


@dataclasses.dataclass(frozen=True)
class CheckInstalment:
    n: int


@dataclasses.dataclass(frozen=True)
class CloseOppositionWindow:
    pass


@dataclasses.dataclass(frozen=True)
class ReviewDispute:
    text: str


@dataclasses.dataclass(frozen=True)
class ConfirmPlan:
    pass


@dataclasses.dataclass(frozen=True)
class DeclareLossToInsurer:
    pass


StepAction = (Remind | SendNotice | Escalate | RaiseTask | RemindInstalment | CheckInstalment | CloseOppositionWindow
              | ReviewDispute | ConfirmPlan | DeclareLossToInsurer)


@dataclasses.dataclass(frozen=True)
class Step:
    """The next thing a case does, when, and under which rule."""

    key: str
    rule_id: str
    label: str
    at: dt.datetime
    action: StepAction


@dataclasses.dataclass(frozen=True)
class Unwritten:
    """A letter a preview names but does not write (`carry_out(letters=False)`)."""

    kind: str
    rule_id: str


@dataclasses.dataclass(frozen=True)
class Audit:
    """The audit line an outward effect leaves once done; its references come from the adapter's answer."""

    at: dt.datetime
    kind: str
    step: str
    rule_id: str
    stage: Stage
    policy_ref: str
    summary: str | None = None  # None: the email's subject, as sent


@dataclasses.dataclass(frozen=True)
class Record:
    """An audit line with nothing to send."""

    action: Action


@dataclasses.dataclass(frozen=True)
class SendEmail:
    step: str  # the idempotency key is `invoice : step`
    to: str
    letter: LetterContext
    audit: Audit | None  # None for an ops task's email: its message id goes on the task's own audit line
    attach_pdf: bool = False  # the policy attaches the letter, printed, to the email


@dataclasses.dataclass(frozen=True)
class WriteDocument:
    step: str
    letter: LetterContext
    audit: Audit
    registered: bool = False  # sent as a registered letter with acknowledgment (LRAR)


@dataclasses.dataclass(frozen=True)
class PrepareDossier:
    step: str
    route: str
    letter: LetterContext
    notice_document: str | None
    audit: Audit


@dataclasses.dataclass(frozen=True)
class FileInsurerClaim:
    step: str
    letter: LetterContext
    audit: Audit


Effect = Record | SendEmail | WriteDocument | PrepareDossier | FileInsurerClaim


@dataclasses.dataclass(frozen=True)
class Outcome:
    state: CaseState
    effects: list[Effect]


# ---------------------------------------------------------------------- what comes next

def next_step(s: CaseState, policy: Policy, now: dt.datetime) -> Step | None:
    """What the policy does next. An insolvency stops all chasing; a dispute freezes all but its own review."""
    plan = _Planner(s, policy, now)
    if s.stage is Stage.closed:
        return None
    if s.insolvency is not None:
        candidates = [*plan.follow_ups(), *plan.insolvency()]
    elif s.dispute is not None:
        candidates = [step for step in (plan.dispute_review(), plan.extension_request()) if step]
    else:
        candidates = [*plan.follow_ups(), *plan.instalments(), *plan.escalation()]
    step = min((c for c in candidates if c.key not in s.done), key=lambda c: c.at, default=None)
    if step is not None and s.hold is not None and reaches_debtor(step):
        held_until = sending_moment(s.hold.until, policy.calendar)
        if step.at < held_until:  # a credit probably the debtor's: the message waits for ops to match it
            step = dataclasses.replace(step, at=held_until)
    return step


def reaches_debtor(step: Step) -> bool:
    """A step that writes to the debtor or acts against them: held while their payment is probably in the bank."""
    return isinstance(step.action, (Remind, SendNotice, Escalate, RemindInstalment))


def follow_ups(s: CaseState, policy: Policy, now: dt.datetime) -> list[Step]:
    """Steps a message from ops asks for at once; they outlive the close (an overpayment's task, a plan's email)."""
    return [step for step in _Planner(s, policy, now).follow_ups() if step.key not in s.done]


class _Planner:
    def __init__(self, s: CaseState, policy: Policy, now: dt.datetime) -> None:
        self.s, self.policy, self.now = s, policy, now
        self.today = local_date(now, policy.calendar)

    def step(self, key: str, rule_id: str, label: str, day: dt.date, action: StepAction,
             before: dt.date | None = None) -> Step:
        return Step(key, rule_id, label, sending_moment(day, self.policy.calendar, before=before), action)

    def task(self, key: str, rule_id: str, label: str, day: dt.date, text: str) -> Step:
        return self.step(key, rule_id, label, day, RaiseTask(text))

    def escalation(self) -> list[Step]:
        """The ladder, then the mise en demeure, then the path the rules choose, then its deadlines."""
        s, policy = self.s, self.policy
        if account.plan_active(s):
            return []
        if s.path is not None:
            return self.procedure()
        for reminder in policy.reminders:
            key = reminder_key(reminder.id)
            if key not in s.done:
                day = step_day(s.invoice, reminder.offset_days, s.shift_days)
                return [self.step(key, reminder.id, f"Relance {reminder.id}", day, Remind(reminder),
                                  before=s.invoice.due_date)]
        notice = policy.formal_notice
        if s.notice_sent_on is None:
            day = step_day(s.invoice, notice.offset_days, s.shift_days)
            if s.plan is not None and s.plan.missed and policy.negotiation.on_missed_instalment == "formal_notice":
                day = min(day, self.today)
            return [self.step("notice", notice.id, "Mise en demeure", day, SendNotice())]
        escalate_on = notice_deadline(s.notice_sent_on, policy) + dt.timedelta(days=1)
        rule = choose_escalation(policy.escalation, s.invoice, s.principal)
        if rule is not None and rule.path == "insurer_claim":
            # Filing late loses cover: never let the notice's deadline push past the policy's.
            last_safe = account.insurer_deadline(s, policy) - dt.timedelta(days=policy.insurer.file_days_before_deadline)
            escalate_on = min(escalate_on, last_safe)
        return [self.step("escalate", rule.id if rule else "escalation", "Escalade", escalate_on, Escalate())]

    def procedure(self) -> list[Step]:
        """Legal deadlines of the chosen path, counted from the steps ops confirmed."""
        s, policy = self.s, self.policy
        steps, rule = {t.name: t for t in s.procedure}, s.path_rule or "escalation"
        out: list[Step] = []
        if s.path == "injonction":
            court = policy.injonction
            if "order_issued" in steps and "served" not in steps:
                lapse = procedural_deadline(steps["order_issued"].on, months=court.serve_within_months, calendar=policy.calendar)
                warn = lapse - dt.timedelta(days=court.task_days_before_deadline)
                out.append(self.task("injonction:serve-reminder", rule, "Signifier l'ordonnance", warn,
                                     f"Faire signifier l'ordonnance avant le {lapse:%d/%m/%Y}, sinon elle devient caduque"))
                out.append(self.task("injonction:lapsed", rule, "Ordonnance caduque", lapse + dt.timedelta(days=1),
                                     "Ordonnance non signifiée dans le délai: elle est caduque"))
            if "served" in steps and not steps.keys() & {"opposition", "no_opposition"}:
                end = procedural_deadline(steps["served"].on, months=court.opposition_months, calendar=policy.calendar)
                out.append(self.step("injonction:opposition-window", rule, "Fin du délai d'opposition",
                                     end + dt.timedelta(days=1), CloseOppositionWindow()))
        elif s.path == "small_claims" and "sent" in steps and not steps.keys() & {"agreed", "refused"}:
            end = add_months(steps["sent"].on, policy.small_claims.response_months)
            out.append(self.task("small_claims:no-answer", rule, "Réponse du débiteur attendue", end + dt.timedelta(days=1),
                                 "Pas de réponse du débiteur au commissaire de justice: envisager l'injonction de payer"))
        elif s.path == "insurer_claim" and "filed" in steps and "indemnified" not in steps:
            check = add_months(steps["filed"].on, policy.insurer.waiting_period_months)
            out.append(self.task("insurer:waiting-period", rule, "Indemnisation attendue", check,
                                 "Délai constitutif de sinistre écoulé: relancer l'assureur sur l'indemnisation"))
        return out

    def instalments(self) -> list[Step]:
        """Each instalment gets its reminder, then a check after the grace period."""
        s = self.s
        if not account.plan_active(s):
            return []
        bounds = self.policy.negotiation
        for n, instalment in enumerate(s.plan.instalments, start=1):
            if account.instalment_paid(s, n):
                continue
            remind_on = instalment.due_date - dt.timedelta(days=bounds.reminder_days_before)
            return [self.step(instalment_key(n, "reminder"), bounds.id, f"Rappel d'échéance {n}", remind_on,
                              RemindInstalment(n), before=instalment.due_date),
                    self.step(instalment_key(n, "check"), bounds.id, f"Contrôle de l'échéance {n}",
                              instalment.due_date + dt.timedelta(days=bounds.grace_days), CheckInstalment(n))]
        return []

    def insolvency(self) -> list[Step]:
        """Chasing has stopped: the claim is declared to the mandataire judiciaire in time, and an insured
        debtor's insolvency is the insurer's loss event."""
        s, policy, now = self.s, self.policy, self.now
        rules, insolvency = policy.insolvency, s.insolvency
        rule, declared = rules.id, account.confirmed(s, "declared")
        deadline = account.declaration_deadline(s, policy)
        relief = self._relief(deadline)
        if deadline and deadline < self.today:  # recorded late: every task says so, none names a date already gone
            by = f" : le délai a expiré le {deadline:%d/%m/%Y} ; {relief}"
        else:
            by = f" avant le {deadline:%d/%m/%Y}" if deadline else " dans les délais (date de publication au BODACC à enregistrer)"
        claim = account.statement_of(s, policy, self.today)
        text = (f"Procédure collective ({insolvency.kind}, jugement du {insolvency.judgment_on:%d/%m/%Y}): déclarer la"
                f" créance de {eur(claim.total_due)} (principal {eur(claim.principal_due)}, pénalités arrêtées au jugement"
                f" {eur(claim.penalties_due)}" + (f", indemnité forfaitaire {eur(claim.indemnity_due)}" if claim.indemnity_due else "")
                + f") au mandataire judiciaire{by}")
        steps = [Step("insolvency:declare", rule, "Déclaration de créance", now, RaiseTask(text))]
        if s.invoice.debtor.insured and s.path != "insurer_claim":
            steps.append(Step("insolvency:insurer", rule, "Sinistre déclaré à l'assureur", now, DeclareLossToInsurer()))
        if deadline and not declared:
            warn_key, lapse_key = f"insolvency:declare-by:{deadline}", f"insolvency:lapsed:{deadline}"
            warning = (f"Déclaration de créance non confirmée: dernier délai le {deadline:%d/%m/%Y}"
                       if deadline >= self.today else
                       f"Déclaration de créance non confirmée: délai expiré le {deadline:%d/%m/%Y} ; {relief}")
            steps.append(self.task(warn_key, rule, "Déclaration de créance à confirmer",
                                   deadline - dt.timedelta(days=rules.task_days_before_deadline), warning))
            steps.append(self.task(lapse_key, rule, "Délai de déclaration expiré", deadline + dt.timedelta(days=1),
                                   f"Créance non déclarée au {deadline:%d/%m/%Y}: {relief}"))
        if s.path == "insurer_claim":
            steps += self.procedure()
        return steps

    def _relief(self, deadline: dt.date | None) -> str:
        """A missed declaration: the relevé de forclusion the juge-commissaire may grant, and until when (L622-26)."""
        published = self.s.insolvency.published_on if self.s.insolvency else None
        if deadline is None or published is None:
            return "demander au juge-commissaire un relevé de forclusion"
        until = procedural_deadline(published, months=self.policy.insolvency.relief_months, calendar=self.policy.calendar)
        if until < self.today:
            return (f"le délai du relevé de forclusion a lui aussi expiré le {until:%d/%m/%Y} (article L622-26) : la"
                    " créance est inopposable à la procédure, voir avec le mandataire judiciaire")
        return f"demander au juge-commissaire un relevé de forclusion avant le {until:%d/%m/%Y} (article L622-26)"

    def dispute_review(self) -> Step | None:
        dispute = self.s.dispute
        if dispute.review_task_raised:
            return None
        text = f"Litige en attente depuis le {dispute.opened_at:%d/%m/%Y}, date de revue dépassée: {dispute.reason}"
        return self.step(dispute_review_key(dispute.opened_at), "disputes", "Revue du litige", dispute.review_by,
                         ReviewDispute(text))

    def extension_request(self) -> Step | None:
        """A disputed invoice is not covered until settled: ask the insurer for the extension in time."""
        s, policy = self.s, self.policy
        rule = choose_escalation(policy.escalation, s.invoice, s.principal)
        if rule is None or rule.path != "insurer_claim" or s.path is not None or account.confirmed(s, "extension_granted"):
            return None
        insurer, deadline = policy.insurer, account.insurer_deadline(s, policy)
        text = (f"Facture en litige, donc non couverte: demander à {insurer.name} une prorogation de"
                f" {insurer.extension_days} jours avant le {deadline:%d/%m/%Y}, date limite de la déclaration de menace de sinistre")
        return self.task("insurer:extension-request", rule.id, "Demande de prorogation",
                         deadline - dt.timedelta(days=insurer.file_days_before_deadline), text)

    def follow_ups(self) -> list[Step]:
        """Things ops asked for through a message that the case acts on at once."""
        s, now, steps = self.s, self.now, []
        if s.plan is not None:
            steps.append(Step(plan_confirmation_key(s.plan.accepted_at), self.policy.negotiation.id,
                              "Confirmation de l'échéancier", now, ConfirmPlan()))
        for tracked in s.procedure:
            text = PROCEDURE_TASKS.get(f"{s.path}:{tracked.name}")
            if text:
                steps.append(Step(f"{s.path}:{tracked.name}:task", s.path_rule or "escalation", text, now, RaiseTask(text)))
        for status in s.platform:
            if status.code in ("210", "213"):
                label = "Refusée" if status.code == "210" else "Rejetée"
                steps.append(Step(f"einvoicing:{status.code}:{status.on:%Y%m%d}:task", "einvoicing", f"Facture {label.lower()}",
                                  now, RaiseTask(f"Facture {label.lower()} sur la plateforme de facturation électronique"
                                                 f" (statut {status.code}, le {status.on:%d/%m/%Y})"
                                                 + (f": {status.comment}" if status.comment else "")
                                                 + ": la corriger ou l'annuler par un avoir avant toute relance")))
        for returned in s.returned:
            why = f" ({returned.reason})" if returned.reason else ""
            steps.append(Step(f"bank:returned:{returned.bank_reference}", "bank", "Paiement rejeté", now, RaiseTask(
                f"Paiement de {eur(returned.amount)} de {s.invoice.debtor.name} (écriture {returned.bank_reference})"
                f" rejeté par la banque{why}: les relances reprennent")))
        if s.overpaid > 0:
            steps.append(Step(overpaid_key(s.overpaid), "payments", "Trop-perçu", now,
                              RaiseTask(f"Trop-perçu de {eur(s.overpaid)} à rembourser ou affecter")))
        return steps


def status_of(s: CaseState, policy: Policy, now: dt.datetime, as_of: dt.date | None = None) -> CaseStatus:
    """Where the case stands at `now`, its figures as of `as_of` (never before today)."""
    step = next_step(s, policy, now)
    today = local_date(now, policy.calendar)
    as_of = max(as_of or today, today)
    current = account.statement_of(s, policy, as_of)
    return CaseStatus(
        invoice_number=s.invoice.number, debtor=s.invoice.debtor.name, stage=s.stage,
        policy_ref=policy.ref, principal_due=current.principal_due, penalties_due=current.penalties_due,
        indemnity_due=current.indemnity_due, total_due=current.total_due,
        paid_total=s.paid_total, overpaid=current.overpaid, paused=s.dispute is not None, dispute=s.dispute,
        plan=s.plan, path=s.path, path_rule=s.path_rule, expected_indemnity=s.expected_indemnity,
        procedure=s.procedure,
        next_action=NextAction(step=step.key, rule_id=step.rule_id, label=step.label, at=step.at) if step else None,
        tasks=s.tasks, audit=s.audit, closed_reason=s.closed_reason, insolvency=s.insolvency,
        as_of=as_of, penalty_lines=current.penalty_lines, allocations=current.allocations,
        written_off=current.written_off, failure=s.failure, invoice=s.invoice, hold=s.hold,
        invoice_amount=s.invoice.amount_incl_tax - s.credited_total,
    )


# ---------------------------------------------------------------------- carrying a step out

# What a preview writes of a step's letters: all (True), none (False), or only those a customer's account reads
# to compose its message (CONVERSATION: an ops task's email stays named, not written).
CONVERSATION = "conversation"


def carry_out(s: CaseState, step: Step, policy: Policy, now: dt.datetime, *, letters: bool | str = True) -> Outcome:
    """The state once `step` is done, and the effects doing it takes, in order (`letters=False`: their letters
    carry only their template's name, for a preview that renders nothing)."""
    work = Work(s, policy, now, letters=letters)
    action = step.action
    if isinstance(action, Remind):
        work.remind(action.reminder)
    elif isinstance(action, SendNotice):
        work.send_notice()
    elif isinstance(action, Escalate):
        work.escalate()
    elif isinstance(action, RaiseTask):
        work.task(step.key, step.rule_id, action.text)
    elif isinstance(action, RemindInstalment):
        bounds = policy.negotiation
        work.email(step.key, bounds.id, bounds.template, instalment=work.s.plan.instalments[action.n - 1])
    elif isinstance(action, CheckInstalment):
        work.check_instalment(action.n)
    elif isinstance(action, CloseOppositionWindow):
        work.close_opposition_window()
    elif isinstance(action, ReviewDispute):
        work.s.dispute = work.s.dispute.model_copy(update={"review_task_raised": True})
        work.task(step.key, "disputes", action.text)
    elif isinstance(action, ConfirmPlan):
        work.email(step.key, policy.negotiation.id, "plan_accepted", instalments=work.s.plan.instalments)
    elif isinstance(action, DeclareLossToInsurer):
        work.s.path, work.s.path_rule = "insurer_claim", policy.insolvency.id
        work.file_insurer_claim(work.s.path_rule)
        work.s.stage = Stage.insolvency
    if step.key not in work.s.done:
        work.s.done.append(step.key)
    return Outcome(work.s, work.effects)


class Work:
    """One step (or one message from ops) being carried out: a copy of the state and the effects so far."""

    def __init__(self, s: CaseState, policy: Policy, now: dt.datetime, *, letters: bool | str = True) -> None:
        self.letters = letters
        self.s = s.model_copy(update={name: list(getattr(s, name)) for name in (
            "done", "audit", "tasks", "procedure", "entries", "interest_free")})
        self.policy, self.now = policy, now
        self.today = local_date(now, policy.calendar)
        self.effects: list[Effect] = []
        self._statement_for: tuple | None = None  # what the cached statement was computed from

    # -------------------------------------------------------------- audit, letters, outward effects

    def record(self, kind: str, step: str, rule_id: str, summary: str, refs: list[str] | None = None) -> None:
        """An audit line, written when the interpreter reaches it: the audit keeps the order things happened in."""
        self.effects.append(Record(Action(at=self.now, stage=self.s.stage, kind=kind, step=step, rule_id=rule_id,
                                          policy_ref=self.policy.ref, summary=summary, refs=refs or [])))

    def audit(self, kind: str, step: str, rule_id: str, summary: str | None = None) -> Audit:
        return Audit(at=self.now, kind=kind, step=step, rule_id=rule_id, stage=self.s.stage,
                     policy_ref=self.policy.ref, summary=summary)

    def letter(self, kind: str, rule_id: str, **extra) -> LetterContext:
        """Every letter, email and task prints the statement of the day it is written."""
        if not self.letters:
            return Unwritten(kind, rule_id)
        s, today = self.s, self.today
        current = self._statement()
        return LetterContext(
            kind=kind, language=s.invoice.debtor.language, today=today, invoice=s.invoice,
            creditor=self.policy.creditor, rule_id=rule_id, policy_ref=self.policy.ref,
            principal_due=current.principal_due, penalties_due=current.penalties_due,
            indemnity_due=current.indemnity_due, penalty_lines=current.penalty_lines,
            payments=[a for a in current.allocations if a.kind in ("payment", "credit_note")],
            penalties_accrued=current.penalties_accrued, penalties_paid=current.penalties_paid,
            indemnity_paid=current.indemnity_paid, days_late=max(0, (today - s.invoice.due_date).days), **extra,
        )

    def _statement(self):
        """The day's statement, computed once for all the letters of a step (the entries do not change in it)."""
        key = (len(self.s.entries), len(self.s.interest_free), self.s.insolvency)
        if self._statement_for != key:
            self._statement_for, self._statement_cached = key, account.statement_of(self.s, self.policy, self.today)
        return self._statement_cached

    def email(self, step: str, rule_id: str, template: str, *, attach_pdf: bool = False, **extra) -> None:
        self.effects.append(SendEmail(step, self.s.invoice.debtor.email, self.letter(template, rule_id, **extra),
                                      self.audit("email", step, rule_id), attach_pdf=attach_pdf))

    def document(self, step: str, rule_id: str, template: str, *, registered: bool = False, **extra) -> None:
        self.effects.append(WriteDocument(step, self.letter(template, rule_id, **extra),
                                          self.audit("letter", step, rule_id, f"Courrier {template} à imprimer"),
                                          registered=registered))

    def task(self, key: str, rule_id: str, text: str) -> None:
        """A task for ops: kept on the case, and emailed to the ops mailbox."""
        self.s.tasks.append(OpsTask(key=key, due=self.today, text=text, rule_id=rule_id))
        self.record("task", key, rule_id, text)
        letter = (self.letter("ops_task", rule_id, note=text, recipient="équipe recouvrement")
                  if self.letters is True else Unwritten("ops_task", rule_id))
        self.effects.append(SendEmail(f"task:{key}", self.policy.ops.email, letter, None))

    # -------------------------------------------------------------- the steps

    def remind(self, reminder: Reminder) -> None:
        self.s.stage = reminder.stage
        key = reminder_key(reminder.id)
        for channel in reminder.channels:
            if channel is Channel.email:
                self.email(key, reminder.id, reminder.template, attach_pdf=reminder.attach_pdf)
            elif channel is Channel.letter:
                self.document(key, reminder.id, reminder.template)
                self.task(f"{key}:post", reminder.id, "Poster la lettre de relance (courrier simple)")
            else:
                invoice = self.s.invoice
                self.task(f"{key}:call", reminder.id,
                          reminder.note or f"Appeler {invoice.debtor.name} au sujet de la facture {invoice.number}")

    def send_notice(self) -> None:
        notice = self.policy.formal_notice
        self.s.stage = Stage.formal_notice
        self.s.notice_sent_on = self.today
        deadline = notice_deadline(self.today, self.policy)
        for channel in notice.channels:
            if channel is Channel.email:
                self.email("notice", notice.id, notice.template, deadline=deadline, attach_pdf=notice.attach_pdf)
            elif channel is Channel.letter:
                self.document("notice", notice.id, notice.template, deadline=deadline, registered=True)
                self.task("notice:lrar", notice.id, "Envoyer la mise en demeure en recommandé avec AR")
            else:
                self.task("notice:call", notice.id, "Appeler le débiteur: mise en demeure envoyée")

    def escalate(self) -> None:
        rule = choose_escalation(self.policy.escalation, self.s.invoice, self.s.principal)
        if rule is None:
            self.s.path, self.s.path_rule = "ops_review", "escalation"
            self.record("escalation", "escalate", "escalation", "Aucune règle d'escalade ne s'applique")
            self.task("escalate:review", "escalation", "Aucune règle d'escalade ne couvre ce dossier: décider de la suite")
            return
        self.s.path, self.s.path_rule = rule.path, rule.id
        self.record("escalation", "escalate", rule.id, f"Voie retenue: {rule.path}")
        if rule.path == "insurer_claim":
            self.file_insurer_claim(rule.id)
        elif rule.path in ("injonction", "small_claims"):
            self.prepare_court_dossier(rule.path, rule.id)
        else:
            self.task("escalate:review", rule.id, "Dossier à examiner par le recouvrement")

    def file_insurer_claim(self, rule_id: str) -> None:
        s, insurer = self.s, self.policy.insurer
        s.stage = Stage.insurer_claim
        s.expected_indemnity = expected_insurer_indemnity(account.covered_excl_tax(s), s.invoice.debtor.credit_limit, insurer)
        letter = self.letter("insurer_claim", rule_id, recipient=insurer.name, expected_indemnity=s.expected_indemnity,
                             attachments=[a.summary for a in s.audit if a.kind in ("email", "letter")])
        summary = (f"Déclaration de menace de sinistre déposée auprès de {insurer.name}"
                   f" (indemnité attendue {eur(s.expected_indemnity)})")
        self.effects.append(FileInsurerClaim("insurer:file", letter, self.audit("insurer", "insurer:file", rule_id, summary)))
        s.procedure.append(TrackedStep(name="filed", on=self.today))

    def prepare_court_dossier(self, route: str, rule_id: str) -> None:
        s = self.s
        s.stage = Stage.injonction if route == "injonction" else Stage.small_claims
        notice_doc = next((r for a in s.audit if a.step == "notice" and a.kind == "letter" for r in a.refs), None)
        attachments = ["Facture " + s.invoice.number, "Mise en demeure du " + f"{s.notice_sent_on:%d/%m/%Y}"]
        if s.invoice.purchase_order:
            attachments.append("Bon de commande " + s.invoice.purchase_order)
        if s.invoice.delivery_proof:
            attachments.append("Preuve de livraison " + s.invoice.delivery_proof)
        letter = self.letter(f"{route}_request", rule_id, attachments=attachments)
        self.effects.append(PrepareDossier(f"{route}:dossier", route, letter, notice_doc,
                                           self.audit("document", f"{route}:dossier", rule_id, "Dossier de requête préparé")))
        self.task(f"{route}:file", rule_id, FILING_TASKS[route])

    def check_instalment(self, n: int) -> None:
        s = self.s
        if account.instalment_paid(s, n):
            return
        bounds, plan = self.policy.negotiation, s.plan
        s.plan = plan = plan.model_copy(update={"missed": n})
        # Penalties were frozen while the plan held; they run again from the missed due date.
        end_interest_free(s, plan.instalments[n - 1].due_date)
        if bounds.on_missed_instalment == "resume_reminders":
            s.shift_days += (self.today - local_date(plan.accepted_at, self.policy.calendar)).days
        else:
            self.skip_reminders("Échéancier non respecté: mise en demeure directe", lambda _: True)
        self.record("plan", instalment_key(n, "missed"), bounds.id,
                  f"Échéance {n} impayée: reprise de l'escalade ({bounds.on_missed_instalment})")
        self.task(instalment_key(n, "missed"), bounds.id, f"Échéance {n} de l'échéancier impayée: l'escalade reprend")

    def close_opposition_window(self) -> None:
        rule = self.s.path_rule or "escalation"
        self.s.procedure.append(TrackedStep(name="no_opposition", on=self.today))
        self.record("court", "injonction:enforceable", rule, "Pas d'opposition dans le délai: l'ordonnance est exécutoire")
        self.task("injonction:enforce", rule, "Confier l'exécution de l'ordonnance à un commissaire de justice")

    def skip_reminders(self, why: str, which) -> None:
        for reminder in self.policy.reminders:
            key = reminder_key(reminder.id)
            if key not in self.s.done and which(reminder):
                self.s.done.append(key)
                self.record("skipped", key, reminder.id, why)


FILING_TASKS = {"injonction": "Déposer la requête en injonction de payer au tribunal de commerce du siège du débiteur",
                "small_claims": "Transmettre la demande de recouvrement des petites créances à un commissaire de justice"}


def withdrawn(s: CaseState, effect: Effect) -> bool:
    """An ops task taken back while the earlier effects of its step ran (the customer's account took another court
    route): its line is not written nor its email sent."""
    if isinstance(effect, Record):
        key = effect.action.step if effect.action.kind == "task" else None
    elif isinstance(effect, SendEmail) and effect.audit is None and effect.step.startswith("task:"):
        key = effect.step.removeprefix("task:")
    else:
        return False
    return key in s.withdrawn_tasks


def paid_since(s: CaseState, effect: Effect, paid: Decimal) -> bool:
    """A message to the debtor prepared before a payment arrived (while earlier effects of its step ran): it is not
    sent (`transitions.not_sent_after_payment`)."""
    if not isinstance(effect, (SendEmail, WriteDocument, PrepareDossier, FileInsurerClaim)) or effect.audit is None:
        return False
    return effect.step != "thank-you" and s.paid_total > paid


def cleared(s: CaseState, step: str | None) -> None:
    """The step went through: no failure left, and the tasks its failures gave ops are done (the worklist and
    `relance status` no longer show them; their audit lines stay)."""
    s.failure = None
    if step is not None and any(task.key.startswith(f"failed:{step}:") for task in s.tasks):
        s.tasks = [task for task in s.tasks if not task.key.startswith(f"failed:{step}:")]


def readdressed(s: CaseState, effect: Effect) -> Effect:
    """An effect about to be tried again after ops corrected the debtor's contact details: it goes to, and prints,
    the case's debtor as it is now (the figures stay those of the day it was written)."""
    if isinstance(effect, Record) or not isinstance(effect.letter, LetterContext):
        return effect
    before = effect.letter.invoice
    if before.number != s.invoice.number or before.debtor == s.invoice.debtor:
        return effect
    letter = effect.letter.model_copy(update={"invoice": before.model_copy(update={"debtor": s.invoice.debtor})})
    changes = {"letter": letter}
    if isinstance(effect, SendEmail) and effect.to == before.debtor.email:  # the debtor's message, not ops'
        changes["to"] = s.invoice.debtor.email
    return dataclasses.replace(effect, **changes)


def recorded(s: CaseState, effect: Effect, refs: list[str], subject: str | None = None) -> None:
    """Write the audit line of an effect once carried out (an interpreter's last move for each effect)."""
    if isinstance(effect, Record):
        s.audit.append(effect.action)
    elif effect.audit is None:  # an ops task's email: its message id joins the task's own line
        key = effect.step.removeprefix("task:")
        line = next((n for n in range(len(s.audit) - 1, -1, -1)
                     if s.audit[n].kind == "task" and s.audit[n].step == key), len(s.audit) - 1)
        s.audit[line] = s.audit[line].model_copy(update={"refs": [*s.audit[line].refs, *refs]})
    else:
        spec = effect.audit
        s.audit.append(Action(at=spec.at, stage=spec.stage, kind=spec.kind, step=spec.step, rule_id=spec.rule_id,
                              policy_ref=spec.policy_ref, refs=refs,
                              summary=spec.summary if spec.summary is not None else subject or ""))


HELD_FOR_REVIEW = "python -m relance.delivery resolve"  # what a message held for review tells ops to run


def held_for_review(key: str, message_id: str | None, *, again: bool = False) -> str:
    """What ops read of a message held for review: when it is first held (activities/mail.py), and `again` when
    a case is retried before they answered."""
    why = ("toujours en attente de la réponse d'ops sur cet envoi jamais confirmé" if again
           else "un envoi précédent n'a jamais été confirmé, le serveur SMTP l'a peut-être accepté")
    return (f"{key} : {why} ; chercher le Message-ID {message_id} dans le journal du relais SMTP (ou demander au"
            f" destinataire), puis `{HELD_FOR_REVIEW} {key} sent` (il est parti) ou `resend` (le renvoyer)")


def step_failed(s: CaseState, policy: Policy, effect: Effect, error: str, now: dt.datetime, *,
                retrying: bool) -> Outcome:
    """A step that cannot be carried out never stalls in silence: the case says so and ops get one task."""
    work = Work(s, policy, now)
    invoice = s.invoice.number
    if retrying:
        text = (f"Étape {effect.step} en échec depuis plus de {policy.ops.task_after_failing_minutes} minutes"
                f" (nouvelles tentatives en cours): {error}")
    elif HELD_FOR_REVIEW in error:  # a message the relay may hold (activities/mail.py): ops answer, no data to fix
        text = f"Étape {effect.step} en attente de la réponse d'ops: {error}, puis `relance retry {invoice}`"
    else:
        text = (f"Étape {effect.step} impossible: {error}. Corriger la donnée (les coordonnées du débiteur :"
                f" `relance contact {s.invoice.debtor.debtor_id}`) ou le modèle, puis `relance retry {invoice}`")
    work.s.failure = StepFailure(step=effect.step, error=error, since=now, waiting_for_retry=not retrying)
    n = sum(1 for t in s.tasks if t.key.startswith(f"failed:{effect.step}:")) + 1
    work.task(f"failed:{effect.step}:{n}", "ops", text)
    return Outcome(work.s, work.effects)


def end_interest_free(s: CaseState, last_day: dt.date) -> None:
    """Close the interest-free period a payment plan opened (its last day included)."""
    open_period = s.interest_free[-1] if s.interest_free else None
    if open_period is not None and open_period.end is None:
        s.interest_free[-1] = open_period.model_copy(update={"end": max(last_day, open_period.start)})
