"""A case page's forms, as the CLI's messages: the same models, the same updates, the same validation.

Each form becomes one `domain.case` message naming the signed-in user (`by`), sent through the update the CLI
uses; the model's validation and the case's validator refuse bad input, and the refusal comes back as text.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping

from pydantic import BaseModel, ValidationError

from domain.case import (
    CONTACT_FIELDS, PROCEDURE_STEPS, CloseRequest, ContactChange, DisputeRequest, DisputeResolution, Payment, PlanProposal, ProcedureStep, RetryRequest,
)
from domain.countries import country_code
from domain.money import parse_date
from relance.ledger import read_amount
from domain.script import plan_proposal
from workflows.invoice_case import InvoiceCase


class Refused(ValueError):
    """Input the console refuses before sending anything (an unreadable amount or date)."""


@dataclasses.dataclass(frozen=True)
class Form:
    name: str
    update: Callable
    build: Callable[[Mapping[str, str], str, dt.date, object], BaseModel]  # form, user, today, current status


def _date(text: str | None) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError as error:
        raise Refused(str(error)) from error


def _amount(text: str | None) -> object:
    try:
        return read_amount(text or "")
    except ValueError as error:
        raise Refused(str(error)) from error


def _int(text: str | None, field: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError as error:
        raise Refused(f"{field}: un nombre entier est attendu") from error


def _payment(form, by, today, status) -> Payment:
    return Payment(amount=_amount(form.get("amount")), paid_on=_date(form.get("paid_on")),
                   reference=form.get("reference", "").strip(), by=by)


def _dispute(form, by, today, status) -> DisputeRequest:
    return DisputeRequest(reason=form.get("reason", "").strip(), review_by=_date(form.get("review_by")), by=by)


def _resolve(form, by, today, status) -> DisputeResolution:
    outcome, note = form.get("outcome", "resume"), form.get("note", "").strip()
    if outcome == "credit_note":
        return DisputeResolution(outcome="credit_note", credit_amount=_amount(form.get("credit_amount")), note=note, by=by)
    if outcome == "cancel":
        return DisputeResolution(outcome="credit_note", credit_amount=None, note=note, by=by)
    return DisputeResolution(outcome="resume", note=note, by=by)


def _plan(form, by, today, status) -> PlanProposal:
    """`relance plan --instalments N --every DAYS [--first DATE]`: equal parts of the principal due."""
    count, every = _int(form.get("count"), "nombre d'échéances"), _int(form.get("every") or "30", "jours")
    if not 1 <= count <= 120 or not 1 <= every <= 366:
        raise Refused("entre 1 et 120 échéances, espacées de 1 à 366 jours")
    proposal = plan_proposal(status, count, every, today, _date(form.get("first")))
    return proposal.model_copy(update={"by": by})


def _step(form, by, today, status) -> ProcedureStep:
    procedure, _, step = form.get("step", "").partition(":")
    if procedure not in PROCEDURE_STEPS:
        raise Refused("choisir une étape de procédure")
    amount = form.get("amount", "").strip()
    return ProcedureStep(procedure=procedure, step=step, on=_date(form.get("on")),
                         amount=_amount(amount) if amount else None, by=by)


def _close(form, by, today, status) -> CloseRequest:
    return CloseRequest(reason=form.get("reason", "").strip(), by=by)


def _retry(form, by, today, status) -> RetryRequest:
    return RetryRequest(by=by)


def _contact(form, by, today, status) -> ContactChange:
    """A field left blank keeps its value."""
    given = {name: value.strip() for name in CONTACT_FIELDS if (value := form.get(name, "")).strip()}
    if "country" in given:  # "Belgique" or "BEL" as typed is BE
        try:
            given["country"] = country_code(given["country"])
        except ValueError as error:
            raise Refused(f"pays : {error}") from error
    return ContactChange(**given, by=by)


FORMS = {form.name: form for form in (
    Form("payment", InvoiceCase.record_payment, _payment),
    Form("dispute", InvoiceCase.open_dispute, _dispute),
    Form("resolve", InvoiceCase.resolve_dispute, _resolve),
    Form("plan", InvoiceCase.propose_plan, _plan),
    Form("step", InvoiceCase.record_procedure_step, _step),
    Form("close", InvoiceCase.close_case, _close),
    Form("retry", InvoiceCase.retry_step, _retry),
    Form("contact", InvoiceCase.update_contact, _contact),
)}


def message(form: Form, fields: Mapping[str, str], by: str, today: dt.date, status) -> BaseModel:
    """The message of a filled form, or Refused with what is wrong, field by field."""
    try:
        return form.build(fields, by, today, status)
    except ValidationError as error:
        raise Refused("; ".join(_field_error(e) for e in error.errors())) from error


_FIELDS = {"email": "e-mail", "address": "adresse", "country": "pays", "language": "langue", "amount": "montant", "reason": "motif", "review_by": "date de revue", "paid_on": "date",
           "credit_amount": "montant de l'avoir", "instalments": "échéances", "on": "date"}


def _field_error(error: dict) -> str:
    field = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{_FIELDS.get(field, field)}: {message}"
