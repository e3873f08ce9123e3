"""A case played through the decision core in memory, without Temporal: the fast preview's engine.

The workflow is the truth: it runs these same functions (`domain.decisions`, `domain.transitions`) and carries
their effects out through activities. Here the effects are only written down (an email's audit line names its
template instead of its rendered subject), so a whole ledger plays in seconds and gives the same timeline.
"""
from __future__ import annotations

import datetime as dt

from domain import decisions, transitions
from domain.case import (
    CaseState, DisputeRequest, DisputeResolution, InsolvencyNotice, Payment, PlanProposal, ProcedureStep,
)
from domain.decisions import Outcome, Record, SendEmail
from domain.invoice import Invoice
from domain.policy import Policy, Stage
from domain.prior import PriorHistory
from domain.schedule import local_date
from domain.script import ScriptEvent, ops_message


class Playback:
    """One case and its clock."""

    def __init__(self, invoice: Invoice, policy: Policy, opened_at: dt.datetime, *, prior: PriorHistory | None = None,
                 catch_up_from: dt.date | None = None) -> None:
        self.policy, self.now = policy, opened_at
        state = CaseState(invoice=invoice, opened_at=opened_at, principal=invoice.amount_incl_tax,
                          accrued_through=invoice.due_date)
        self.s = self._written(transitions.open_case(state, policy, opened_at, prior=prior,
                                                     catch_up_from=catch_up_from))
        self.closing_done = False

    def advance(self, until: dt.datetime) -> None:
        """Every step due up to `until`, in order, as the workflow's timers would fire them."""
        while self.s.stage is not Stage.closed:
            step = decisions.next_step(self.s, self.policy, self.now)
            if step is None or step.at > until:
                break
            self.now = max(self.now, step.at)
            self.s = self._written(decisions.carry_out(self.s, step, self.policy, self.now, letters=False))
        self._after_closing()
        self.now = max(self.now, until)

    def message(self, at: dt.datetime, transition) -> str:
        """A message from ops at `at`: 'accepted', or 'refused: why' as the workflow's validator would say."""
        self.advance(at)
        if self.s.stage is Stage.closed:
            return f"refused: {transitions.open_refusal(self.s)}"
        refusal, outcome = transition(self.s, self.policy, at)
        if refusal:
            return f"refused: {refusal}"
        self.s = self._written(outcome)
        self._after_closing()
        return "accepted"

    def _after_closing(self) -> None:
        if self.s.stage is not Stage.closed or self.closing_done:
            return
        self.closing_done = True
        for step in decisions.follow_ups(self.s, self.policy, self.now):
            self.s = self._written(decisions.carry_out(self.s, step, self.policy, self.now, letters=False))
        template = self.policy.payments.thank_you_template
        if template and self.s.closed_reason == "paid" and "thank-you" not in self.s.done:
            work = decisions.Work(self.s, self.policy, self.now, letters=False)
            work.email("thank-you", "payments", template)
            work.s.done.append("thank-you")
            self.s = self._written(Outcome(work.s, work.effects))

    def _written(self, outcome: Outcome) -> CaseState:
        s = outcome.state
        for effect in outcome.effects:
            if isinstance(effect, Record):
                decisions.recorded(s, effect, [])
            else:
                ref = f"<{s.invoice.number}:{effect.step}@apercu>"
                subject = effect.letter.kind if isinstance(effect, SendEmail) else None
                decisions.recorded(s, effect, [ref], subject)
        return s


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
