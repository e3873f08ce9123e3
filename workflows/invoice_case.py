"""The life of one unpaid invoice: the interpreter of the policy's decisions.

The decisions are plain functions in `domain`: `domain.decisions` says what comes next and what carrying it out
changes and sends, `domain.transitions` what each message from ops changes. This workflow asks them, carries the
effects out through activities (emails, printable letters, court dossiers, insurer claims), writes the audit
lines, publishes the search attributes, and sleeps until the next step or a message, whichever comes first.
Deterministic: `workflow.now()` only; rules and documents come in through activities.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from temporalio import workflow

if TYPE_CHECKING:
    from collections.abc import Callable

with workflow.unsafe.imports_passed_through():
    from activities.bank_checks import CHECK_CALL, CreditCheck, CreditFound
    from activities.contracts import (
        ADAPTER_CALL, AccountAsk, HEARTBEAT_TIMEOUTS, ClaimReceipt, ClaimRequest, DocumentRef, DocumentRequest, Dossier, DossierRequest,
        OutgoingEmail, PolicyRequest, SERVER_CALL, SentEmail, SentFound, SentLookup,
    )
    from domain import account, decisions, grouping, transitions
    from domain.grouping import Ask, Reply, Withdrawal
    from domain.case import (
        AccountingCredit, AccountingNotice, CaseStart, CaseState, CaseStatus, CloseRequest, ContactChange, DisputeRequest, DisputeResolution, InsolvencyNotice, Payment, PaymentReceipt, PaymentReversal, PlanDecision, PlanProposal, PlatformStatus, ProcedureStep,
        RetryRequest,
    )
    from domain.decisions import Effect, FileInsurerClaim, Outcome, PrepareDossier, Record, SendEmail, WriteDocument
    from domain.policy import Policy, Stage, shared
    from domain.schedule import local_date
    from domain.versions import PolicyNotice
    from workflows import visibility
    from workflows.wakeup import Wakeup

from temporalio.exceptions import ActivityError

from workflows.failures import permanent as _permanent, reason as _reason


class AccountFailed(Exception):
    """The customer's account could not send the message carrying this step (its reply says why)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.summary)
        self.permanent = reply.permanent
        self.message_key = reply.message_key if reply.kind == "email" else ""


POLICY_READ_LOCALLY = "policy-read-locally"  # patch id: cases opened before `CaseStart.read_policy_locally` existed
BANK_HOLD = "bank-hold"  # patch id: cases opened before `CaseStart.bank_checks` existed
CLAIM_ON_INSOLVENCY = "claim-on-insolvency"  # patch id: an insolvent customer's insurer claim is not withdrawn
TASKS_FROM_MESSAGES_EMAILED = "tasks-from-messages-emailed"  # patch id: before it, a task a message raised was not emailed
RETRY_FINDS_ACCOUNT_EMAIL_SENT = "retry-finds-account-email-sent"  # patch id: before it, a retry always asked again


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
        account.carry_legacy_balance(self.s)
        self.policy: Policy | None = None
        self.wake = Wakeup()
        self._published: dict | None = None
        self._newer_policy: int | None = start.newer_policy  # a version published since: adopted at the next decision
        self._read_policy_locally = start.read_policy_locally
        self._replies: dict[str, Reply] = {}  # the customer account's answers (grouping per_debtor), by ask
        self._bank_checks: bool | None = True if start.bank_checks else None  # None: ask the patch when needed
        self._tasks_to_email: list[SendEmail] = []  # tasks a message raised: the main loop emails them to ops

    # ------------------------------------------------------------------ the life of a case

    @workflow.run
    async def run(self, start: CaseStart) -> CaseStatus:
        self.policy = shared(start.policy) if start.policy else await self._load_policy()
        if start.carried is None:
            opened = transitions.open_case(self.s, self.policy, workflow.now(), prior=start.prior,
                                           catch_up_from=start.catch_up_from)
            if start.catch_up_from is None:  # opened as before imports knew a case's past: no effect to carry out
                self._apply(opened)
            else:  # an imported case may owe ops a task at once (a deadline its history shows lapsed)
                await self._run(opened)
        elif start.reversal is not None:  # reopened: its payment was returned
            self._apply(transitions.reverse_payment(self.s, self.policy, start.reversal, workflow.now()))

        while self.s.stage is not Stage.closed:
            if self._tasks_to_email:
                await self._email_tasks_raised()
                continue  # a message may have closed the case meanwhile
            if self._history_is_long(start.history_events_limit):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(CaseStart(
                    invoice=self.s.invoice, carried=self.s, policy=self.policy, newer_policy=self._newer_policy,
                    history_events_limit=start.history_events_limit, read_policy_locally=True, bank_checks=True))
            if self._newer_policy is not None:
                await self._adopt_newer_policy()
            step = decisions.next_step(self.s, self._policy(), workflow.now())
            self._publish(step)
            if await self.wake.sleep_until(step.at if step else None):
                if not await self._held_for_credit(step):
                    await self._carry_out(step)

        await self._email_tasks_raised()
        for step in decisions.follow_ups(self.s, self._policy(), workflow.now()):  # they outlive the close
            await self._carry_out(step)
        template = self._policy().payments.thank_you_template
        if template and self.s.closed_reason == "paid" and "thank-you" not in self.s.done:
            work = decisions.Work(self.s, self._policy(), workflow.now())
            work.email("thank-you", "payments", template)
            work.s.done.append("thank-you")
            await self._run(Outcome(work.s, work.effects))
        self._publish(None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _carry_out(self, step: decisions.Step) -> None:
        await self._run(decisions.carry_out(self.s, step, self._policy(), workflow.now()))

    async def _run(self, outcome: Outcome) -> None:
        """Take the new state, then carry each effect out in order, writing its audit line once done."""
        self.s = outcome.state
        paid = self.s.paid_total
        for effect in outcome.effects:
            if decisions.withdrawn(self.s, effect):
                continue
            if self._paid_since(effect, paid):
                self._apply(transitions.not_sent_after_payment(self.s, self._policy(), effect.step, workflow.now()),
                            wake=False)
                continue
            if self._through_account(effect) is not None:  # its line says what the customer's message was
                effect = dataclasses.replace(effect, audit=dataclasses.replace(effect.audit, summary=None))
            refs, subject = await self._perform_until_done(effect)
            decisions.recorded(self.s, effect, refs, subject)

    # ------------------------------------------------------------------ money probably in the bank

    def _bank_checks_on(self) -> bool:
        if self._bank_checks is None:
            self._bank_checks = workflow.patched(BANK_HOLD)
        return self._bank_checks

    async def _held_for_credit(self, step: decisions.Step) -> bool:
        """Before a message goes to the debtor: a credit not matched yet that is probably theirs holds it."""
        policy = self._policy()
        if not decisions.reaches_debtor(step) or policy.bank.hold_days == 0 or not self._bank_checks_on():
            return False
        current = account.statement_of(self.s, policy, self._today())
        check = CreditCheck(debtor_id=self.s.invoice.debtor.debtor_id, debtor_name=self.s.invoice.debtor.name,
                            principal_due=current.principal_due, total_due=current.total_due,
                            tolerance_percent=policy.bank.hold_amount_tolerance_percent,
                            already_held_for=self.s.held_for)
        try:
            found = await workflow.execute_local_activity("probable_credit", check, result_type=CreditFound, **CHECK_CALL)
        except ActivityError:  # the bank store cannot be read: the message goes as it would have without it
            return False
        if not found.ref:
            return False
        await self._run(transitions.hold_for_credit(self.s, policy, found.ref, found.amount, found.value_on,
                                                    workflow.now()))
        return True

    def _paid_since(self, effect: Effect, paid: Decimal) -> bool:
        """A message to the debtor prepared before a payment arrived (while earlier effects of its step ran)."""
        return decisions.paid_since(self.s, effect, paid) and self._bank_checks_on()

    async def _perform_until_done(self, effect: Effect) -> tuple[list[str], str | None]:
        """A failure retrying cannot fix (a broken template, missing data, an adapter's refusal) waits for ops
        (`relance retry`); a passing one (a relay down) is retried with backoff, and ops hear of it once."""
        told = False
        while True:
            try:
                done = await self._perform(effect)
            except (ActivityError, AccountFailed) as failure:
                permanent = failure.permanent if isinstance(failure, AccountFailed) else _permanent(failure)
                reason = str(failure) if isinstance(failure, AccountFailed) else _reason(failure)
                if permanent or not told:
                    await self._report_failure(effect, reason, retrying=not permanent)
                    told = True
                while permanent:
                    await workflow.wait_condition(lambda: self.s.failure is None or not self.s.failure.waiting_for_retry)
                    effect = decisions.readdressed(self.s, effect)  # ops may have corrected the debtor meanwhile
                    held = await self._held_message(failure)
                    if held is None or held.state not in ("sent", "review"):
                        break  # ask again
                    if held.state == "sent":
                        decisions.cleared(self.s, getattr(effect, "step", None))
                        return [held.message_id, failure.message_key], held.subject
                    await self._report_failure(effect, decisions.held_for_review(failure.message_key, held.message_id, again=True),
                                               retrying=False)
                continue
            decisions.cleared(self.s, getattr(effect, "step", None))  # a Record has no step and never fails
            return done

    async def _held_message(self, failure: Exception) -> SentFound | None:
        """On retry, what became of the customer's email that failed carrying this step. Found by ops at the relay
        (`relance.delivery resolve KEY sent`): the step is recorded as carried by it. Still held for their answer:
        the case waits for it again. Asked again in either case, the account would compose a new message (its key
        names the day and the invoices it carries) and send the invoice a second time."""
        if not (isinstance(failure, AccountFailed) and failure.message_key):
            return None
        if not workflow.patched(RETRY_FINDS_ACCOUNT_EMAIL_SENT):
            return None
        return await workflow.execute_activity("find_sent_email", SentLookup(key=failure.message_key),
                                               result_type=SentFound, **ADAPTER_CALL)

    async def _report_failure(self, effect: Effect, reason: str, *, retrying: bool) -> None:
        outcome = decisions.step_failed(self.s, self._policy(), effect, reason, workflow.now(), retrying=retrying)
        self.s = outcome.state
        for told in outcome.effects:
            try:
                refs, _ = await self._perform(told)
            except ActivityError:  # the ops mailbox may fail for the same reason: the task stays on the case
                refs = []
            decisions.recorded(self.s, told, refs)

    def _apply(self, outcome: Outcome, *, wake: bool = True, by: str = "") -> None:
        """A message's transition: its audit lines (naming who sent it), written at once; a task it raises is
        emailed by the case once awake (a handler sends nothing). The case then decides again."""
        outcome = transitions.signed(outcome, by)
        self.s = outcome.state
        for effect in outcome.effects:
            if isinstance(effect, SendEmail) and effect.audit is None:
                self._tasks_to_email.append(effect)
                continue
            decisions.recorded(self.s, effect, [])
        if wake:
            self.wake.now()

    async def _email_tasks_raised(self) -> None:
        """The ops tasks messages raised (an export that no longer lists the invoice...), to the ops mailbox like
        every other task; cases from before the patch only wrote them on the case."""
        while self._tasks_to_email:
            task = self._tasks_to_email.pop(0)
            if workflow.patched(TASKS_FROM_MESSAGES_EMAILED):
                await self._run(Outcome(self.s, [task]))
            else:
                decisions.recorded(self.s, task, [])

    async def _perform(self, effect: Effect) -> tuple[list[str], str | None]:
        if isinstance(effect, Record):
            return [], None
        kind = self._through_account(effect)
        if kind is not None:
            return await self._ask_account(effect, kind)
        key = f"{self.s.invoice.number}:{effect.step}"
        call = {**ADAPTER_CALL, "schedule_to_close_timeout": dt.timedelta(
            minutes=self._policy().ops.task_after_failing_minutes)}
        if isinstance(effect, SendEmail):
            # The mailer heartbeats while it waits for a session and sends: a dead or paused worker is seen in seconds.
            sent = await workflow.execute_activity(
                "send_email", OutgoingEmail(key=key, to=effect.to, letter=effect.letter, attach_pdf=effect.attach_pdf),
                result_type=SentEmail,
                heartbeat_timeout=HEARTBEAT_TIMEOUTS["send_email"], **call)
            return [sent.message_id], sent.subject
        if isinstance(effect, WriteDocument):
            ref = await workflow.execute_activity(
                "write_document", DocumentRequest(key=key, letter=effect.letter, registered=effect.registered),
                result_type=DocumentRef, **call)
            return [ref.path, *([ref.reference] if ref.reference else [])], None
        if isinstance(effect, PrepareDossier):
            dossier = await workflow.execute_activity(
                "prepare_dossier", DossierRequest(key=key, route=effect.route, letter=effect.letter,
                                                  notice_document=effect.notice_document),
                result_type=Dossier, **call)
            return dossier.documents, None
        assert isinstance(effect, FileInsurerClaim)
        receipt = await workflow.execute_activity(
            "file_insurer_claim", ClaimRequest(key=key, insurer=self._policy().insurer, letter=effect.letter),
            result_type=ClaimReceipt, **call)
        return [receipt.reference, *receipt.documents, receipt.message_id], None

    # ------------------------------------------------------------------ the customer's account (grouping per_debtor)

    def _through_account(self, effect: Effect) -> str | None:
        """The kind of message the customer's account sends for this effect, or None when the case sends it itself
        (`domain.grouping.through_account`); a case opened before grouping existed has no per_debtor policy: its
        history replays as it was recorded."""
        return None if self.policy is None else grouping.through_account(effect, self.policy)

    async def _ask_account(self, effect: Effect, kind: str) -> tuple[list[str], str | None]:
        """Hand the letter to the customer's account and wait for the message that carried it. Paid, closed or
        disputed meanwhile: the case takes its invoice out, unless the message is already on its way."""
        policy, invoice = self._policy(), self.s.invoice
        ask = grouping.ask_for(effect, kind, policy, invoice, workflow.now(), workflow.info().workflow_id)
        key = f"{ask.step}|{kind}"  # replies come to this case only: its step and kind say which ask
        self._replies.pop(key, None)
        await workflow.execute_activity(
            "ask_account", AccountAsk(debtor_id=invoice.debtor.debtor_id, ask=ask),
            **SERVER_CALL)
        # An insolvency is why an insured customer's loss is declared: that claim stays in the message (cases whose
        # history asked without the patch replay as recorded, their claim withdrawn).
        keeps_claim = (kind == "insurer_claim" and self.s.insolvency is not None
                       and workflow.patched(CLAIM_ON_INSOLVENCY))
        withdrawn = False
        while True:
            await workflow.wait_condition(lambda: key in self._replies
                                          or (not withdrawn and grouping.left_conversation(self.s, keeps_claim)))
            if key in self._replies:
                break
            withdrawn = True
            await workflow.get_external_workflow_handle(grouping.account_workflow_id(invoice.debtor.debtor_id)).signal(
                "withdraw", Withdrawal(workflow_id=ask.workflow_id, step=ask.step, kind=kind))
        reply = self._replies.pop(key)
        if reply.outcome == "failed":
            raise AccountFailed(reply)
        if kind == "insurer_claim" and reply.outcome == "sent":
            self.s.expected_indemnity = reply.expected_indemnity
        if reply.route is not None and reply.route != kind:
            await self._run(transitions.rerouted(self.s, policy, reply.route, reply.route_why, workflow.now()))
        return reply.refs, reply.summary

    @workflow.signal
    def account_replied(self, reply: Reply) -> None:
        self._replies[f"{reply.step}|{reply.kind}"] = reply

    # ------------------------------------------------------------------ policy versions

    async def _load_policy(self, at_least_version: int = 0) -> Policy:
        request = PolicyRequest(policy_id=self.s.invoice.policy_id, at_least_version=at_least_version)
        if self._read_policy_locally or workflow.patched(POLICY_READ_LOCALLY):
            # A read of the worker's own rule files: no round trip through the server for it.
            policy = await workflow.execute_local_activity("load_policy", request, result_type=Policy, **ADAPTER_CALL)
        else:  # cases opened before the read became local replay it as they recorded it
            policy = await workflow.execute_activity("load_policy", request, result_type=Policy, **ADAPTER_CALL)
        return shared(policy)

    async def _adopt_newer_policy(self) -> None:
        target, self._newer_policy = self._newer_policy, None
        newer = await self._load_policy(at_least_version=target)
        if newer.version <= self._policy().version:
            return
        outcome = transitions.adopt_policy(self.s, self._policy(), newer, workflow.now())
        self.policy = newer
        self._apply(outcome, wake=False)

    @workflow.signal
    def policy_published(self, notice: PolicyNotice) -> None:
        if self.policy is None or notice.version <= self.policy.version:
            return
        if self.policy.adoption == "pin":
            self._apply(transitions.keep_pinned_version(self.s, self.policy, notice.version, workflow.now()), wake=False)
            return
        self._newer_policy = max(notice.version, self._newer_policy or 0)
        self.wake.now()

    # ------------------------------------------------------------------ messages from ops

    @workflow.update
    def record_payment(self, payment: Payment) -> PaymentReceipt:
        outcome, receipt = transitions.record_payment(self.s, self._policy(), payment, workflow.now())
        self._apply(outcome, by=payment.by)
        return receipt

    @record_payment.validator
    def _check_payment(self, payment: Payment) -> None:
        self._refuse(lambda: transitions.payment_refusal(self.s, self._policy(), payment, self._today()))

    @workflow.update
    def reverse_payment(self, reversal: PaymentReversal) -> CaseStatus:
        """The bank took a payment back: the case resumes where its schedule puts it, and ops are told."""
        self._apply(transitions.reverse_payment(self.s, self._policy(), reversal, workflow.now()))
        return self.status()

    @reverse_payment.validator
    def _check_reversal(self, reversal: PaymentReversal) -> None:
        self._refuse(lambda: transitions.reversal_refusal(self.s, reversal))

    @workflow.update
    def record_platform_status(self, status: PlatformStatus) -> CaseStatus:
        """A lifecycle status from the e-invoicing platform: a dispute, a pause, a task for ops, or factored."""
        self._apply(transitions.platform_status(self.s, self._policy(), status, workflow.now()))
        return self.status()

    @record_platform_status.validator
    def _check_platform_status(self, status: PlatformStatus) -> None:
        self._refuse(lambda: transitions.platform_status_refusal(self.s, status))

    @workflow.query
    def state(self) -> CaseState:
        """The whole state: what reopens a case closed as paid whose payment came back."""
        return self.s

    @workflow.update
    def propose_plan(self, proposal: PlanProposal) -> PlanDecision:
        self._apply(transitions.propose_plan(self.s, self._policy(), proposal, workflow.now()), by=proposal.by)
        return PlanDecision(accepted=True, reason="within the policy's bounds", instalments=proposal.instalments)

    @propose_plan.validator
    def _check_plan(self, proposal: PlanProposal) -> None:
        self._refuse(lambda: transitions.plan_proposal_refusal(self.s, self._policy(), proposal, self._today()))

    @workflow.update
    def open_dispute(self, request: DisputeRequest) -> CaseStatus:
        self._apply(transitions.open_dispute(self.s, self._policy(), request, workflow.now()), by=request.by)
        return self.status()

    @open_dispute.validator
    def _check_dispute(self, request: DisputeRequest) -> None:
        self._refuse(lambda: transitions.dispute_refusal(self.s, request, self._today()))

    @workflow.update
    def resolve_dispute(self, resolution: DisputeResolution) -> CaseStatus:
        self._apply(transitions.resolve_dispute(self.s, self._policy(), resolution, workflow.now()), by=resolution.by)
        return self.status()

    @resolve_dispute.validator
    def _check_resolution(self, resolution: DisputeResolution) -> None:
        self._refuse(lambda: transitions.resolution_refusal(self.s, resolution))

    @workflow.update
    def record_procedure_step(self, step: ProcedureStep) -> CaseStatus:
        self._apply(transitions.record_procedure_step(self.s, self._policy(), step, workflow.now()), by=step.by)
        return self.status()

    @record_procedure_step.validator
    def _check_procedure_step(self, step: ProcedureStep) -> None:
        self._refuse(lambda: transitions.procedure_step_refusal(self.s, step))

    @workflow.update
    def record_insolvency(self, notice: InsolvencyNotice) -> CaseStatus:
        self._apply(transitions.record_insolvency(self.s, self._policy(), notice, workflow.now()), by=notice.by)
        return self.status()

    @record_insolvency.validator
    def _check_insolvency(self, notice: InsolvencyNotice) -> None:
        self._refuse(lambda: transitions.insolvency_refusal(self.s, notice, self._today()))

    @workflow.update
    def record_accounting_credit(self, credit: AccountingCredit) -> CaseStatus:
        """A newer export of the accounting lowered the invoice (`relance sync`)."""
        self._apply(transitions.record_accounting_credit(self.s, self._policy(), credit, workflow.now()), by=credit.by)
        return self.status()

    @record_accounting_credit.validator
    def _check_accounting_credit(self, credit: AccountingCredit) -> None:
        self._refuse(lambda: transitions.accounting_credit_refusal(self.s, credit))

    @workflow.update
    def record_accounting_notice(self, notice: AccountingNotice) -> CaseStatus:
        """A newer export raised the invoice or left it out (`relance sync`): a task for ops, once per finding."""
        self._apply(transitions.record_accounting_notice(self.s, self._policy(), notice, workflow.now()), by=notice.by)
        return self.status()

    @record_accounting_notice.validator
    def _check_accounting_notice(self, notice: AccountingNotice) -> None:
        self._refuse(lambda: transitions.accounting_notice_refusal(self.s, notice))

    @workflow.update
    def update_contact(self, change: ContactChange) -> CaseStatus:
        """The debtor's email, address, country or language corrected (`relance contact`, `relance sync`)."""
        self._apply(transitions.update_contact(self.s, self._policy(), change, workflow.now()), wake=False,
                    by=change.by)
        return self.status()

    @update_contact.validator
    def _check_contact(self, change: ContactChange) -> None:
        self._refuse(lambda: transitions.contact_refusal(self.s, change))

    @workflow.update
    def retry_step(self, request: RetryRequest | None = None) -> CaseStatus:
        """Ops fixed the data or the template: the failed step runs again (callers from before RetryRequest
        send no argument)."""
        self._apply(transitions.retry_step(self.s, self._policy(), workflow.now()), wake=False,
                    by=request.by if request else "")
        return self.status()

    @retry_step.validator
    def _check_retry(self, request: RetryRequest | None = None) -> None:
        # Not `_refuse`: a closed case may still wait on a step that outlives its close (a follow-up, an ops task's
        # email), and only a retry lets it end.
        if self.policy is None:
            raise ValueError("the case is still opening; try again in a moment")
        reason = transitions.retry_refusal(self.s)
        if reason:
            raise ValueError(reason)

    @workflow.update
    def close_case(self, request: CloseRequest) -> CaseStatus:
        self._apply(transitions.close_case(self.s, self._policy(), request, workflow.now()), by=request.by)
        return self.status()

    @close_case.validator
    def _check_close(self, request: CloseRequest) -> None:
        self._refuse(lambda: None)

    def _refuse(self, refusal: Callable[[], str | None]) -> None:
        """Validators run before anything reaches history: a refusal is the message's answer."""
        closed = transitions.open_refusal(self.s)
        if closed:
            raise ValueError(closed)
        if self.policy is None:
            raise ValueError("the case is still opening; try again in a moment")
        reason = refusal()
        if reason:
            raise ValueError(reason)

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
                tasks=[], audit=s.audit, closed_reason=None, invoice=s.invoice)
        return decisions.status_of(s, self.policy, workflow.now(), as_of)

    # ------------------------------------------------------------------ time, state and visibility

    @staticmethod
    def _history_is_long(limit: int) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    def _today(self) -> dt.date:
        return local_date(workflow.now(), self._policy().calendar)

    def _policy(self) -> Policy:
        assert self.policy is not None, "the policy is loaded before anything else runs"
        return self.policy

    def _publish(self, step: decisions.Step | None) -> None:
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
