"""Why a bank took a payment back, in the words ops act on: ISO 20022 return reason codes (ExternalReturnReason1Code,
camt.053 `RtrInf/Rsn/Cd`) and the two-letter rejection codes of a CFONB 120 statement, which banks fill with the
first letters of the same ISO codes."""
from __future__ import annotations

# The codes banks use for returned credit transfers, direct debits and cheques (EPC guidance, ISO 20022 external
# code list); any other is shown as the bank gave it.
ISO = {
    "AC01": "numéro de compte incorrect",
    "AC04": "compte clôturé",
    "AC06": "compte bloqué",
    "AC13": "compte d'un consommateur, prélèvement interentreprises impossible",
    "AG01": "opération interdite sur ce compte",
    "AG02": "code opération invalide",
    "AM04": "provision insuffisante",
    "AM05": "paiement en double",
    "BE05": "créancier inconnu de la banque",
    "CNOR": "banque du créancier non joignable",
    "DNOR": "banque du débiteur non joignable",
    "DUPL": "paiement en double",
    "FF01": "format invalide",
    "FOCR": "rappelé à la demande du donneur d'ordre",
    "FRAD": "fraude présumée",
    "MD01": "pas de mandat de prélèvement",
    "MD02": "mandat incomplet",
    "MD06": "remboursement demandé par le client (prélèvement contesté)",
    "MD07": "titulaire du compte décédé",
    "MS02": "refus du client, motif non communiqué",
    "MS03": "motif non précisé par la banque",
    "RC01": "code banque (BIC) incorrect",
    "RR01": "identification du débiteur manquante (motif réglementaire)",
    "RR02": "nom ou adresse du débiteur manquant (motif réglementaire)",
    "RR03": "nom ou adresse du créancier manquant (motif réglementaire)",
    "RR04": "motif réglementaire",
    "SL01": "service spécifique de la banque du débiteur",
    "TECH": "incident technique",
}
# CFONB 120's two letters: the families of the ISO codes above.
CFONB = {"AC": "compte du client (clôturé, bloqué ou erroné)", "AM": "montant (provision insuffisante ou doublon)",
         "MD": "mandat ou contestation du client", "MS": "refus du client ou motif non communiqué",
         "RR": "motif réglementaire", "AG": "opération refusée sur ce compte", "NP": "impayé, motif non précisé"}


def describe(code: str) -> str:
    """`AM04, provision insuffisante`; a code not listed stays as the bank gave it; nothing for no code."""
    code = code.strip().upper()
    label = ISO.get(code) or CFONB.get(code)
    return f"{code}, {label}" if label else code
