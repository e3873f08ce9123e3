"""The columns of a ledger, and the headers French accounting exports give them.

A French export names its columns as people do ("N° facture", "Date d'échéance", "Montant TTC"), with accents,
apostrophes and capitals that vary between programs. A header is compared after `normalize` (no accents, no
punctuation, lower case), so "DATE D'ECHEANCE", "Date d’échéance" and "date_echeance" are one name.
"""
from __future__ import annotations

import re
import unicodedata

# Column -> where it goes in the Invoice model.
TARGETS: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "debtor_id": ("debtor", "debtor_id"),
    "debtor_name": ("debtor", "name"),
    "debtor_email": ("debtor", "email"),
    "debtor_language": ("debtor", "language"),
    "debtor_siren": ("debtor", "siren"),
    "debtor_address": ("debtor", "address"),
    "debtor_country": ("debtor", "country"),
    "debtor_segment": ("debtor", "segment"),
    "insured": ("debtor", "insured"),
    "credit_limit": ("debtor", "credit_limit"),
    "issue_date": ("issue_date",),
    "due_date": ("due_date",),
    "amount_incl_tax": ("amount_incl_tax",),
    "amount_excl_tax": ("amount_excl_tax",),
    "currency": ("currency",),
    "policy": ("policy_id",),
    "purchase_order": ("purchase_order",),
    "delivery_proof": ("delivery_proof",),
}
# Read and checked, not carried by the model: a SIRET or a VAT number gives the SIREN when the file has none.
IDENTIFIER_COLUMNS = ("debtor_siret", "debtor_vat")
# What happened before relance (domain.prior.PriorHistory): the case opens where it puts it.
HISTORY_COLUMNS = ("last_reminder", "last_reminder_on", "notice_sent_on", "court_filed_on", "order_issued_on",
                   "order_served_on", "insurer_filed_on", "dispute_reason", "dispute_opened_on", "paid", "paid_on")
COLUMNS: tuple[str, ...] = (*TARGETS, *IDENTIFIER_COLUMNS, *HISTORY_COLUMNS, "script")
REQUIRED_COLUMNS = ("number", "debtor_id", "debtor_name", "debtor_email", "issue_date", "due_date", "amount_incl_tax")

# What a French user calls each column, for messages about a column the file lacks.
FRENCH_NAMES = {
    "number": "N° facture", "debtor_id": "Code client", "debtor_name": "Client", "debtor_email": "Email",
    "issue_date": "Date facture", "due_date": "Date d'échéance", "amount_incl_tax": "Montant TTC",
    "amount_excl_tax": "Montant HT", "debtor_siren": "SIREN", "debtor_siret": "SIRET",
    "debtor_vat": "N° TVA intracommunautaire", "debtor_address": "Adresse", "currency": "Devise",
    "last_reminder": "Dernière relance", "last_reminder_on": "Date dernière relance",
    "notice_sent_on": "Mise en demeure le", "court_filed_on": "Requête déposée le",
    "order_issued_on": "Ordonnance rendue le", "order_served_on": "Ordonnance signifiée le",
    "insurer_filed_on": "Menace de sinistre le", "dispute_reason": "Litige", "dispute_opened_on": "Litige ouvert le",
    "paid": "Déjà réglé", "paid_on": "Date règlement",
}  # fmt: skip

# Headers seen in French exports (Sage, EBP, Cegid, Pennylane, Excel by hand), normalized; one column each.
_FRENCH_HEADERS: dict[str, tuple[str, ...]] = {
    "number": ("n facture", "no facture", "num facture", "numero facture", "numero de facture", "n de facture",
               "facture", "ref facture", "reference facture", "piece", "n piece", "numero piece"),
    "issue_date": ("date facture", "date de facture", "date de la facture", "date emission", "date d emission",
                   "date piece", "date"),
    "due_date": ("date d echeance", "date echeance", "echeance", "date limite de paiement", "date de paiement prevue"),
    "debtor_id": ("code client", "n client", "no client", "numero client", "compte client", "id client",
                  "reference client", "compte tiers", "code tiers"),
    "debtor_name": ("client", "raison sociale", "nom client", "nom du client", "societe", "tiers", "nom"),
    "debtor_email": ("email", "e mail", "mail", "courriel", "adresse email", "adresse e mail", "email client",
                     "email comptabilite", "adresse mail"),
    "debtor_siren": ("siren", "n siren", "numero siren"),
    "debtor_siret": ("siret", "n siret", "numero siret"),
    "debtor_vat": ("tva intracommunautaire", "n tva intracommunautaire", "numero tva", "n tva", "tva intracom",
                   "numero de tva intracommunautaire", "vat number"),
    "debtor_address": ("adresse", "adresse client", "adresse de facturation"),
    "debtor_country": ("pays", "code pays"),
    "debtor_language": ("langue",),
    "debtor_segment": ("segment", "categorie client", "famille client"),
    "insured": ("assure", "client assure", "assurance credit"),
    "credit_limit": ("encours autorise", "limite de credit", "plafond", "encours maximum"),
    "amount_excl_tax": ("montant ht", "total ht", "ht", "montant hors taxes"),
    "amount_incl_tax": ("montant ttc", "total ttc", "ttc", "net a payer", "montant toutes taxes comprises"),
    "currency": ("devise", "monnaie"),
    "policy": ("politique", "politique de relance", "policy id"),
    "purchase_order": ("bon de commande", "n commande", "numero de commande", "commande", "ref commande"),
    "delivery_proof": ("bon de livraison", "n bl", "preuve de livraison", "bl"),
    "last_reminder": ("derniere relance", "niveau de relance", "relance"),
    "last_reminder_on": ("date derniere relance", "date de derniere relance", "derniere relance le",
                         "date relance"),
    "notice_sent_on": ("mise en demeure", "mise en demeure le", "date mise en demeure", "date de mise en demeure",
                       "mise en demeure envoyee le"),
    "court_filed_on": ("requete deposee le", "date requete", "requete injonction", "injonction deposee le",
                       "date depot requete", "requete en injonction de payer"),
    "order_issued_on": ("ordonnance rendue le", "date ordonnance", "ordonnance"),
    "order_served_on": ("ordonnance signifiee le", "date signification", "signification"),
    "insurer_filed_on": ("menace de sinistre", "menace de sinistre le", "declaration assureur",
                         "declaration assureur le", "date declaration assureur", "dms"),
    "dispute_reason": ("litige", "motif litige", "motif du litige"),
    "dispute_opened_on": ("litige ouvert le", "date litige", "date du litige"),
    "paid": ("deja regle", "montant regle", "reglements recus", "deja paye", "montant paye", "acomptes"),
    "paid_on": ("date reglement", "date de reglement", "regle le", "date dernier reglement"),
}
_KNOWN = {name.replace("_", " "): name for name in COLUMNS} | {
    header: column for column, headers in _FRENCH_HEADERS.items() for header in headers
}
assert not set(_FRENCH_HEADERS) - set(COLUMNS), "a French header names a column that does not exist"


def normalize(header: str) -> str:
    """'N° Facture' -> 'n facture'; "Date d’échéance" -> 'date d echeance'; 'debtor_email' -> 'debtor email'."""
    decomposed = unicodedata.normalize("NFKD", header)
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", without_accents.lower()).split())


def column_of(header: str) -> str | None:
    """The column a header names, in English (our names) or French (as exports write it); None if unknown."""
    return _KNOWN.get(normalize(header))


def french_name(column: str) -> str:
    return FRENCH_NAMES.get(column, column)
