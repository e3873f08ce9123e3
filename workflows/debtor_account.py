"""A customer's account: one conversation for all of a debtor's invoices (policy `grouping: per_debtor`).

Each invoice keeps its own case (`workflows/invoice_case.py`), which decides its steps and writes its audit trail.
When a step would send something to the customer, the insurer or the court, the case asks the account instead
(an activity signals-with-start this workflow, id `account-<debtor id>`), and waits for the reply. The account
holds the asks of one sending moment for `account.collect_minutes`, lets `domain.grouping` decide what they become
(one message per kind, at the highest step among them; credits netted; the minimum gap between reminders kept),
sends it through the same activities and sent ledger as a case, keyed by the customer, the day and the leading
step, and answers every case it carried. Deterministic: `workflow.now()` only; the policy comes in through the
same local activity the cases read it with.
"""
from __future__ import annotations

import datetime as dt

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        ADAPTER_CALL, HEARTBEAT_TIMEOUTS, ClaimReceipt, ClaimRequest, DocumentRef, DocumentRequest, Dossier,
        DossierRequest, OutgoingEmail, PolicyRequest, SentEmail,
    )
    from domain import grouping
    from domain.grouping import AccountStart, AccountState, Ask, Message, Netted, Reply, SentMessage, Withdrawal
    from domain.letters import AccountCredit
    from domain.policy import Policy, shared
    from domain.schedule import local_date
    from workflows.failures import permanent, reason
    from workflows.wakeup import Wakeup


@workflow.defn
class DebtorAccount:
    @workflow.init
    def __init__(self, start: AccountStart) -> None:
        self.s = start.carried or AccountState(debtor_id=start.debtor_id)
        self.wake = Wakeup()
        self._sending: set[tuple[str, str, str]] = set()  # asks in a message being sent: no longer withdrawable

    @workflow.run
    async def run(self, start: AccountStart) -> None:
        while True:
            if not self.s.pending and self._history_is_long(start.history_events_limit):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(start.model_copy(update={"carried": self.s}))
            if not self.s.pending:
                await self.wake.sleep_until(None)
                continue
            policies = {batch[0].policy_id: None for batch in grouping.batches(self.s.pending)}
            for policy_id in policies:  # the customer's invoices may follow different policies: each batch its own
                policies[policy_id] = await self._policy(policy_id)
            due = [(grouping.due_at(batch, self.s.last_reminder_on, policies[batch[0].policy_id]), batch)
                   for batch in grouping.batches(self.s.pending)]
            moment, batch = min(due, key=lambda pair: pair[0])
            if await self.wake.sleep_until(moment):
                await self._send(batch, policies[batch[0].policy_id])

    async def _send(self, batch: list[Ask], policy: Policy) -> None:
        idents = {a.ident for a in batch}
        self._sending |= idents
        now = workflow.now()
        result = grouping.compose(batch, self.s.credits, now, policy, self.s.claim)
        if isinstance(result, Netted):
            replies, message = grouping.netted_replies(result), None
        else:
            try:
                refs, subject = await self._perform(result, policy)
            except ActivityError as failure:
                await self._finish(idents, grouping.failed_replies(result, reason(failure), permanent(failure)), None)
                return
            replies, message = grouping.sent(self.s, result, refs, grouping.summary_of(result, policy, subject),
                                             local_date(now, policy.calendar))
        await self._finish(idents, replies, message)

    async def _finish(self, idents: set, replies: list[Reply], message: SentMessage | None) -> None:
        self.s.pending = [a for a in self.s.pending if a.ident not in idents]
        self._sending -= idents
        grouping.remember(self.s, [r for r in replies if r.outcome != "failed"], message)
        for reply in replies:
            await self._answer(reply)

    async def _answer(self, reply: Reply) -> None:
        """Signal the case; one closed meanwhile (terminated by ops) has nothing left to record."""
        try:
            await workflow.get_external_workflow_handle(reply.workflow_id).signal("account_replied", reply)
        except Exception as error:  # noqa: BLE001 - the case is gone: its audit trail ended with it
            workflow.logger.info("account: case %s not told (%s)", reply.workflow_id, error)

    async def _perform(self, message: Message, policy: Policy) -> tuple[list[str], str]:
        """The message through the same activities as a case's: its references, and an email's subject."""
        call = {**ADAPTER_CALL, "schedule_to_close_timeout": dt.timedelta(minutes=policy.ops.task_after_failing_minutes)}
        lead, key, letter = message.lead, message.key, message.letter
        if lead.kind == "email":
            sent = await workflow.execute_activity(
                "send_email", OutgoingEmail(key=key, to=lead.to, letter=letter, attach_pdf=lead.attach_pdf),
                result_type=SentEmail,
                heartbeat_timeout=HEARTBEAT_TIMEOUTS["send_email"], **call)
            return [sent.message_id], sent.subject
        if lead.kind == "document":
            ref = await workflow.execute_activity(
                "write_document", DocumentRequest(key=key, letter=letter), result_type=DocumentRef, **call)
            return [ref.path], ""
        if lead.kind == "insurer_claim":
            receipt = await workflow.execute_activity(
                "file_insurer_claim", ClaimRequest(key=key, insurer=policy.insurer, letter=letter),
                result_type=ClaimReceipt, **call)
            return [receipt.reference, *receipt.documents, receipt.message_id], ""
        dossier = await workflow.execute_activity(
            "prepare_dossier", DossierRequest(key=key, route=lead.kind, letter=letter, notice_document=None),
            result_type=Dossier, **call)
        return dossier.documents, ""

    async def _policy(self, policy_id: str) -> Policy:
        policy = await workflow.execute_local_activity(
            "load_policy", PolicyRequest(policy_id=policy_id), result_type=Policy, **ADAPTER_CALL)
        return shared(policy)

    # ------------------------------------------------------------------ messages from the cases and ops

    @workflow.signal
    async def ask(self, ask: Ask) -> None:
        known = self.s.answered.get(grouping.ident_key(ask.ident))
        if known is not None:  # the case asked again (its activity retried): the same answer
            await self._answer(known)
            return
        if all(a.ident != ask.ident for a in self.s.pending):
            self.s.pending = [*self.s.pending, ask]
            self.wake.now()

    @workflow.signal
    async def withdraw(self, withdrawal: Withdrawal) -> None:
        ident = (withdrawal.workflow_id, withdrawal.step, withdrawal.kind)
        if ident in self._sending or all(a.ident != ident for a in self.s.pending):
            return  # its message is on its way (or gone): the case gets that reply
        self.s.pending = [a for a in self.s.pending if a.ident != ident]
        await self._answer(grouping.withdrawn_reply(withdrawal))
        self.wake.now()

    @workflow.signal
    def record_credit(self, credit: AccountCredit) -> None:
        """A credit note or a payment not applied yet (checked at the door: `relance credit`): netted from now on."""
        self.s.credits = [*(c for c in self.s.credits if c.reference != credit.reference), credit]

    @workflow.signal
    def remove_credit(self, reference: str) -> None:
        """Ops applied it to an invoice (`relance pay`, `relance resolve --credit`): it no longer nets."""
        self.s.credits = [c for c in self.s.credits if c.reference != reference]

    @workflow.query
    def state(self) -> AccountState:
        return self.s

    @staticmethod
    def _history_is_long(limit: int) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit
