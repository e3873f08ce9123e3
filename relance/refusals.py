"""The cases' refusals in French: the domain and the workflow's validators word them in English (the code's
language, and what the console shows in English); ops read them in French at the CLI and in the console.

A refusal the table does not know is shown as it came: nothing is ever hidden.
"""
from __future__ import annotations

import re

_WITH_A_REASON = r"plan refused: (.*)"  # the one refusal whose part is itself a refusal (domain/schedule.py)

_REFUSALS = [
    (r"the case is closed \((.*)\)", "le dossier est clos ({0})"),
    (r"the case is still opening; try again in a moment", "le dossier est en cours d'ouverture; réessayez dans un instant"),
    (r"no step of this case is waiting to be retried", "aucune étape de ce dossier n'attend d'être relancée"),
    (r"payment in (\S+), this case is kept in (\S+)", "règlement en {0}, ce dossier est tenu en {1}"),
    (r"payment dated (\S+), in the future", "règlement daté du {0}, dans le futur"),
    (r"payment dated (\S+), before the invoice date \((\S+)\)", "règlement daté du {0}, avant la date de facture ({1})"),
    (r"procédure collective: no individual payment plan, the claim goes through the mandataire",
     "procédure collective: pas d'échéancier individuel, la créance passe par le mandataire"),
    (r"a payment plan is already running for this case", "un échéancier est déjà en cours pour ce dossier"),
    (r"the case is already escalated \((.*)\)", "le dossier est déjà en phase contentieuse ({0})"),
    (_WITH_A_REASON, "échéancier refusé : {0}"),
    # Why a plan is refused (domain/schedule.plan_refusal), inside "plan refused: ...".
    (r"a plan needs at least one instalment", "un échéancier compte au moins une échéance"),
    (r"(\S+) instalments, the policy allows at most (\S+)", "{0} échéances, la politique en permet au plus {1}"),
    (r"instalment due dates must be distinct and in order", "les dates d'échéance doivent être distinctes et dans l'ordre"),
    (r"the first instalment falls on (\S+), before today", "la première échéance tombe le {0}, avant aujourd'hui"),
    (r"the plan runs (\S+) days, the policy allows at most (\S+)", "l'échéancier dure {0} jours, la politique en permet au plus {1}"),
    (r"an instalment is below the policy's minimum of (\S+) EUR", "une échéance est sous le minimum de la politique ({0} EUR)"),
    (r"the instalments add up to (\S+) EUR, less than the principal due \((\S+) EUR\)",
     "les échéances totalisent {0} EUR, moins que le principal dû ({1} EUR)"),
    (r"the instalments add up to (\S+) EUR, more than the amount due \((\S+) EUR\)",
     "les échéances totalisent {0} EUR, plus que le montant dû ({1} EUR)"),
    (r"already disputed since (\S+): (.*)", "litige déjà ouvert depuis le {0}: {1}"),
    (r"the review date is in the past", "la date de revue est passée"),
    (r"this case is not disputed", "ce dossier n'est pas en litige"),
    (r"a credit note must be positive and at most the principal due \((.*)\)",
     "un avoir doit être positif et au plus égal au principal dû ({0})"),
    (r"unknown (\S+) step '?(.*?)'?; expected one of (.*)", "étape « {1} » inconnue pour {0}; attendu: {2}"),
    (r"step '?(.*?)'? is already recorded", "l'étape « {0} » est déjà enregistrée"),
    (r"no procédure collective is recorded for this debtor", "aucune procédure collective n'est enregistrée pour ce débiteur"),
    (r"the claim must be declared first", "la créance doit d'abord être déclarée"),
    (r"procédure collective: individual actions against the debtor have stopped",
     "procédure collective: les poursuites individuelles sont arrêtées"),
    (r"this case is on the (\S+) path, not (\S+)", "ce dossier suit la voie {0}, pas {1}"),
    (r"the order must be issued before it is served", "l'ordonnance doit être rendue avant d'être signifiée"),
    (r"an indemnity needs its amount", "une indemnisation doit indiquer son montant"),
    (r"the judgment and its publication cannot be in the future", "le jugement et sa publication ne peuvent être dans le futur"),
    (r"the BODACC publication cannot come before the judgment", "la publication au BODACC ne peut précéder le jugement"),
    (r"this procédure collective is already recorded \((.*)\)", "cette procédure collective est déjà enregistrée ({0})"),
    (r"a payment amount must be positive", "un règlement doit être d'un montant positif"),
    (r"the debtor's contact details already read so: nothing to change",
     "les coordonnées du débiteur sont déjà celles-ci : rien à changer"),
    (r"email: not a valid email address(.*)", "e-mail : adresse invalide{0}"),
    (r"(.*): contains the control character (\S+)", "{0} : contient le caractère de contrôle {1}"),
    (r"pays: String should match pattern.*", "pays : un code à deux lettres (FR, BE, DE...) ou le nom du pays"),
    (r"country (\S+): no such ISO 3166 country code", "pays {0} : aucun pays n'a ce code (ISO 3166 : FR, BE, DE...)"),
    (r"already recorded: bank entry (\S+)", "déjà enregistré : écriture bancaire {0}"),
    (r"no payment from bank entry (\S+) on this case", "aucun règlement de l'écriture bancaire {0} sur ce dossier"),
    (r"already recorded: status (\S+) of (\S+)", "déjà enregistré : statut {0} du {1}"),
    (r"the amount is (.*): an export can lower it, not raise it \(ops decide\)",
     "le montant est de {0} : un export peut le baisser, pas le hausser (à décider par l'équipe recouvrement)"),
    (r"the amount is (.*): the export does not raise it", "le montant est de {0} : l'export ne l'augmente pas"),
    (r"String should have at least (\d+) characters?", "{0} caractères au moins"),
    (r"(\S+): String should have at least (\d+) characters?", "{0} : {1} caractères au moins"),
    (r"Input should be a valid date.*", "date attendue (JJ/MM/AAAA)"),
    (r"Input should be a valid decimal.*", "montant attendu, par exemple 1 234,56"),
]
_COMPILED = [(re.compile(pattern), french) for pattern, french in _REFUSALS]


def in_french(message: str) -> str:
    """A case's refusal in French, from the table above; what ops typed inside it (a dispute's reason) is left as
    they typed it."""
    for pattern, french in _COMPILED:
        found = pattern.fullmatch(message.strip())
        if found:
            groups = found.groups()
            return french.format(*(map(in_french, groups) if pattern.pattern == _WITH_A_REASON else groups))
    return message
