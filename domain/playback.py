"""A case played through the decision core in memory, without Temporal: the fast preview's engine.

The workflow is the truth: it runs these same functions (`domain.decisions`, `domain.transitions`) and carries
their effects out through activities. Here the effects are only written down (an email's audit line names its
template instead of its rendered subject), so a whole ledger plays in seconds and gives the same timeline.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
from decimal import Decimal

from domain import decisions, grouping, transitions
from domain.case import (
    CaseState, DisputeRequest, DisputeResolution, InsolvencyNotice, Payment, PlanProposal, ProcedureStep,
)
from domain.decisions import Effect, Outcome, Record, SendEmail
from domain.invoice import Invoice
from domain.policy import Policy, Stage
from domain.prior import PriorHistory
from domain.schedule import local_date
from domain.script import ScriptEvent, ops_message


@dataclasses.dataclass
class _Waiting:
    """A case's step handed to its customer's account: the effect waiting for the reply, and the step's effects
    after it (the workflow's `_run`, suspended in `_ask_account`)."""

    effect: Effect
    kind: str
    rest: list[Effect]
    paid: Decimal
    ident: tuple[str, str, str]
    keeps_claim: bool = False  # an insurer claim asked while insolvent: the insolvency does not take it out


class Playback:
    """One case and its clock. Under `grouping: per_debtor` it joins its `Customer`, which plays it."""

    def __init__(self, invoice: Invoice, policy: Policy, opened_at: dt.datetime, *, prior: PriorHistory | None = None,
                 catch_up_from: dt.date | None = None) -> None:
        self.policy, self.now = policy, opened_at
        self.customer: Customer | None = None
        self.letters: bool | str = False  # a case alone names its letters; its account reads those it carries
        self.waiting: _Waiting | None = None
        self.closing_done = False
        self._version, self._planned = 0, (-1, None)
        state = CaseState(invoice=invoice, opened_at=opened_at, principal=invoice.amount_incl_tax,
                          accrued_through=invoice.due_date)
        self._run(transitions.open_case(state, policy, opened_at, prior=prior, catch_up_from=catch_up_from))

    def planned(self) -> decisions.Step | None:
        """The next step, as the workflow's loop asks for it; none while the case waits for its account."""
        if self.waiting is not None or self.s.stage is Stage.closed:
            return None
        if self._planned[0] != self._version:
            self._planned = (self._version, decisions.next_step(self.s, self.policy, self.now))
        return self._planned[1]

    def advance(self, until: dt.datetime) -> None:
        """Every step due up to `until`, in order, as the workflow's timers would fire them."""
        if self.customer is not None:
            self.customer.advance(until)
            return
        while (step := self.planned()) is not None and step.at <= until:
            self.take(step)
        self._after_closing()
        self.now = max(self.now, until)

    def take(self, step: decisions.Step) -> None:
        self.now = max(self.now, step.at)
        self._run(decisions.carry_out(self.s, step, self.policy, self.now, letters=self.letters))
        self._after_closing()

    def message(self, at: dt.datetime, transition) -> str:
        """A message from ops at `at`: 'accepted', or 'refused: why' as the workflow's validator would say."""
        self.advance(at)
        self.now = max(self.now, at)
        if self.s.stage is Stage.closed:
            return f"refused: {transitions.open_refusal(self.s)}"
        refusal, outcome = transition(self.s, self.policy, at)
        if refusal:
            return f"refused: {refusal}"
        self._written(outcome)
        if self.waiting is not None and grouping.left_conversation(self.s, self.waiting.keeps_claim):
            self.customer.withdraw(self, at)
        self._after_closing()
        if self.customer is not None:
            self.customer.touched(self)
        return "accepted"

    def adopt(self, policy: Policy, at: dt.datetime) -> None:
        """A newer version of its policy, adopted in flight (as the workflow does when the registry publishes it)."""
        self._written(transitions.adopt_policy(self.s, self.policy, policy, at))
        self.policy = policy
        self._changed()

    def resume(self, reply: grouping.Reply, at: dt.datetime) -> None:
        """The account's reply: the waiting effect's audit line, then the rest of the step (the workflow's
        `_ask_account` returning into `_run`)."""
        waiting, self.waiting = self.waiting, None
        self.now = max(self.now, at)
        if waiting.kind == "insurer_claim" and reply.outcome == "sent":
            self.s.expected_indemnity = reply.expected_indemnity
        if reply.route is not None and reply.route != waiting.kind:
            self._run(transitions.rerouted(self.s, self.policy, reply.route, reply.route_why, self.now))
        decisions.recorded(self.s, waiting.effect, reply.refs, reply.summary)
        self._changed()
        self._carry(waiting.rest, waiting.paid)
        self._after_closing()

    def _run(self, outcome: Outcome) -> None:
        """The workflow's `_run`: the new state, then each effect in order, its audit line written once done."""
        self.s = outcome.state
        self._changed()
        self._carry(list(outcome.effects), self.s.paid_total)

    def _carry(self, effects: list[Effect], paid: Decimal) -> None:
        for n, effect in enumerate(effects):
            if decisions.withdrawn(self.s, effect):
                continue
            if decisions.paid_since(self.s, effect, paid):
                self._written(transitions.not_sent_after_payment(self.s, self.policy, effect.step, self.now))
                continue
            kind = grouping.through_account(effect, self.policy) if self.customer is not None else None
            if kind is not None:
                effect = dataclasses.replace(effect, audit=dataclasses.replace(effect.audit, summary=None))
                ask = grouping.ask_for(effect, kind, self.policy, self.s.invoice, self.now, self.s.invoice.workflow_id)
                keeps_claim = kind == "insurer_claim" and self.s.insolvency is not None
                self.waiting = _Waiting(effect, kind, effects[n + 1:], paid, ask.ident, keeps_claim)
                self.customer.ask(self, ask)
                if grouping.left_conversation(self.s, keeps_claim):  # the workflow's wait holds at once: withdrawn
                    self.customer.withdraw(self, self.now)
                return
            self._write(effect)

    def _after_closing(self) -> None:
        if self.s.stage is not Stage.closed or self.closing_done or self.waiting is not None:
            return
        self.closing_done = True
        for step in decisions.follow_ups(self.s, self.policy, self.now):
            self._run(decisions.carry_out(self.s, step, self.policy, self.now, letters=False))
        template = self.policy.payments.thank_you_template
        if template and self.s.closed_reason == "paid" and "thank-you" not in self.s.done:
            work = decisions.Work(self.s, self.policy, self.now, letters=False)
            work.email("thank-you", "payments", template)
            work.s.done.append("thank-you")
            self._run(Outcome(work.s, work.effects))

    def _written(self, outcome: Outcome) -> None:
        """A message's transition (or a message not sent after a payment): its lines, nothing handed on."""
        self.s = outcome.state
        self._changed()
        for effect in outcome.effects:
            self._write(effect)

    def _write(self, effect: Effect) -> None:
        if isinstance(effect, Record):
            decisions.recorded(self.s, effect, [])
        else:
            subject = effect.letter.kind if isinstance(effect, SendEmail) else None
            decisions.recorded(self.s, effect, [f"<{self.s.invoice.number}:{effect.step}@apercu>"], subject)

    def _changed(self) -> None:
        self._version += 1


class Customer:
    """A debtor's cases under `grouping: per_debtor` and their account (`workflows/debtor_account.py`), played
    together in the order of their moments: a case's step, or the account sending what its invoices asked for."""

    def __init__(self, debtor_id: str) -> None:
        self.account = grouping.AccountState(debtor_id=debtor_id)
        self.cases: list[Playback] = []
        self._policies: dict[str, Policy] = {}
        self._asking: dict[tuple[str, str, str], Playback] = {}
        self._heap: list[tuple[dt.datetime, int, Playback]] = []
        self._order = itertools.count()
        self._due: tuple[int, tuple[dt.datetime, list[grouping.Ask]] | None] = (-1, None)
        self._pending_version = 0

    def join(self, case: Playback) -> None:
        case.customer, case.letters = self, decisions.CONVERSATION
        self.cases.append(case)
        self.touched(case)

    def touched(self, case: Playback) -> None:
        """The case's next step may have moved: it takes its place in the queue (older places are dropped)."""
        step = case.planned()
        if step is not None:
            heapq.heappush(self._heap, (step.at, next(self._order), case))

    def advance(self, until: dt.datetime) -> None:
        while True:
            case_at = self._next_case_moment()
            due = self._next_batch()
            if due is not None and due[0] <= until and (case_at is None or due[0] < case_at):
                self._send(*due)
            elif case_at is not None and case_at <= until:
                _, _, case = heapq.heappop(self._heap)
                case.take(case.planned())
                self.touched(case)
            else:
                return

    def ask(self, case: Playback, ask: grouping.Ask) -> None:
        known = self._policies.get(ask.policy_id)
        if known is None or case.policy.version > known.version:  # the account reads the latest version
            self._policies[ask.policy_id] = case.policy
        self._asking[ask.ident] = case
        self.account.pending = [*self.account.pending, ask]
        self._pending_version += 1

    def withdraw(self, case: Playback, at: dt.datetime) -> None:
        """The case left the conversation before its message went: it takes its invoice out."""
        ident = case.waiting.ident
        self._take_out({ident})
        del self._asking[ident]
        workflow_id, step, kind = ident
        case.resume(grouping.withdrawn_reply(grouping.Withdrawal(workflow_id=workflow_id, step=step, kind=kind)), at)

    def _send(self, at: dt.datetime, batch: list[grouping.Ask]) -> None:
        """The account's `_send`, its activities answering as a preview does (references named, nothing sent)."""
        policy = self._policies[batch[0].policy_id]
        result = grouping.compose(batch, self.account.credits, at, policy, self.account.claim)
        if isinstance(result, grouping.Netted):
            replies, message = grouping.netted_replies(result), None
        else:
            subject = result.letter.kind if result.lead.kind == "email" else ""
            replies, message = grouping.sent(self.account, result, [f"<{result.key}@apercu>"],
                                             grouping.summary_of(result, policy, subject),
                                             local_date(at, policy.calendar))
        self._take_out({a.ident for a in batch})
        grouping.remember(self.account, replies, message)
        for reply in replies:
            case = self._asking.pop(reply.ident)
            case.resume(reply, at)
            self.touched(case)

    def _take_out(self, idents: set) -> None:
        self.account.pending = [a for a in self.account.pending if a.ident not in idents]
        self._pending_version += 1

    def _next_case_moment(self) -> dt.datetime | None:
        while self._heap:
            at, _, case = self._heap[0]
            step = case.planned()
            if step is not None and step.at == at:
                return at
            heapq.heappop(self._heap)  # a place the case has left
        return None

    def _next_batch(self) -> tuple[dt.datetime, list[grouping.Ask]] | None:
        """The account's next message: its moment and its asks (the workflow's loop, read once per change)."""
        if self._due[0] != self._pending_version:
            due = None
            if self.account.pending:
                due = min(((grouping.due_at(batch, self.account.last_reminder_on, self._policies[batch[0].policy_id]),
                            batch) for batch in grouping.batches(self.account.pending)), key=lambda pair: pair[0])
            self._due = (self._pending_version, due)
        return self._due[1]


def talking_through_accounts(cases) -> list[Customer]:
    """The customers whose cases follow a `grouping: per_debtor` policy, each with those cases joined."""
    customers: dict[str, Customer] = {}
    for case in cases:
        if case.policy.grouping == "per_debtor":
            debtor = case.s.invoice.debtor.debtor_id
            customers.setdefault(debtor, Customer(debtor)).join(case)
    return list(customers.values())


def invalid_message(error: ValueError) -> str:
    """A message refused before it reaches a case (a payment of nothing, say), in the preview's words."""
    errors = getattr(error, "errors", None)
    return f"refused: {errors()[0]['msg'] if errors else error}"


def play_event(case: Playback, event: ScriptEvent, at: dt.datetime) -> str:
    """One event of a debtor's script, as `relance.cases.play` records it on a real case."""
    try:
        return _play_event(case, event, at)
    except ValueError as invalid:
        return invalid_message(invalid)


def _play_event(case: Playback, event: ScriptEvent, at: dt.datetime) -> str:
    case.advance(at)
    today = local_date(at, case.policy.calendar)
    message = ops_message(event, case.s.invoice, today, decisions.status_of(case.s, case.policy, at, today))
    refuse, apply = TRANSITIONS[type(message)]

    def transition(s, policy, now):
        refusal = refuse(s, policy, message, today)
        return refusal, None if refusal else apply(s, policy, message, now)

    return case.message(at, transition)


# Each message from ops: its refusal (the update's validator) and its transition (the update's handler).
TRANSITIONS = {
    Payment: (transitions.payment_refusal, lambda s, p, m, now: transitions.record_payment(s, p, m, now)[0]),
    DisputeRequest: (lambda s, p, m, today: transitions.dispute_refusal(s, m, today), transitions.open_dispute),
    DisputeResolution: (lambda s, p, m, today: transitions.resolution_refusal(s, m), transitions.resolve_dispute),
    PlanProposal: (transitions.plan_proposal_refusal, transitions.propose_plan),
    InsolvencyNotice: (lambda s, p, m, today: transitions.insolvency_refusal(s, m, today), transitions.record_insolvency),
    ProcedureStep: (lambda s, p, m, today: transitions.procedure_step_refusal(s, m), transitions.record_procedure_step),
}
