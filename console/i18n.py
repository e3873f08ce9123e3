"""French first, English available: the pages are written in French and `t` gives English on request.

The cases answer refusals in English (the CLI prints them as they come); `refusal` says them in plain French for
the forms, and leaves a refusal it does not know as it came, so nothing is ever hidden.
"""
from __future__ import annotations

import re

LANGUAGES = ("fr", "en")

ENGLISH = {
    "Aujourd'hui": "Today", "Clients": "Customers", "Tableau de bord": "Dashboard", "Règles": "Rules",
    "Se déconnecter": "Sign out", "Se connecter": "Sign in", "Identifiant": "Login", "Mot de passe": "Password",
    "Identifiant ou mot de passe incorrect": "Wrong login or password",
    "Se connecter avec le fournisseur d'identité": "Sign in with the identity provider",
    "Aller au contenu": "Skip to content", "Dossier": "Case", "Facture": "Invoice", "Débiteur": "Debtor",
    "Étape": "Stage", "Montant dû": "Amount due", "Principal dû": "Principal due", "Pénalités": "Penalties",
    "Indemnité": "Indemnity", "Total dû": "Total due", "Encaissé": "Collected", "Échéance": "Due date",
    "Prochaine action": "Next action", "Règle": "Rule", "Historique": "History", "Par": "By", "Le": "On",
    "Tâches": "Tasks", "Litige": "Dispute", "Échéancier": "Payment plan", "Procédure": "Procedure",
    "Enregistrer un règlement": "Record a payment", "Montant": "Amount", "Date": "Date", "Référence": "Reference",
    "Ouvrir un litige": "Open a dispute", "Motif": "Reason", "Date de revue": "Review date",
    "Clore le litige": "Resolve the dispute", "Reprendre les relances": "Resume reminders",
    "Avoir partiel": "Partial credit note", "Avoir total": "Full credit note", "Note": "Note",
    "Proposer un échéancier": "Propose a payment plan", "Nombre d'échéances": "Instalments",
    "Jours entre échéances": "Days between instalments", "Première échéance": "First due date",
    "Confirmer une étape de procédure": "Confirm a procedure step", "Clore le dossier": "Close the case",
    "Relancer l'étape en échec": "Retry the failed step", "Valider": "Submit", "Refusé": "Refused",
    "Corriger les coordonnées du débiteur": "Correct the debtor's contact details", "E-mail": "Email",
    "Pays": "Country",
    "5 rue des Lilas, 75011 Paris": "5 rue des Lilas, 75011 Paris",
    "Enregistré": "Recorded", "Fait": "Done", "Reporter": "Postpone", "Reporter au": "Postpone to",
    "Marquer fait": "Mark done", "Rien à faire aujourd'hui": "Nothing to do today", "Appel": "Call",
    "Encours et limite de crédit": "Exposure and credit limit", "compte client": "customer account",
    "Encaissement à rapprocher": "Bank entry to match", "relevé bancaire": "bank statement",
    "Relevé de compte (PDF)": "Statement of account (PDF)", "Courriers et messages": "Letters and messages",
    "Historique indisponible": "History unavailable", "Rien n'a encore été envoyé à ce client.": "Nothing sent to this customer yet.",
    "Objet": "Subject", "Contact": "Contact", "Adresse": "Address", "Langue": "Language", "Notes": "Notes",
    "Nouvelle note": "New note", "Aucune note": "No note yet", "Enregistrer": "Save",
    "Délais de paiement": "Payment times", "Retard moyen pondéré de l'encours": "Open items, weighted days late",
    "Réglé après la facture": "Paid after the invoice date", "Réglé après l'échéance": "Paid after the due date",
    "Sur les factures suivies par relance, pondéré par les montants.": "Over the invoices relance follows, weighted by amount.",
    "Document absent de cet hôte": "Document not on this host", "Documents": "Documents",
    "Les workers écrivent les documents dans RELANCE_DOCUMENTS_DIR ; la console les lit dans le sien":
        "Workers write documents to RELANCE_DOCUMENTS_DIR; the console reads them from its own",
    "Avec des workers sur d'autres hôtes, partagez ce dossier avec l'hôte de la console.":
        "With workers on other hosts, share that folder with the console's host.",
    "Voir": "View", "Ouvrir le document": "Open the document",
    "Tendance du DSO": "DSO trend", "fin": "end", "aujourd'hui": "today",
    "DSO à chaque fin de mois, sur les factures suivies par relance.":
        "DSO at each month end, over the invoices relance follows.",
    "Courrier à poster": "Letter to post", "Échéance tribunal ou assureur": "Court or insurer deadline",
    "Litige à revoir": "Dispute to review", "Étape en échec": "Failed step", "Tâche": "Task",
    "Levée par la règle": "Raised by rule", "Recherche": "Search", "Nom, SIREN ou facture": "Name, SIREN or invoice",
    "Non échu": "Not yet due", "plus de 90 j": "over 90 days", "Encours": "Exposure", "Limite de crédit": "Credit limit",
    "Jours de retard": "Days late", "Dépassement": "Over limit", "Factures": "Invoices",
    "Encaissé ce mois": "Collected this month", "Par étape": "By stage", "Par ancienneté": "By age",
    "À échoir": "Falling due", "Semaine du": "Week of", "Dossiers ouverts": "Open cases",
    "Lecture seule": "Read-only", "Accès refusé": "Access denied",
    "Votre rôle ne permet pas cette page.": "Your role does not allow this page.",
    "Mis à jour": "Updated", "Reconstruire depuis Temporal": "Rebuild from Temporal", "Filtrer": "Filter",
    "Politiques": "Policies", "Versions": "Versions", "Déposer un brouillon": "Upload a draft",
    "Vérifier": "Check", "Publier": "Publish", "Constats": "Findings", "Aperçu": "Preview", "Fichier": "File",
    "rien de programmé": "nothing scheduled", "Dossier clos": "Case closed", "en pause": "paused",
    "Étape à confirmer": "Step to confirm", "Jugement d'ouverture": "Opening judgment",
    "Tous les dossiers": "All cases", "Statut": "Status", "Actions": "Actions", "Export": "Export",
    "Dossier introuvable": "No such case", "Sauter": "Skip",
}

STAGES = {
    "preventive": ("relance préventive", "courtesy reminder"), "amicable": ("relance amiable", "reminder"),
    "negotiation": ("négociation", "negotiation"), "formal_notice": ("mise en demeure", "formal notice"),
    "injonction": ("injonction de payer", "court payment order"), "small_claims": ("petites créances", "small claims"),
    "insurer_claim": ("assureur-crédit", "credit insurer"), "insolvency": ("procédure collective", "insolvency"),
    "closed": ("clos", "closed"),
}


def t(text: str, lang: str) -> str:
    return ENGLISH.get(text, text) if lang == "en" else text


def stage(name: str, lang: str) -> str:
    labels = STAGES.get(str(name))
    return labels[LANGUAGES.index(lang)] if labels else str(name)


# The refusals of domain/transitions.py and of the workflow's validators, in French.
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
    (r"plan refused: (.*)", "échéancier refusé: {0}"),
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
    (r"pays: String should match pattern.*", "pays : un code à deux lettres (FR, BE, DE...)"),
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


def refusal(message: str, lang: str) -> str:
    """A case's refusal in the page's language: French from the table above, English as the case said it."""
    if lang == "en":
        return message
    for pattern, french in _COMPILED:
        found = pattern.fullmatch(message.strip())
        if found:
            return french.format(*found.groups())
    return message
