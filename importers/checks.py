"""Checks of a row that only an import makes: the debtor's identifiers, and the invoice against its policy (payment
terms, the ECB rates its penalties need, the address its letters need).

SIREN, SIRET and VAT numbers (any EU country's) go on mises en demeure, insurer filings and court requests: one digit wrong there
names another company, so a bad one (python-stdnum: length, Luhn, VAT key) rejects the row. A SIRET or a French
VAT number gives the SIREN when the row has none, and must agree with it when it has one.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from stdnum.exceptions import ValidationError as NumberError
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number
from stdnum.eu import vat as vat_number
from stdnum.fr import tva as french_vat

from domain.countries import is_country
from domain.policy import Policy
from importers.base import RowError


def identifier_errors(row: int, values: dict[str, Any]) -> list[RowError]:
    """Checks the SIREN, SIRET and VAT cells of `values`, compacting them, and fills `debtor_siren` from the
    SIRET or the VAT number when the row has none."""
    errors: list[RowError] = []
    sirens: dict[str, str] = {}  # column -> the SIREN it gives
    for column, module, what in (("debtor_siren", siren_number, "SIREN"), ("debtor_siret", siret_number, "SIRET"),
                                 ("debtor_vat", vat_number, "VAT")):
        raw = values.get(column)
        if not isinstance(raw, str) or not raw:
            continue
        try:
            number = module.validate(raw)
        except NumberError as error:
            errors.append(_bad_number(row, column, what, raw, error))
            continue
        values[column] = number
        given = _siren_of(column, number)
        if given:
            sirens[column] = given
    if len(set(sirens.values())) > 1:
        first, *others = sirens
        errors.append(RowError(
            row=row, field=others[0],
            message=f"does not match the SIREN {sirens[first]} given by {first}",
            message_fr=f"ne correspond pas au SIREN {sirens[first]} de la colonne {first}"))
    elif sirens and "debtor_siren" not in sirens and not errors:
        values["debtor_siren"] = next(iter(sirens.values()))
    return errors


def _siren_of(column: str, number: str) -> str:
    if column == "debtor_siren":
        return number
    if column == "debtor_siret":
        return number[:9]
    return french_vat.to_siren(number[2:]) if number.startswith("FR") else ""  # a foreign company has none


def _bad_number(row: int, column: str, what: str, raw: str, error: NumberError) -> RowError:
    # stdnum's messages are English and generic ("The number has an invalid length."): said after ours.
    why_fr = {"SIREN": "9 chiffres avec une clé de Luhn valide", "SIRET": "14 chiffres avec une clé de Luhn valide",
              "VAT": "code pays et numéro, FR : clé de 2 chiffres et SIREN"}[what]
    french_what = "TVA intracommunautaire" if what == "VAT" else what
    return RowError(row=row, field=column, message=f"{raw!r} is not a valid {what} number: {error.message}",
                    message_fr=f"{raw!r} n'est pas un numéro {french_what} valide ({why_fr})")


def terms_warning(row: int, issue_date: dt.date, due_date: dt.date, policy: Policy | None) -> list[RowError]:
    """Payment terms longer than the policy expects (L441-10 caps them at 60 days): imported, but said, since
    every deadline of the case counts from that due date."""
    if policy is None:
        return []
    limit, policy_id, days = policy.max_payment_terms_days, policy.policy_id, (due_date - issue_date).days
    if days <= limit:
        return []
    return [RowError(row=row, field="due_date", severity="warning",
                     message=f"payment terms of {days} days, more than the {limit} days of policy {policy_id!r}",
                     message_fr=f"délai de paiement de {days} jours, au-delà des {limit} jours de la politique "
                                f"« {policy_id} » (article L441-10 du code de commerce)")]


def rates_error(row: int, due_date: dt.date, policy: Policy | None) -> list[RowError]:
    """Penalties run from the day after the due date, at the ECB rate of each half-year: a due date older than the
    policy's first rate would give a case that cannot compute what it is owed (and fails at its first figure)."""
    if policy is None:
        return []
    first_day = due_date + dt.timedelta(days=1)
    needed = dt.date(first_day.year, 1 if first_day.month < 7 else 7, 1)
    first_rate = policy.penalties.ecb_rates[0].effective
    if needed >= first_rate:
        return []
    return [RowError(
        row=row, field="due_date",
        message=f"policy {policy.policy_id!r} has no ECB rate for the half-year starting {needed:%d/%m/%Y} (its"
                f" penalties.ecb_rates start on {first_rate:%d/%m/%Y}): add the rates from then on",
        message_fr=f"la politique « {policy.policy_id} » n'a pas de taux BCE pour le semestre commençant le"
                   f" {needed:%d/%m/%Y} (ses penalties.ecb_rates commencent le {first_rate:%d/%m/%Y}) : ajouter les"
                   f" taux depuis cette date, sans quoi les pénalités ne se calculent pas")]


def address_warning(row: int, address: str, policy: Policy | None) -> list[RowError]:
    """Imported, but said now: the registered mise en demeure and the court requests of the policy are addressed
    by post, and a case without an address stops at that step, months later, with a task for ops."""
    if policy is None or address.strip():
        return []
    return [RowError(row=row, field="debtor_address", severity="warning",
                     message="no debtor address: the registered formal notice and the court requests need one",
                     message_fr="adresse du débiteur absente : la mise en demeure recommandée et les requêtes au"
                                " tribunal en ont besoin ; la compléter avant d'y arriver")]


def country_warning(row: int, country: str) -> list[RowError]:
    """Imported, but said now: a country that is no country prints as written on the letters' last line, and a
    rule on `countries` (ISO codes) never matches it."""
    if is_country(country):
        return []
    return [RowError(row=row, field="debtor_country", severity="warning",
                     message=f"{country!r} is no country known by its ISO code or its name: letters print it as is",
                     message_fr=f"« {country} » n'est pas un pays connu (code ISO, FR, BE, DE..., ou nom du pays) :"
                                " les lettres l'impriment tel quel ; le corriger avec relance contact --country")]
