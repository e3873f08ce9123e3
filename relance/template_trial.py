"""Every template a policy uses, rendered once before anything relies on it: `rules check` and the fast preview.

A template an admin broke (a syntax error, a name that does not exist, an attribute the sandbox refuses) fails
every case that reaches its step, and those cases wait for ops. `rules check` only knew the files existed, and
the fast preview plays the decisions without writing the letters: both said "ok". Here each template the policy
names (and those relance writes whatever the ladder says) is rendered in every language it exists in, with a
specimen letter that fills every field a real one may carry: one invoice alone, and a customer's account (several
invoices, a credit netted, one left out), so a mistake on any branch the data can take shows. What a specimen
cannot show: a field required by the template that one real invoice lacks (`required("debtor.address")`); the
case says so when it reaches the step.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from activities.rendering import (
    DOCUMENT_PART, EMAIL_PARTS, PermanentFailure, render_document, render_email, render_statement, templates_dir,
)
from domain.invoice import Debtor, Invoice
from domain.letters import AccountCredit, AccountLine, Allocation, Instalment, LetterContext, PenaltyLine
from domain.policy import Channel, Policy
from domain.policy_checks import Finding, templates_wanted

LANGUAGES = ("fr", "en")  # what `Debtor.language` may say
STATEMENT = "statement_of_account"


def trial(policy: Policy, today: dt.date) -> list[Finding]:
    """One error per template and language that does not render, naming the rule field that uses it."""
    findings, tried, reported = [], set(), set()
    for field, kind, channel in templates_wanted(policy):
        for language in LANGUAGES:
            if (kind, channel, language) in tried or not _written_in(kind, channel, language):
                continue
            tried.add((kind, channel, language))
            error = _first_error(policy, kind, channel, language, today)
            if error and error not in reported:  # a shared part (a partial, the account message) once
                reported.add(error)
                findings.append(Finding("error", field, f"{channel.value} template {kind!r} ({language}): {error}"))
    return findings


def _written_in(kind: str, channel: Channel, language: str) -> bool:
    """Whether the kind has its own files in that language (a missing French one is `rules check`'s other error;
    another language missing renders in French, tried already)."""
    parts = EMAIL_PARTS if channel is Channel.email else (DOCUMENT_PART,)
    return all((templates_dir() / language / f"{kind}.{part}").is_file() for part in parts)


def _first_error(policy: Policy, kind: str, channel: Channel, language: str, today: dt.date) -> str | None:
    try:
        if kind == STATEMENT:
            render_statement(_specimen_account(policy, language, today), policy.creditor, today)
            return None
        for letter in specimens(policy, kind, language, today):
            render_email(letter) if channel is Channel.email else render_document(letter)
    except PermanentFailure as failure:
        return str(failure)
    except Exception as error:  # noqa: BLE001 - a template's own exception (a filter given a wrong type...)
        return f"{type(error).__name__}: {error}"
    return None


def _debtor(language: str) -> Debtor:
    return Debtor(debtor_id="SPECIMEN", name="Client Spécimen SARL", email="compta@specimen.example",
                  language=language, siren="123456789", address="5 avenue des Tests, BP 12, 75011 Paris",
                  insured=True, credit_limit=Decimal("10000.00"), credit_limit_on=dt.date(2026, 1, 2))


def specimens(policy: Policy, kind: str, language: str, today: dt.date) -> list[LetterContext]:
    """A letter of `kind` with every field filled: alone, then for a customer's account; and the same for someone
    other than the debtor (ops, the insurer), which some templates word differently."""
    due = today - dt.timedelta(days=75)
    invoice = Invoice(number="SPECIMEN-001", debtor=_debtor(language), issue_date=due - dt.timedelta(days=30),
                      due_date=due, amount_incl_tax=Decimal("1234.56"), amount_excl_tax=Decimal("1028.80"),
                      purchase_order="BC-77", delivery_proof="BL-77")
    half_year = dt.date(today.year, 1 if today.month < 7 else 7, 1)
    lines = [PenaltyLine(start=due + dt.timedelta(days=1), end=half_year - dt.timedelta(days=1),
                         days=max((half_year - due).days - 1, 1), base=Decimal("1234.56"),
                         rate_percent=Decimal("12.15"), amount=Decimal("20.55")),
             PenaltyLine(start=half_year, end=today, days=(today - half_year).days + 1, base=Decimal("1000.00"),
                         rate_percent=Decimal("12.00"), amount=Decimal("9.86"))]
    plan = [Instalment(due_date=today + dt.timedelta(days=30 * n), amount=Decimal("411.52")) for n in (1, 2, 3)]
    alone = LetterContext(
        kind=kind, language=language, today=today, invoice=invoice, creditor=policy.creditor,
        rule_id="specimen", policy_ref=policy.ref, principal_due=Decimal("1000.00"), penalties_due=Decimal("30.41"),
        indemnity_due=Decimal("40.00"), penalty_lines=lines,
        payments=[Allocation(kind="payment", on=half_year, amount=Decimal("234.56"), to_principal=Decimal("234.56"),
                             reference="VIR-1")],
        penalties_accrued=Decimal("30.41"), deadline=today + dt.timedelta(days=8), days_late=75, instalments=plan,
        instalment=plan[0], note="Appeler le client", expected_indemnity=Decimal("925.92"),
        attachments=["Facture SPECIMEN-001", "Bon de commande BC-77"], step="specimen")
    other = AccountLine(number="SPECIMEN-002", issue_date=invoice.issue_date, due_date=due + dt.timedelta(days=10),
                        days_late=65, amount_incl_tax=Decimal("600.00"), principal_due=Decimal("600.00"),
                        penalties_due=Decimal("8.00"), indemnity_due=Decimal("40.00"), step="specimen",
                        rule_id="specimen")
    first = AccountLine(number=invoice.number, issue_date=invoice.issue_date, due_date=due, days_late=75,
                        amount_incl_tax=invoice.amount_incl_tax, principal_due=alone.principal_due,
                        penalties_due=alone.penalties_due, indemnity_due=alone.indemnity_due, penalty_lines=lines,
                        payments=alone.payments, step="specimen", rule_id="specimen")
    account = alone.model_copy(update={
        "account_lines": [first, other], "left_out": ["SPECIMEN-003 (contestée)"], "complements": "SPECIMEN-000",
        "credits": [AccountCredit(reference="AV-1", kind="credit_note", on=half_year, amount=Decimal("100.00"))]})
    return [alone, account, alone.model_copy(update={"recipient": "équipe recouvrement"}),
            account.model_copy(update={"recipient": "Assureur-crédit"})]


def _specimen_account(policy: Policy, language: str, today: dt.date):
    """A customer's account as the statement of account prints it: two invoices overdue, one of them paid in part."""
    from domain.case import CaseState
    from domain.debtor_account import debtor_account
    from domain.decisions import status_of

    noon = dt.datetime.combine(today, dt.time(12), tzinfo=dt.timezone.utc)
    statuses = []
    for n, late in ((1, 75), (2, 20)):
        due = today - dt.timedelta(days=late)
        invoice = Invoice(number=f"SPECIMEN-00{n}", debtor=_debtor(language), issue_date=due - dt.timedelta(days=30),
                          due_date=due, amount_incl_tax=Decimal("1234.56"), amount_excl_tax=Decimal("1028.80"))
        state = CaseState(invoice=invoice, opened_at=noon, principal=invoice.amount_incl_tax, accrued_through=due)
        statuses.append(status_of(state, policy, noon))
    return debtor_account(statuses, today)
