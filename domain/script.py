"""The behaviour script of a simulated debtor: what it does, and when, relative to the invoice due date.

Written in a ledger cell by people preparing a demo, so the grammar is short and forgiving about case and
spacing, but strict about meaning: a typo must fail the import rather than silently make a debtor mute.

    script := event (";" event)*          newlines also separate events, empty events are ignored
    event  := DAY ACTION ARGS             DAY is a signed integer of days from the due date: -4, +8, 60

    pay full | pay 1234.56 | pay 50% | pay instalment | pay rest
    dispute REASON TEXT... [review +N]
    resolve | resolve credit 200.00 | resolve cancel
    plan N every D
    court filed|order_issued|served|no_opposition|opposition|rejected
    small_claims sent|agreed|refused
    insurer acknowledged | insurer indemnified 1234.56 | insurer recovered
    insolvency sauvegarde|redressement|liquidation       the opening judgment, that day
    bodacc                                               its publication in the BODACC, that day
    declaration declared|admitted|rejected               the claim declared to the mandataire, and its fate

Meaning of the payment kinds, for whoever executes a script: `full` is the invoice amount incl. tax (the face
value a debtor sends), `percent` a share of that amount, `instalment` the next instalment of the accepted plan,
`rest` whatever the engine says is still owed at that date (penalties included).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Callable, Literal, get_args

from pydantic import BaseModel, ConfigDict

from domain.case import (
    COURT_STEPS, DECLARATION_STEPS, INSURER_STEPS, SMALL_CLAIMS_STEPS, DisputeRequest, DisputeResolution,
    InsolvencyKind, InsolvencyNotice, Payment, PlanProposal, ProcedureStep,
)
from domain.schedule import equal_instalments

Action = Literal["pay", "dispute", "resolve", "plan", "court", "small_claims", "insurer", "insolvency", "bodacc",
                 "declaration"]


_EVENT_SEPARATOR = re.compile(r"[;\n]")
_DAY = re.compile(r"^[+-]?\d+$")
_AMOUNT = re.compile(r"^\d+(?:[.,]\d{1,2})?$")
_PERCENT = re.compile(r"^(\d+(?:[.,]\d+)?)%$")
_COUNT = re.compile(r"^\d+$")
_REVIEW = re.compile(r"^(?P<reason>.*?)(?:^|\s+)review\s+\+?(?P<days>\S+)$", re.IGNORECASE)
_CENT = Decimal("0.01")


class ScriptError(ValueError):
    def __init__(self, event: str, reason: str) -> None:
        self.event = event
        self.reason = reason
        super().__init__(f"script event {event!r}: {reason}")


class ScriptEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: int  # days from the due date, negative before it
    action: Action
    args: dict[str, str] = {}

    def __str__(self) -> str:
        """The canonical text: parsing it gives back an equal event."""
        return " ".join(part for part in (f"{self.day:+d}", self.action, _format_args(self)) if part)


def parse_script(text: str) -> list[ScriptEvent]:
    events = [_parse_event(raw.strip()) for raw in _EVENT_SEPARATOR.split(text or "") if raw.strip()]
    return sorted(events, key=lambda event: event.day)  # sorted() is stable: same-day events keep their order


def format_script(events: list[ScriptEvent]) -> str:
    return "; ".join(str(event) for event in events)


def _parse_event(raw: str) -> ScriptEvent:
    words = raw.split()
    if len(words) < 2:
        raise ScriptError(raw, "expected DAY ACTION, e.g. '+8 pay full'")
    day, action, rest = words[0], words[1].lower(), words[2:]
    if not _DAY.match(day):
        raise ScriptError(raw, f"day {day!r} is not a signed number of days from the due date, e.g. -4 or +8")
    parser = _PARSERS.get(action)
    if parser is None:
        raise ScriptError(raw, f"unknown action {words[1]!r}; expected one of {', '.join(_PARSERS)}")
    try:
        args = parser(rest)
    except ValueError as error:
        raise ScriptError(raw, str(error)) from None
    return ScriptEvent(day=int(day), action=action, args=args)  # type: ignore[arg-type]


# --- one parser per action; each raises ValueError with the reason -------------------------------------------


def _pay(rest: list[str]) -> dict[str, str]:
    word = _single(rest, "pay takes one of: full, rest, instalment, an amount such as 1234.56, a percent such as 50%")
    keyword = word.lower()
    if keyword in ("full", "rest", "instalment"):
        return {"kind": keyword}
    percent = _PERCENT.match(word)
    if percent:
        return {"kind": "percent", "percent": _percent(percent.group(1))}
    return {"kind": "amount", "amount": _amount(word)}


def _dispute(rest: list[str]) -> dict[str, str]:
    text = " ".join(rest)
    review = _REVIEW.match(text)
    reason = review.group("reason").strip() if review else text
    if not reason:
        raise ValueError("dispute needs a reason, e.g. 'dispute Livraison incomplète review +20'")
    if not review:
        return {"reason": reason}
    return {"reason": reason, "review_days": _positive_int(review.group("days"), "review days")}


def _resolve(rest: list[str]) -> dict[str, str]:
    if not rest:
        return {"kind": "resume"}
    keyword = rest[0].lower()
    if keyword == "cancel" and len(rest) == 1:
        return {"kind": "cancel"}
    if keyword == "credit" and len(rest) == 2:
        return {"kind": "credit", "amount": _amount(rest[1])}
    raise ValueError("resolve takes nothing, 'credit AMOUNT' or 'cancel'")


def _plan(rest: list[str]) -> dict[str, str]:
    if len(rest) != 3 or rest[1].lower() != "every":
        raise ValueError("expected 'plan N every D', e.g. 'plan 3 every 30'")
    return {"count": _positive_int(rest[0], "instalment count"), "every_days": _positive_int(rest[2], "days")}


def _court(rest: list[str]) -> dict[str, str]:
    return {"step": _step(rest, "court", COURT_STEPS)}


def _small_claims(rest: list[str]) -> dict[str, str]:
    return {"step": _step(rest, "small_claims", SMALL_CLAIMS_STEPS)}


def _insurer(rest: list[str]) -> dict[str, str]:
    if rest and rest[0].lower() == "indemnified":
        if len(rest) != 2:
            raise ValueError("expected 'insurer indemnified AMOUNT', e.g. 'insurer indemnified 1234.56'")
        return {"step": "indemnified", "amount": _amount(rest[1])}
    step = _step(rest, "insurer", INSURER_STEPS)
    if step == "indemnified":
        raise ValueError("insurer indemnified needs the amount paid by the insurer")
    return {"step": step}


def _insolvency(rest: list[str]) -> dict[str, str]:
    return {"kind": _step(rest, "insolvency", get_args(InsolvencyKind))}


def _bodacc(rest: list[str]) -> dict[str, str]:
    if rest:
        raise ValueError("bodacc takes nothing: the publication is dated by the event's day")
    return {}


def _declaration(rest: list[str]) -> dict[str, str]:
    return {"step": _step(rest, "declaration", DECLARATION_STEPS)}


_PARSERS: dict[str, Callable[[list[str]], dict[str, str]]] = {
    "pay": _pay,
    "dispute": _dispute,
    "resolve": _resolve,
    "plan": _plan,
    "court": _court,
    "small_claims": _small_claims,
    "insurer": _insurer,
    "insolvency": _insolvency,
    "bodacc": _bodacc,
    "declaration": _declaration,
}


# --- values ------------------------------------------------------------------------------------------------


def _single(rest: list[str], usage: str) -> str:
    if len(rest) != 1:
        raise ValueError(usage)
    return rest[0]


def _step(rest: list[str], action: str, steps: tuple[str, ...]) -> str:
    step = _single(rest, f"{action} takes one of: {', '.join(steps)}").lower()
    if step not in steps:
        raise ValueError(f"unknown {action} step {rest[0]!r}; expected one of {', '.join(steps)}")
    return step


def _amount(word: str) -> str:
    """Euros with at most two decimals, "," accepted since scripts sit in French spreadsheets."""
    if not _AMOUNT.match(word):
        raise ValueError(f"{word!r} is not an amount such as 1234.56")
    amount = Decimal(word.replace(",", ".")).quantize(_CENT)
    if amount <= 0:
        raise ValueError(f"amount {word!r} must be positive")
    return str(amount)


def _percent(text: str) -> str:
    value = Decimal(text.replace(",", "."))  # the caller's regex guarantees digits
    if not 0 < value <= 100:
        raise ValueError(f"percent {text}% must be above 0 and at most 100")
    return format(value.normalize(), "f")


def _positive_int(text: str, what: str) -> str:
    if not _COUNT.match(text) or int(text) <= 0:
        raise ValueError(f"{what} {text!r} must be a whole number above 0")
    return str(int(text))


def _format_args(event: ScriptEvent) -> str:
    args = event.args
    if event.action == "pay":
        kind = args.get("kind", "")
        return {"amount": args.get("amount", ""), "percent": f"{args.get('percent', '')}%"}.get(kind, kind)
    if event.action == "dispute":
        review = f" review +{args['review_days']}" if "review_days" in args else ""
        return f"{args.get('reason', '')}{review}"
    if event.action == "resolve":
        kind = args.get("kind", "resume")
        return {"resume": "", "credit": f"credit {args.get('amount', '')}"}.get(kind, kind)
    if event.action == "plan":
        return f"{args.get('count', '')} every {args.get('every_days', '')}"
    if event.action == "insolvency":
        return args.get("kind", "")
    return " ".join(value for value in (args.get("step", ""), args.get("amount", "")) if value)


def payment_amount(args: dict[str, str], invoice, status) -> Decimal:
    """What a script's payment sends, given the case's status on the day (`domain.case.CaseStatus`)."""
    if "amount" in args:
        return Decimal(args["amount"])
    if "percent" in args:
        return (invoice.amount_incl_tax * Decimal(args["percent"]) / 100).quantize(_CENT)
    if args.get("kind") == "full":
        return invoice.amount_incl_tax
    if args.get("kind") == "instalment" and status.plan:
        paid, running = status.paid_total - status.plan.paid_before_plan, Decimal("0")
        for instalment in status.plan.instalments:
            running += instalment.amount
            if running > paid:
                return running - paid
    return status.total_due  # `rest`: all that is owed that day, penalties and indemnity included


def plan_proposal(status, count: int, every_days: int, today, first_due=None):
    """`count` equal instalments of the principal due (`domain.case.CaseStatus`), the first `every_days` after today."""
    start = first_due or today + dt.timedelta(days=every_days)
    return PlanProposal(instalments=equal_instalments(status.principal_due, count, start, every_days))


def ops_message(event: ScriptEvent, invoice, today, status):
    """The message ops would send a case for one event of its script, given the case's status that day: a
    Payment, DisputeRequest, DisputeResolution, PlanProposal, InsolvencyNotice or ProcedureStep. The same for a
    real case (`relance.cases.play`) and a case played in memory (`domain.playback`)."""
    args = event.args
    if event.action == "pay":
        return Payment(amount=payment_amount(args, invoice, status), paid_on=today)
    if event.action == "dispute":
        review = today + dt.timedelta(days=int(args["review_days"])) if "review_days" in args else None
        return DisputeRequest(reason=args["reason"], review_by=review)
    if event.action == "resolve":
        if args.get("kind") == "cancel":
            return DisputeResolution(outcome="credit_note")
        if "amount" in args:
            return DisputeResolution(outcome="credit_note", credit_amount=Decimal(args["amount"]))
        return DisputeResolution(outcome="resume")
    if event.action == "plan":
        return plan_proposal(status, int(args["count"]), int(args["every_days"]), today)
    if event.action == "insolvency":
        return InsolvencyNotice(kind=args["kind"], judgment_on=today)
    if event.action == "bodacc":
        if status.insolvency is None:
            raise ValueError("a BODACC publication needs the insolvency recorded first")
        return InsolvencyNotice(kind=status.insolvency.kind, judgment_on=status.insolvency.judgment_on, published_on=today)
    procedure = {"court": "court", "small_claims": "small_claims", "insurer": "insurer",
                 "declaration": "declaration"}[event.action]
    return ProcedureStep(procedure=procedure, step=args["step"], on=today,
                         amount=Decimal(args["amount"]) if "amount" in args else None)
