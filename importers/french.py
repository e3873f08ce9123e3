"""The French of a row's error, said first to the user (the English follows for support).

The messages come from the ledger's cell readers, from `domain.invoice`'s bounds and from the model's
validators, which other callers read in English; rather than teach each of them French, the import translates
the finite set they produce here. A message without a translation (a demo script's) is said in English only.
"""
from __future__ import annotations

import re

_TRANSLATIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), french) for pattern, french in (
    (r"^missing$", "valeur absente"),
    (r"^unknown column, ignored$", "colonne inconnue, ignorée"),
    (r"^duplicate of row (\d+)$", r"doublon de la ligne \1"),
    (r"^unknown policy (.+) \(known: (.*)\)$", r"politique \1 inconnue (connues : \2)"),
    (r"^(.+) is not an amount such as .*$", r"\1 n'est pas un montant comme 1234,56 ou 1 234,56 (chiffres 0-9)"),
    (r"^(.+) is not an amount$", r"\1 n'est pas un montant"),
    (r"^(.+) is not a date as .*$", r"\1 n'est pas une date JJ/MM/AAAA ou AAAA-MM-JJ (chiffres 0-9)"),
    (r"^(.+) is not a calendar date$", r"\1 n'est pas une date du calendrier"),
    (r"^(.+) is not a plausible invoice date$", r"\1 n'est pas une date de facture plausible"),
    (r"^(.+) is not one of true/false.*$", r"\1 n'est pas oui/non (ou true/false, 1/0)"),
    (r"^expected text$", "texte attendu"),
    (r"^expected an amount$", "montant attendu"),
    (r"^expected an object with the invoice fields$", "objet attendu, avec les champs de la facture"),
    (r"^must be more than 0$", "doit être supérieur à 0"),
    (r"^Input should be greater than 0$", "doit être supérieur à 0"),
    (r"^Input should be greater than or equal to 0$", "doit être positif ou nul"),
    (r"^more than the maximum of (\S+) EUR$", r"supérieur au maximum de \1 EUR"),
    (r"^at most 2 decimals \(cents\)$", "2 décimales au plus (centimes)"),
    (r"^Decimal input should have no more than 2 decimal places$", "2 décimales au plus (centimes)"),
    (r"^not a valid email address$", "adresse e-mail invalide"),
    (r"^not a valid email address: contains the control character (\S+)$",
     r"adresse e-mail invalide : contient le caractère de contrôle \1"),
    (r"^not a valid email address: longer than (\d+) characters$", r"adresse e-mail invalide : plus de \1 caractères"),
    (r"^(\S+) is more than (\d+) years before today \((\S+)\)$", r"\1 est à plus de \2 ans avant aujourd'hui (\3)"),
    (r"^(\S+) is more than a year after today \((\S+)\)$", r"\1 est à plus d'un an après aujourd'hui (\2)"),
    (r"^(\S+) is more than (\d+) years after today \((\S+)\)$", r"\1 est à plus de \2 ans après aujourd'hui (\3)"),
    (r"^due_date is before issue_date$", "la date d'échéance précède la date de facture"),
    (r"^amount_excl_tax is larger than amount_incl_tax$", "le montant HT dépasse le montant TTC"),
    (r"^an insured debtor's invoice needs amount_excl_tax.*$",
     "la facture d'un client assuré doit porter son montant HT (l'assureur le couvre)"),
    (r"^letters, digits and \. _ / - only, at most 64 characters$",
     "lettres, chiffres et . _ / - seulement, 64 caractères au plus"),
    (r"^(\S+) and (\S+) go together$", r"\1 et \2 vont ensemble"),
    (r"^(\S+) needs (\S+) on or before it$", r"\1 suppose \2, à une date antérieure ou égale"),
    (r"^court_filed_on and insurer_filed_on: one path at a time$",
     "une seule voie à la fois : requête en injonction ou déclaration à l'assureur"),
    (r"^unknown reminder (.+) of policy (\S+) \(known: (.*)\)$", r"relance \1 inconnue de la politique \2 (connues : \3)"),
    (r"^(\S+) is after today \((\S+)\)$", r"\1 est postérieure à aujourd'hui (\2)"),
    (r"^(\S+) is before the invoice date \((\S+)\)$", r"\1 précède la date de facture (\2)"),
    (r"^Input should be (.+)$", r"valeur attendue : \1"),
))


def in_french(message: str) -> str:
    """The French of `message`, or "" when there is none."""
    for pattern, french in _TRANSLATIONS:
        if pattern.match(message):
            return pattern.sub(french, message)
    return ""
