"""The life of one unpaid invoice, as the policy describes it.

Reminders before and after the due date, a payment plan if the debtor asks for one, the mise en demeure,
then the escalation path the rules choose (credit insurer, injonction de payer or small claims), tracked
to its end. Ops pause the case on a dispute, record payments and procedure steps, and stop it when the
debtor enters a procédure collective (the claim is then declared in time instead); every action is written
to the audit trail with the rule and policy version that decided it.

The workflow only decides and waits. Dates and money come from pure functions in `domain`; rules,
emails, documents and filings go through activities, so replaying a history is exact.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from temporalio import workflow

if TYPE_CHECKING:
    from collections.abc import Callable

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.contracts import (
        ADAPTER_CALL, ClaimRequest, DocumentRequest, DossierRequest, OutgoingEmail, PolicyRequest,
    )
    from domain import account
    from domain.calendar import add_months, procedural_deadline
    from domain.case import (
        PROCEDURE_STEPS,
        PROCEDURE_TASKS,
        Insolvency,
        InsolvencyNotice,
        Action,
        CaseStart,
        CaseState,
        CaseStatus,
        CloseRequest,
        Dispute,
        DisputeRequest,
        DisputeResolution,
        NextAction,
        OpsTask,
        Payment,
        PaymentPlan,
        PaymentReceipt,
        PlanDecision,
        PlanProposal,
        ProcedureStep,
        TrackedStep,
    )
    from domain.letters import LetterContext
    from domain.money import expected_insurer_indemnity, format_eur as eur
    from domain.statement import Entry, Period
    from domain.policy import Channel, Policy, Reminder, Stage, shared
    from domain.versions import PolicyNotice
    from domain.schedule import (
        Perform,
        Step,
        choose_escalation,
        local_date,
        notice_deadline,
        plan_refusal,
        sending_moment,
        step_day,
    )
    from workflows import visibility


POLICY_READ_LOCALLY = "policy-read-locally"  # patch id: cases opened before `CaseStart.read_policy_locally` existed


@workflow.defn
class InvoiceCase:
    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        invoice = start.invoice
        self.s: CaseState = start.carried or CaseState(
            invoice=invoice,
            opened_at=workflow.now(),
            principal=invoice.amount_incl_tax,
            accrued_through=invoice.due_date,
        )
        self.policy: Policy | None = None
        self._changed = False
        self._published: dict | None = None
        self._newer_policy: int | None = start.newer_policy  # a version published since: adopted at the next decision
        self._read_policy_locally = start.read_policy_locally
        account.carry_legacy_balance(self.s)

    # ------------------------------------------------------------------ the life of a case

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        self.policy = shared(start.policy) if start.policy else await self._load_policy()
        if start.carried is None:
            self._record("open", "case", "policy", f"Dossier ouvert sous {self.policy.ref}")
            self._skip_steps_already_past()

        while self.s.stage is not Stage.closed:
            if self._history_is_long(start.history_events_limit):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(CaseStart(
                    invoice=self.s.invoice, carried=self.s, policy=self.policy, newer_policy=self._newer_policy,
                    history_events_limit=start.history_events_limit, read_policy_locally=True))
            if self._newer_policy is not None:
                await self._adopt_newer_policy()
            step = self._next_step()
            self._publish(step)
            if step is None:
                await self._wait_for_change()
            elif await self._sleep_until(step.at):
                await step.perform()
                if step.key not in self.s.done:
                    self.s.done.append(step.key)

        await self._after_closing()
        self._publish(None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _next_step(self) -> Step | None:
        """What the policy does next. An insolvency stops all chasing; a dispute freezes all but its own review."""
        if self.s.insolvency is not None:
            pending = [c for c in [*self._follow_up_steps(), *self._insolvency_steps()] if c.key not in self.s.done]
            return min(pending, key=lambda c: c.at, default=None)
        if self.s.dispute is not None:
            paused = [self._dispute_review_step(), self._extension_request_step()]
            return min((step for step in paused if step and step.key not in self.s.done), key=lambda c: c.at, default=None)
        candidates = [*self._follow_up_steps(), *self._plan_steps(), *self._escalation_steps()]
        pending = [c for c in candidates if c.key not in self.s.done]
        return min(pending, key=lambda c: c.at, default=None)

    def _escalation_steps(self) -> list[Step]:
        """The ladder, then the mise en demeure, then the path the rules choose, then its deadlines."""
        if account.plan_active(self.s):
            return []
        policy = self._policy()
        if self.s.path is not None:
            return self._procedure_steps()
        for reminder in policy.reminders:
            key = f"reminder:{reminder.id}"
            if key not in self.s.done:
                day = step_day(self.s.invoice, reminder.offset_days, self.s.shift_days)
                return [self._step(key, reminder.id, f"Relance {reminder.id}", day, self._remind(reminder),
                                   before=self.s.invoice.due_date)]
        notice = policy.formal_notice
        if self.s.notice_sent_on is None:
            day = step_day(self.s.invoice, notice.offset_days, self.s.shift_days)
            if self.s.plan is not None and self.s.plan.missed and policy.negotiation.on_missed_instalment == "formal_notice":
                day = min(day, self._today())
            return [self._step("notice", notice.id, "Mise en demeure", day, self._send_formal_notice)]
        escalate_on = notice_deadline(self.s.notice_sent_on, policy) + dt.timedelta(days=1)
        rule = choose_escalation(policy.escalation, self.s.invoice, self.s.principal)
        if rule is not None and rule.path == "insurer_claim":
            # Filing late loses cover: never let the notice's deadline push past the policy's.
            last_safe = account.insurer_deadline(self.s, policy) - dt.timedelta(days=policy.insurer.file_days_before_deadline)
            escalate_on = min(escalate_on, last_safe)
        return [self._step("escalate", rule.id if rule else "escalation", "Escalade", escalate_on, self._escalate)]

    # ------------------------------------------------------------------ policy versions

    async def _load_policy(self, at_least_version: int = 0) -> Policy:
        request = PolicyRequest(policy_id=self.s.invoice.policy_id, at_least_version=at_least_version)
        if self._read_policy_locally or workflow.patched(POLICY_READ_LOCALLY):
            # A read of the worker's own rule files: no round trip through the server for it.
            policy = await workflow.execute_local_activity_method(CaseActivities.load_policy, request, **ADAPTER_CALL)
        else:  # cases opened before the read became local replay it as they recorded it
            policy = await workflow.execute_activity_method(CaseActivities.load_policy, request, **ADAPTER_CALL)
        return shared(policy)

    async def _adopt_newer_policy(self) -> None:
        """Future steps follow the new version; steps done stay done, and none it dates before today is sent."""
        target, self._newer_policy = self._newer_policy, None
        newer = await self._load_policy(at_least_version=target)
        if newer.version <= self._policy().version:
            return
        previous, self.policy = self._policy().ref, newer
        self._record("policy", f"policy:v{newer.version}", "policy",
                     f"Nouvelle version adoptée: {newer.ref} (hash {newer.content_hash}), remplace {previous}")
        today = self._today()
        self._skip_reminders(f"Étape datée avant l'adoption de {newer.ref}",
                             lambda r: step_day(self.s.invoice, r.offset_days, self.s.shift_days) < today)

    @workflow.signal
    def policy_published(self, notice: PolicyNotice) -> None:
        if self.policy is None or notice.version <= self.policy.version:
            return
        if self.policy.adoption == "pin":
            if f"policy:v{notice.version}:pinned" not in self.s.done:
                self.s.done.append(f"policy:v{notice.version}:pinned")
                self._record("policy", f"policy:v{notice.version}:pinned", "policy",
                             f"Version v{notice.version} publiée, non adoptée: ce dossier reste sous {self.policy.ref} (pin)")
            return
        self._newer_policy = max(notice.version, self._newer_policy or 0)
        self._changed = True

    # ------------------------------------------------------------------ reminders and formal notice

    def _remind(self, reminder: Reminder) -> Perform:
        async def perform() -> None:
            self.s.stage = reminder.stage
            key = f"reminder:{reminder.id}"
            for channel in reminder.channels:
                if channel is Channel.email:
                    await self._email(key, reminder.id, reminder.template)
                elif channel is Channel.letter:
                    await self._document(key, reminder.id, reminder.template, kind="letter")
                    await self._task(f"{key}:post", reminder.id, "Poster la lettre de relance (courrier simple)")
                else:
                    text = reminder.note or f"Appeler {self.s.invoice.debtor.name} au sujet de la facture {self.s.invoice.number}"
                    await self._task(f"{key}:call", reminder.id, text)

        return perform

    async def _send_formal_notice(self) -> None:
        notice = self._policy().formal_notice
        self.s.stage = Stage.formal_notice
        self.s.notice_sent_on = self._today()
        deadline = notice_deadline(self.s.notice_sent_on, self._policy())
        for channel in notice.channels:
            if channel is Channel.email:
                await self._email("notice", notice.id, notice.template, deadline=deadline)
            elif channel is Channel.letter:
                await self._document("notice", notice.id, notice.template, kind="letter", deadline=deadline)
                await self._task("notice:lrar", notice.id, "Envoyer la mise en demeure en recommandé avec AR")
            else:
                await self._task("notice:call", notice.id, "Appeler le débiteur: mise en demeure envoyée")

    # ------------------------------------------------------------------ escalation: insurer, court, small claims

    async def _escalate(self) -> None:
        policy = self._policy()
        rule = choose_escalation(policy.escalation, self.s.invoice, self.s.principal)
        if rule is None:
            self.s.path, self.s.path_rule = "ops_review", "escalation"
            self._record("escalation", "escalate", "escalation", "Aucune règle d'escalade ne s'applique")
            await self._task("escalate:review", "escalation", "Aucune règle d'escalade ne couvre ce dossier: décider de la suite")
            return
        self.s.path, self.s.path_rule = rule.path, rule.id
        self._record("escalation", "escalate", rule.id, f"Voie retenue: {rule.path}")
        if rule.path == "insurer_claim":
            await self._file_insurer_claim(rule.id)
        elif rule.path in ("injonction", "small_claims"):
            await self._prepare_court_dossier(rule.path, rule.id)
        else:
            await self._task("escalate:review", rule.id, "Dossier à examiner par le recouvrement")

    async def _file_insurer_claim(self, rule_id: str) -> None:
        insurer = self._policy().insurer
        invoice = self.s.invoice
        self.s.stage = Stage.insurer_claim
        self.s.expected_indemnity = expected_insurer_indemnity(
            account.covered_excl_tax(self.s), invoice.debtor.credit_limit, insurer
        )
        letter = self._letter(
            "insurer_claim", rule_id, recipient=insurer.name, expected_indemnity=self.s.expected_indemnity,
            attachments=[a.summary for a in self.s.audit if a.kind in ("email", "letter")],
        )
        receipt = await workflow.execute_activity_method(
            CaseActivities.file_insurer_claim,
            ClaimRequest(key=self._key("insurer:file"), insurer=insurer, letter=letter),
            **ADAPTER_CALL,
        )
        self._record(
            "insurer", "insurer:file", rule_id,
            f"Déclaration de menace de sinistre déposée auprès de {insurer.name} (indemnité attendue {eur(self.s.expected_indemnity)})",
            refs=[receipt.reference, *receipt.documents, receipt.message_id],
        )
        self.s.procedure.append(TrackedStep(name="filed", on=self._today()))

    async def _prepare_court_dossier(self, route: str, rule_id: str) -> None:
        self.s.stage = Stage.injonction if route == "injonction" else Stage.small_claims
        notice_doc = next((r for a in self.s.audit if a.step == "notice" and a.kind == "letter" for r in a.refs), None)
        attachments = ["Facture " + self.s.invoice.number, "Mise en demeure du " + f"{self.s.notice_sent_on:%d/%m/%Y}"]
        if self.s.invoice.purchase_order:
            attachments.append("Bon de commande " + self.s.invoice.purchase_order)
        if self.s.invoice.delivery_proof:
            attachments.append("Preuve de livraison " + self.s.invoice.delivery_proof)
        letter = self._letter(f"{route}_request", rule_id, attachments=attachments)
        dossier = await workflow.execute_activity_method(
            CaseActivities.prepare_dossier,
            DossierRequest(key=self._key(f"{route}:dossier"), route=route, letter=letter, notice_document=notice_doc),
            **ADAPTER_CALL,
        )
        self._record("document", f"{route}:dossier", rule_id, "Dossier de requête préparé", refs=dossier.documents)
        if route == "injonction":
            text = "Déposer la requête en injonction de payer au tribunal de commerce du siège du débiteur"
        else:
            text = "Transmettre la demande de recouvrement des petites créances à un commissaire de justice"
        await self._task(f"{route}:file", rule_id, text)

    def _procedure_steps(self) -> list[Step]:
        """Legal deadlines of the chosen path, counted from the steps ops confirmed."""
        policy, steps = self._policy(), {t.name: t for t in self.s.procedure}
        rule = self.s.path_rule or "escalation"
        out: list[Step] = []
        if self.s.path == "injonction":
            court = policy.injonction
            if "order_issued" in steps and "served" not in steps:
                lapse = procedural_deadline(steps["order_issued"].on, months=court.serve_within_months, calendar=policy.calendar)
                warn = lapse - dt.timedelta(days=court.task_days_before_deadline)
                out.append(self._step("injonction:serve-reminder", rule, "Signifier l'ordonnance", warn, self._task_step(
                    "injonction:serve-reminder", rule, f"Faire signifier l'ordonnance avant le {lapse:%d/%m/%Y}, sinon elle devient caduque")))
                out.append(self._step("injonction:lapsed", rule, "Ordonnance caduque", lapse + dt.timedelta(days=1), self._task_step(
                    "injonction:lapsed", rule, "Ordonnance non signifiée dans le délai: elle est caduque")))
            if "served" in steps and not steps.keys() & {"opposition", "no_opposition"}:
                end = procedural_deadline(steps["served"].on, months=court.opposition_months, calendar=policy.calendar)
                out.append(self._step("injonction:opposition-window", rule, "Fin du délai d'opposition",
                                      end + dt.timedelta(days=1), self._opposition_window_closed))
        elif self.s.path == "small_claims" and "sent" in steps and not steps.keys() & {"agreed", "refused"}:
            end = add_months(steps["sent"].on, policy.small_claims.response_months)
            out.append(self._step("small_claims:no-answer", rule, "Réponse du débiteur attendue", end + dt.timedelta(days=1), self._task_step(
                "small_claims:no-answer", rule, "Pas de réponse du débiteur au commissaire de justice: envisager l'injonction de payer")))
        elif self.s.path == "insurer_claim" and "filed" in steps and "indemnified" not in steps:
            check = add_months(steps["filed"].on, policy.insurer.waiting_period_months)
            out.append(self._step("insurer:waiting-period", rule, "Indemnisation attendue", check, self._task_step(
                "insurer:waiting-period", rule, "Délai constitutif de sinistre écoulé: relancer l'assureur sur l'indemnisation")))
        return out

    async def _opposition_window_closed(self) -> None:
        rule = self.s.path_rule or "escalation"
        self.s.procedure.append(TrackedStep(name="no_opposition", on=self._today()))
        self._record("court", "injonction:enforceable", rule, "Pas d'opposition dans le délai: l'ordonnance est exécutoire")
        await self._task("injonction:enforce", rule, "Confier l'exécution de l'ordonnance à un commissaire de justice")

    # ------------------------------------------------------------------ payment plan

    def _plan_steps(self) -> list[Step]:
        """Each instalment gets its reminder, then a check after the grace period."""
        if not account.plan_active(self.s):
            return []
        bounds, plan = self._policy().negotiation, self.s.plan
        steps = []
        for n, instalment in enumerate(plan.instalments, start=1):
            if account.instalment_paid(self.s, n):
                continue
            remind_on = instalment.due_date - dt.timedelta(days=bounds.reminder_days_before)
            steps.append(self._step(f"plan:{n}:reminder", bounds.id, f"Rappel d'échéance {n}", remind_on,
                                    self._remind_instalment(n), before=instalment.due_date))
            steps.append(self._step(f"plan:{n}:check", bounds.id, f"Contrôle de l'échéance {n}",
                                    instalment.due_date + dt.timedelta(days=bounds.grace_days), self._check_instalment(n)))
            break
        return steps

    def _end_interest_free(self, last_day: dt.date) -> None:
        open_period = self.s.interest_free[-1] if self.s.interest_free else None
        if open_period is not None and open_period.end is None:
            self.s.interest_free[-1] = open_period.model_copy(update={"end": max(last_day, open_period.start)})

    def _remind_instalment(self, n: int) -> Perform:
        async def perform() -> None:
            bounds = self._policy().negotiation
            await self._email(f"plan:{n}:reminder", bounds.id, bounds.template, instalment=self.s.plan.instalments[n - 1])

        return perform

    def _check_instalment(self, n: int) -> Perform:
        async def perform() -> None:
            if account.instalment_paid(self.s, n):
                return
            bounds, plan = self._policy().negotiation, self.s.plan
            plan.missed = n
            # Penalties were frozen while the plan held; they run again from the missed due date.
            self._end_interest_free(plan.instalments[n - 1].due_date)
            if bounds.on_missed_instalment == "resume_reminders":
                self.s.shift_days += (self._today() - local_date(plan.accepted_at, self._policy().calendar)).days
            else:
                self._skip_reminders("Échéancier non respecté: mise en demeure directe", lambda _: True)
            self._record("plan", f"plan:{n}:missed", bounds.id, f"Échéance {n} impayée: reprise de l'escalade ({bounds.on_missed_instalment})")
            await self._task(f"plan:{n}:missed", bounds.id, f"Échéance {n} de l'échéancier impayée: l'escalade reprend")

        return perform

    # ------------------------------------------------------------------ insolvency of the debtor

    def _insolvency_steps(self) -> list[Step]:
        """Chasing has stopped: the claim is declared to the mandataire judiciaire in time, and an insured
        debtor's insolvency is the insurer's loss event."""
        rules, insolvency, now = self._policy().insolvency, self.s.insolvency, workflow.now()
        rule, declared = rules.id, account.confirmed(self.s, "declared")
        deadline = account.declaration_deadline(self.s, self._policy())
        by = f" avant le {deadline:%d/%m/%Y}" if deadline else " dans les délais (date de publication au BODACC à enregistrer)"
        claim = account.statement_of(self.s, self._policy(), self._today())
        text = (f"Procédure collective ({insolvency.kind}, jugement du {insolvency.judgment_on:%d/%m/%Y}): déclarer la"
                f" créance de {eur(claim.total_due)} (principal {eur(claim.principal_due)}, pénalités arrêtées au jugement"
                f" {eur(claim.penalties_due)}" + (f", indemnité forfaitaire {eur(claim.indemnity_due)}" if claim.indemnity_due else "")
                + f") au mandataire judiciaire{by}")
        steps = [Step("insolvency:declare", rule, "Déclaration de créance", now, self._task_step("insolvency:declare", rule, text))]
        if self.s.invoice.debtor.insured and self.s.path != "insurer_claim":
            steps.append(Step("insolvency:insurer", rule, "Sinistre déclaré à l'assureur", now, self._declare_loss_to_insurer))
        if deadline and not declared:
            warn_key, lapse_key = f"insolvency:declare-by:{deadline}", f"insolvency:lapsed:{deadline}"
            steps.append(self._step(warn_key, rule, "Déclaration de créance à confirmer",
                                    deadline - dt.timedelta(days=rules.task_days_before_deadline), self._task_step(
                warn_key, rule, f"Déclaration de créance non confirmée: dernier délai le {deadline:%d/%m/%Y}")))
            steps.append(self._step(lapse_key, rule, "Délai de déclaration expiré", deadline + dt.timedelta(days=1),
                                    self._task_step(lapse_key, rule, f"Créance non déclarée au {deadline:%d/%m/%Y}: demander"
                                                    " au juge-commissaire un relevé de forclusion")))
        if self.s.path == "insurer_claim":
            steps += self._procedure_steps()
        return steps

    async def _declare_loss_to_insurer(self) -> None:
        self.s.path, self.s.path_rule = "insurer_claim", self._policy().insolvency.id
        await self._file_insurer_claim(self.s.path_rule)
        self.s.stage = Stage.insolvency

    # ------------------------------------------------------------------ disputes, follow-ups, closing

    def _dispute_review_step(self) -> Step | None:
        dispute = self.s.dispute
        if dispute.review_task_raised:
            return None
        key = f"dispute:{dispute.opened_at:%Y%m%d%H%M%S}:review"

        async def perform() -> None:
            dispute.review_task_raised = True
            await self._task(key, "disputes", f"Litige en attente depuis le {dispute.opened_at:%d/%m/%Y}, date de revue dépassée: {dispute.reason}")

        return self._step(key, "disputes", "Revue du litige", dispute.review_by, perform)

    def _extension_request_step(self) -> Step | None:
        """A disputed invoice is not covered until settled: ask the insurer for the extension in time."""
        policy = self._policy()
        rule = choose_escalation(policy.escalation, self.s.invoice, self.s.principal)
        if rule is None or rule.path != "insurer_claim" or self.s.path is not None or account.confirmed(self.s, "extension_granted"):
            return None
        insurer, deadline = policy.insurer, account.insurer_deadline(self.s, policy)
        text = (f"Facture en litige, donc non couverte: demander à {insurer.name} une prorogation de"
                f" {insurer.extension_days} jours avant le {deadline:%d/%m/%Y}, date limite de la déclaration de menace de sinistre")
        key = "insurer:extension-request"
        return self._step(key, rule.id, "Demande de prorogation", deadline - dt.timedelta(days=insurer.file_days_before_deadline),
                          self._task_step(key, rule.id, text))

    def _follow_up_steps(self) -> list[Step]:
        """Things ops asked for through a message that the case acts on at once."""
        steps, now = [], workflow.now()
        if self.s.plan is not None:
            key = f"plan:{self.s.plan.accepted_at:%Y%m%d%H%M%S}:confirmation"
            steps.append(Step(key, self._policy().negotiation.id, "Confirmation de l'échéancier", now,
                              lambda: self._email(key, self._policy().negotiation.id, "plan_accepted",
                                                  instalments=self.s.plan.instalments)))
        for tracked in self.s.procedure:
            text = PROCEDURE_TASKS.get(f"{self.s.path}:{tracked.name}")
            if text:
                key = f"{self.s.path}:{tracked.name}:task"
                steps.append(Step(key, self.s.path_rule or "escalation", text, now,
                                  self._task_step(key, self.s.path_rule or "escalation", text)))
        if self.s.overpaid > 0:
            key = f"payment:overpaid:{self.s.overpaid}"
            steps.append(Step(key, "payments", "Trop-perçu", now, self._task_step(
                key, "payments", f"Trop-perçu de {eur(self.s.overpaid)} à rembourser ou affecter")))
        return steps

    async def _after_closing(self) -> None:
        """The thank-you message and the overpayment task outlive the close."""
        for step in self._follow_up_steps():
            if step.key not in self.s.done:
                await step.perform()
                self.s.done.append(step.key)
        template = self._policy().payments.thank_you_template
        if template and self.s.closed_reason == "paid" and "thank-you" not in self.s.done:
            await self._email("thank-you", "payments", template)
            self.s.done.append("thank-you")

    def _skip_steps_already_past(self) -> None:
        """An invoice imported late joins the ladder at its next step, rather than receiving a burst.

        One opened after its whole ladder starts with the last reminder, and the mise en demeure follows
        at its usual distance: a formal notice never comes out of the blue.
        """
        now, calendar, last = workflow.now(), self._policy().calendar, self._policy().reminders[-1]

        def past(reminder: Reminder) -> bool:
            day = step_day(self.s.invoice, reminder.offset_days, self.s.shift_days)
            return sending_moment(day, calendar, before=self.s.invoice.due_date) < now

        if past(last):
            self.s.shift_days = (self._today() - self.s.invoice.due_date).days - last.offset_days
            self._skip_reminders("Dossier ouvert après la fin des relances", lambda r: r is not last)
        else:
            self._skip_reminders("Étape déjà passée à l'ouverture du dossier", past)

    def _skip_reminders(self, why: str, which: Callable[[Reminder], bool]) -> None:
        for reminder in self._policy().reminders:
            key = f"reminder:{reminder.id}"
            if key not in self.s.done and which(reminder):
                self.s.done.append(key)
                self._record("skipped", key, reminder.id, why)

    def _close(self, reason: str, summary: str, rule_id: str) -> None:
        """Whatever remains is written off on the day, so a closed case's figures are all zero and say why."""
        today, policy = self._today(), self._policy()
        remainder = account.statement_of(self.s, policy, today).total_due
        if remainder > 0:
            account.book(self.s, Entry(kind="write_off", on=today, reference=reason))
            account.refresh(self.s, policy, today)
            self._record("payment", "balance:written-off", rule_id, f"Solde de {eur(remainder)} abandonné à la clôture"
                         + (f" (politique: {policy.payments.close_when}, seuil {eur(policy.payments.close_below)})"
                            if reason == "paid" else f" ({reason})"))
        self.s.stage = Stage.closed
        self.s.closed_reason = reason
        self._record("close", "close", rule_id, summary)
        self._changed = True

    # ------------------------------------------------------------------ messages from ops

    @workflow.update
    def record_payment(self, payment: Payment) -> PaymentReceipt:
        policy, today = self._policy(), self._today()
        paid_on = payment.paid_on or today
        account.book(self.s, Entry(kind="payment", on=paid_on, amount=payment.amount, reference=payment.reference))
        current = account.refresh(self.s, policy, today)
        applied = next(a for a in reversed(current.allocations) if a.kind == "payment" and a.on == paid_on)
        self._record("payment", f"payment:{self.s.paid_total}", "payments",
                     f"Règlement de {eur(payment.amount)} le {paid_on:%d/%m/%Y} (pénalités {eur(applied.to_penalties)},"
                     f" indemnité {eur(applied.to_indemnity)}, principal {eur(applied.to_principal)}"
                     + (f", trop-perçu {eur(applied.overpaid)})" if applied.overpaid else ")"),
                     refs=[payment.reference] if payment.reference else [])
        if account.settled(self.s, policy, current):
            self._close("paid", "Facture réglée", "payments")
        self._changed = True
        return PaymentReceipt(to_penalties=applied.to_penalties, to_principal=applied.to_principal,
                              to_indemnity=applied.to_indemnity, overpaid=applied.overpaid,
                              balance=current.total_due if self.s.stage is not Stage.closed else account.ZERO,
                              closed=self.s.stage is Stage.closed)

    @record_payment.validator
    def _check_payment(self, payment: Payment) -> None:
        self._require_open()
        if payment.currency != self._policy().payments.currency:
            raise ValueError(f"payment in {payment.currency}, this case is kept in {self._policy().payments.currency}")
        if payment.paid_on is not None and payment.paid_on > self._today():
            raise ValueError(f"payment dated {payment.paid_on:%d/%m/%Y}, in the future")
        if payment.paid_on is not None and payment.paid_on < self.s.invoice.issue_date:
            raise ValueError(f"payment dated {payment.paid_on:%d/%m/%Y}, before the invoice date"
                             f" ({self.s.invoice.issue_date:%d/%m/%Y})")

    @workflow.update
    def propose_plan(self, proposal: PlanProposal) -> PlanDecision:
        # No penalty runs while the plan holds (from tomorrow: today's day still counts).
        self.s.interest_free.append(Period(start=self._today() + dt.timedelta(days=1)))
        self.s.plan = PaymentPlan(accepted_at=workflow.now(), instalments=proposal.instalments,
                                  paid_before_plan=self.s.paid_total)
        self.s.stage = Stage.negotiation
        self._record("plan", "plan:accepted", self._policy().negotiation.id,
                     f"Échéancier accepté: {len(proposal.instalments)} échéances jusqu'au {proposal.instalments[-1].due_date:%d/%m/%Y}")
        self._changed = True
        return PlanDecision(accepted=True, reason="within the policy's bounds", instalments=proposal.instalments)

    @propose_plan.validator
    def _check_plan(self, proposal: PlanProposal) -> None:
        self._require_open()
        if self.s.insolvency is not None:
            raise ValueError("procédure collective: no individual payment plan, the claim goes through the mandataire")
        if account.plan_active(self.s):
            raise ValueError("a payment plan is already running for this case")
        if self.s.path is not None:
            raise ValueError(f"the case is already escalated ({self.s.path})")
        refusal = plan_refusal(proposal.instalments, self._policy().negotiation, self.s.principal,
                               account.statement_of(self.s, self._policy(), self._today()).total_due, self._today())
        if refusal:
            raise ValueError(f"plan refused: {refusal}")

    @workflow.update
    def open_dispute(self, request: DisputeRequest) -> CaseStatus:
        today = self._today()
        review_by = request.review_by or today + dt.timedelta(days=self._policy().disputes.default_review_days)
        self.s.dispute = Dispute(reason=request.reason, opened_at=workflow.now(), review_by=review_by)
        self._record("dispute", "dispute:open", "disputes", f"Litige: {request.reason} (revue le {review_by:%d/%m/%Y})")
        self._changed = True
        return self.status()

    @open_dispute.validator
    def _check_dispute(self, request: DisputeRequest) -> None:
        self._require_open()
        if self.s.dispute is not None:
            raise ValueError(f"already disputed since {self.s.dispute.opened_at:%d/%m/%Y}: {self.s.dispute.reason}")
        if request.review_by is not None and request.review_by < self._today():
            raise ValueError("the review date is in the past")

    @workflow.update
    def resolve_dispute(self, resolution: DisputeResolution) -> CaseStatus:
        dispute, self.s.dispute = self.s.dispute, None
        paused_days = (self._today() - local_date(dispute.opened_at, self._policy().calendar)).days
        if resolution.outcome == "credit_note":
            credit = resolution.credit_amount if resolution.credit_amount is not None else self.s.principal
            account.book(self.s, Entry(kind="credit_note", on=self._today(), amount=credit, reference=resolution.note))
            current = account.refresh(self.s, self._policy(), self._today())
            self._record("dispute", "dispute:credit-note", "disputes", f"Litige clos par un avoir de {eur(credit)} {resolution.note}".strip())
            if account.settled(self.s, self._policy(), current):
                self._close("credited", "Dossier soldé par avoir", "disputes")
                return self.status()
        if self._policy().disputes.on_resume == "shift":
            self.s.shift_days += paused_days
        self._record("dispute", "dispute:resume", "disputes", f"Reprise après {paused_days} jours de litige")
        self._changed = True
        return self.status()

    @resolve_dispute.validator
    def _check_resolution(self, resolution: DisputeResolution) -> None:
        self._require_open()
        if self.s.dispute is None:
            raise ValueError("this case is not disputed")
        if resolution.credit_amount is not None and not (0 < resolution.credit_amount <= self.s.principal):
            raise ValueError(f"a credit note must be positive and at most the principal due ({eur(self.s.principal)})")

    @workflow.update
    def record_procedure_step(self, step: ProcedureStep) -> CaseStatus:
        on = step.on or self._today()
        self.s.procedure.append(TrackedStep(name=step.step, on=on, amount=step.amount))
        rule = self._policy().insolvency.id if step.procedure == "declaration" else self.s.path_rule or "escalation"
        self._record(step.procedure, f"{step.procedure}:{step.step}", rule, f"Étape confirmée: {step.step} le {on:%d/%m/%Y}" + (f" ({eur(step.amount)})" if step.amount else ""))
        if step.procedure == "insurer" and step.step == "indemnified":
            self._close("indemnified", f"Indemnisé par l'assureur ({eur(step.amount)}); tout encaissement ultérieur revient à l'assureur", rule)
        self._changed = True
        return self.status()

    @record_procedure_step.validator
    def _check_procedure_step(self, step: ProcedureStep) -> None:
        self._require_open()
        steps = PROCEDURE_STEPS[step.procedure]
        if step.step not in steps:
            raise ValueError(f"unknown {step.procedure} step {step.step!r}; expected one of {', '.join(steps)}")
        if account.confirmed(self.s, step.step):
            raise ValueError(f"step {step.step!r} is already recorded")
        if step.procedure == "declaration":
            if self.s.insolvency is None:
                raise ValueError("no procédure collective is recorded for this debtor")
            if step.step != "declared" and not account.confirmed(self.s, "declared"):
                raise ValueError("the claim must be declared first")
            return
        if self.s.insolvency is not None and step.procedure in ("court", "small_claims"):
            raise ValueError("procédure collective: individual actions against the debtor have stopped")
        path = {"court": "injonction", "small_claims": "small_claims", "insurer": "insurer_claim"}[step.procedure]
        # A prorogation is asked before filing, while the case is still amicable or disputed.
        before_filing = step.step == "extension_granted" and self.s.path is None and self.s.invoice.debtor.insured
        if self.s.path != path and not before_filing:
            raise ValueError(f"this case is on the {self.s.path or 'amicable'} path, not {path}")
        if step.step == "served" and not account.confirmed(self.s, "order_issued"):
            raise ValueError("the order must be issued before it is served")
        if step.step == "indemnified" and step.amount is None:
            raise ValueError("an indemnity needs its amount")

    @workflow.update
    def record_insolvency(self, notice: InsolvencyNotice) -> CaseStatus:
        rule, known = self._policy().insolvency.id, self.s.insolvency
        if known is None:
            withdrawn = account.stop_interest_at(self.s, self._policy(), notice.judgment_on, self._today())
            if withdrawn:
                self._record("payment", "insolvency:interest-stopped", rule,
                             f"Pénalités courues après le jugement d'ouverture retirées: {eur(withdrawn)}")
        self.s.insolvency = Insolvency(kind=notice.kind, judgment_on=notice.judgment_on,
                                       published_on=notice.published_on or (known.published_on if known else None),
                                       recorded_at=workflow.now())
        self.s.stage = Stage.insolvency
        published = f", publié au BODACC le {notice.published_on:%d/%m/%Y}" if notice.published_on else ""
        step = ":".join(str(part) for part in ("insolvency", notice.kind, notice.judgment_on, notice.published_on) if part)
        self._record("insolvency", step, rule, f"Procédure collective: {notice.kind}, jugement d'ouverture du {notice.judgment_on:%d/%m/%Y}{published};"
                     " relances et poursuites arrêtées")
        self._changed = True
        return self.status()

    @record_insolvency.validator
    def _check_insolvency(self, notice: InsolvencyNotice) -> None:
        self._require_open()
        today = self._today()
        if notice.judgment_on > today or (notice.published_on and notice.published_on > today):
            raise ValueError("the judgment and its publication cannot be in the future")
        if notice.published_on and notice.published_on < notice.judgment_on:
            raise ValueError("the BODACC publication cannot come before the judgment")
        known = self.s.insolvency
        if known and notice.judgment_on == known.judgment_on and notice.kind == known.kind and notice.published_on in (None, known.published_on):
            raise ValueError(f"this procédure collective is already recorded ({known.kind}, {known.judgment_on:%d/%m/%Y})")

    @workflow.update
    def close_case(self, request: CloseRequest) -> CaseStatus:
        self._close("closed_by_ops", request.reason, "ops")
        return self.status()

    @close_case.validator
    def _check_close(self, request: CloseRequest) -> None:
        self._require_open()

    @workflow.query
    def status(self, as_of: dt.date | None = None) -> CaseStatus:
        """Where the case stands. A query sees the time of the case's last activity, so callers pass today."""
        s = self.s
        if self.policy is None:  # still opening: the invoice as imported
            return CaseStatus(
                invoice_number=s.invoice.number, debtor=s.invoice.debtor.name, stage=s.stage, policy_ref="",
                principal_due=s.principal, penalties_due=account.ZERO, indemnity_due=account.ZERO,
                total_due=s.principal, paid_total=s.paid_total, overpaid=s.overpaid, paused=False, dispute=None,
                plan=None, path=None, path_rule=None, expected_indemnity=None, procedure=[], next_action=None,
                tasks=[], audit=s.audit, closed_reason=None)
        step = self._next_step() if s.stage is not Stage.closed else None
        as_of = max(as_of or self._today(), self._today())
        current = account.statement_of(s, self.policy, as_of)
        return CaseStatus(
            invoice_number=s.invoice.number, debtor=s.invoice.debtor.name, stage=s.stage,
            policy_ref=self.policy.ref, principal_due=current.principal_due, penalties_due=current.penalties_due,
            indemnity_due=current.indemnity_due, total_due=current.total_due,
            paid_total=s.paid_total, overpaid=current.overpaid, paused=s.dispute is not None, dispute=s.dispute, plan=s.plan,
            path=s.path, path_rule=s.path_rule, expected_indemnity=s.expected_indemnity, procedure=s.procedure,
            next_action=NextAction(step=step.key, rule_id=step.rule_id, label=step.label, at=step.at) if step else None,
            tasks=s.tasks, audit=s.audit, closed_reason=s.closed_reason, insolvency=s.insolvency,
            as_of=as_of, penalty_lines=current.penalty_lines, allocations=current.allocations,
            written_off=current.written_off,
        )

    def _require_open(self) -> None:
        if self.s.stage is Stage.closed:
            raise ValueError(f"the case is closed ({self.s.closed_reason})")
        if self.policy is None:
            raise ValueError("the case is still opening; try again in a moment")

    # ------------------------------------------------------------------ money

    # ------------------------------------------------------------------ adapters

    def _letter(self, kind: str, rule_id: str, **extra) -> LetterContext:
        """Every letter, email and task prints the statement of the day it is written."""
        s, today = self.s, self._today()
        current = account.statement_of(s, self._policy(), today)
        return LetterContext(
            kind=kind, language=s.invoice.debtor.language, today=today, invoice=s.invoice,
            creditor=self._policy().creditor, rule_id=rule_id, policy_ref=self._policy().ref,
            principal_due=current.principal_due, penalties_due=current.penalties_due,
            indemnity_due=current.indemnity_due, penalty_lines=current.penalty_lines,
            payments=[a for a in current.allocations if a.kind in ("payment", "credit_note")],
            penalties_accrued=current.penalties_accrued, penalties_paid=current.penalties_paid,
            indemnity_paid=current.indemnity_paid, days_late=max(0, (today - s.invoice.due_date).days), **extra,
        )

    async def _email(self, step: str, rule_id: str, template: str, to: str | None = None, **extra) -> None:
        letter = self._letter(template, rule_id, **extra)
        sent = await workflow.execute_activity_method(
            CaseActivities.send_email,
            OutgoingEmail(key=self._key(step), to=to or self.s.invoice.debtor.email, letter=letter),
            **ADAPTER_CALL,
        )
        self._record("email", step, rule_id, sent.subject, refs=[sent.message_id])

    async def _document(self, step: str, rule_id: str, template: str, kind: str, **extra) -> None:
        ref = await workflow.execute_activity_method(
            CaseActivities.write_document,
            DocumentRequest(key=self._key(step), letter=self._letter(template, rule_id, **extra)),
            **ADAPTER_CALL,
        )
        self._record(kind, step, rule_id, f"Courrier {template} à imprimer", refs=[ref.path])

    async def _task(self, key: str, rule_id: str, text: str) -> None:
        """A task for ops: kept on the case, and emailed to the ops mailbox."""
        self.s.tasks.append(OpsTask(key=key, due=self._today(), text=text, rule_id=rule_id))
        self._record("task", key, rule_id, text)
        letter = self._letter("ops_task", rule_id, note=text, recipient="équipe recouvrement")
        sent = await workflow.execute_activity_method(
            CaseActivities.send_email,
            OutgoingEmail(key=self._key(f"task:{key}"), to=self._policy().ops.email, letter=letter),
            **ADAPTER_CALL,
        )
        self.s.audit[-1].refs.append(sent.message_id)

    def _task_step(self, key: str, rule_id: str, text: str) -> Perform:
        return lambda: self._task(key, rule_id, text)

    # ------------------------------------------------------------------ time, state and visibility

    def _step(self, key: str, rule_id: str, label: str, day: dt.date, perform, before: dt.date | None = None) -> Step:
        return Step(key, rule_id, label, sending_moment(day, self._policy().calendar, before=before), perform)

    async def _sleep_until(self, moment: dt.datetime) -> bool:
        """True when `moment` came; False when a message changed the case first (the caller replans)."""
        remaining = moment - workflow.now()
        if remaining <= dt.timedelta(0):
            return True
        self._changed = False
        try:
            await workflow.wait_condition(lambda: self._changed, timeout=remaining)
            return False
        except TimeoutError:  # asyncio.TimeoutError since Python 3.11
            return True

    async def _wait_for_change(self) -> None:
        self._changed = False
        await workflow.wait_condition(lambda: self._changed)

    @staticmethod
    def _history_is_long(limit: int) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    def _today(self) -> dt.date:
        return local_date(workflow.now(), self._policy().calendar)

    def _policy(self) -> Policy:
        assert self.policy is not None, "the policy is loaded before anything else runs"
        return self.policy

    def _key(self, step: str) -> str:
        return f"{self.s.invoice.number}:{step}"

    def _record(self, kind: str, step: str, rule_id: str, summary: str, refs: list[str] | None = None) -> None:
        self.s.audit.append(Action(
            at=workflow.now(), stage=self.s.stage, kind=kind, step=step, rule_id=rule_id,
            policy_ref=self.policy.ref if self.policy else "", summary=summary, refs=refs or [],
        ))

    def _publish(self, step: Step | None) -> None:
        """Upsert the search attributes that changed: each upsert is a history event."""
        if self._published is None:
            self._published = visibility.published(workflow.info().typed_search_attributes)
        values = visibility.case_search_attributes(
            stage=self.s.stage, debtor=self.s.invoice.debtor.debtor_id,
            amount_due=self.s.principal if self.s.stage is not Stage.closed else account.ZERO,
            paused=self.s.dispute is not None, next_action_at=step.at if step else None,
            policy_id=self._policy().policy_id, policy_version=self._policy().version,
        )
        updates = visibility.changed(values, self._published)
        if updates:
            workflow.upsert_search_attributes(updates)
            self._published = values
