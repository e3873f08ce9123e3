"""French first, English available: the pages are written in French and `t` gives English on request.

The cases answer refusals in English; `refusal` says them in plain French for the forms (relance.refusals, as the
CLI does), and leaves a refusal it does not know as it came, so nothing is ever hidden.
"""
from __future__ import annotations

from relance import refusals

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


def refusal(message: str, lang: str) -> str:
    """A case's refusal in the page's language: French (relance.refusals), or English as the case said it."""
    return message if lang == "en" else refusals.in_french(message)
