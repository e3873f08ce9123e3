"""A case played through the decision core in memory, without Temporal: the fast preview's engine.

The workflow is the truth: it runs these same functions (`domain.decisions`, `domain.transitions`) and carries
their effects out through activities. Here the effects are only written down (an email's audit line names its
template instead of its rendered subject), so a whole ledger plays in seconds and gives the same timeline.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain import decisions, transitions
from domain.case import (
    CaseState, DisputeRequest, DisputeResolution, InsolvencyNotice, Payment, ProcedureStep,
)
from domain.decisions import Outcome, Record, SendEmail
from domain.invoice import Invoice
from domain.policy import Policy, Stage
from domain.schedule import local_date
from domain.script import ScriptEvent, payment_amount, plan_proposal


class Playback:
    """One case and its clock."""

    def __init__(self, invoice: Invoice, policy: Policy, opened_at: dt.datetime) -> None:
        self.policy, self.now = policy, opened_at
        state = CaseState(invoice=invoice, opened_at=opened_at, principal=invoice.amount_incl_tax,
                          accrued_through=invoice.due_date)
        self.s = self._written(transitions.open_case(state, policy, opened_at))
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
    args, invoice = event.args, case.s.invoice

    def today_of(moment: dt.datetime) -> dt.date:
        return local_date(moment, case.policy.calendar)

    def update(refuse, apply, message):
        def transition(s, policy, now):
            refusal = refuse(s, policy, message, today_of(now))
            return refusal, None if refusal else apply(s, policy, message, now)
        return transition

    today = today_of(at)
    if event.action == "pay":
        case.advance(at)
        amount = payment_amount(args, invoice, decisions.status_of(case.s, case.policy, at, today))
        return case.message(at, update(transitions.payment_refusal,
                                       lambda s, p, m, n: transitions.record_payment(s, p, m, n)[0],
                                       Payment(amount=amount, paid_on=today)))
    if event.action == "dispute":
        review = today + dt.timedelta(days=int(args["review_days"])) if "review_days" in args else None
        return case.message(at, update(lambda s, p, m, d: transitions.dispute_refusal(s, m, d), transitions.open_dispute,
                                       DisputeRequest(reason=args["reason"], review_by=review)))
    if event.action == "resolve":
        if args.get("kind") == "cancel":
            resolution = DisputeResolution(outcome="credit_note")
        elif "amount" in args:
            resolution = DisputeResolution(outcome="credit_note", credit_amount=Decimal(args["amount"]))
        else:
            resolution = DisputeResolution(outcome="resume")
        return case.message(at, update(lambda s, p, m, d: transitions.resolution_refusal(s, m),
                                       transitions.resolve_dispute, resolution))
    if event.action == "plan":
        case.advance(at)
        current = decisions.status_of(case.s, case.policy, at, today)
        proposal = plan_proposal(current, int(args["count"]), int(args["every_days"]), today)
        return case.message(at, update(transitions.plan_proposal_refusal, transitions.propose_plan, proposal))
    if event.action in ("insolvency", "bodacc"):
        if event.action == "bodacc":
            case.advance(at)
            opened = case.s.insolvency
            if opened is None:
                return "refused: a BODACC publication needs the insolvency recorded first"
            notice = InsolvencyNotice(kind=opened.kind, judgment_on=opened.judgment_on, published_on=today)
        else:
            notice = InsolvencyNotice(kind=args["kind"], judgment_on=today)
        return case.message(at, update(lambda s, p, m, d: transitions.insolvency_refusal(s, m, d),
                                       transitions.record_insolvency, notice))
    procedure = {"court": "court", "small_claims": "small_claims", "insurer": "insurer",
                 "declaration": "declaration"}[event.action]
    step = ProcedureStep(procedure=procedure, step=args["step"], on=today,
                         amount=Decimal(args["amount"]) if "amount" in args else None)
    return case.message(at, update(lambda s, p, m, d: transitions.procedure_step_refusal(s, m),
                                   transitions.record_procedure_step, step))
