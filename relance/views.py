"""How cases read in a terminal: French amounts and dates, one line per action."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.case import Action, CaseStatus
from domain.debtor_account import AGING_LABELS, DebtorAccount
from domain.money import format_date_fr, format_eur

PARIS = ZoneInfo("Europe/Paris")

STAGE_LABELS = {
    "preventive": "relance préventive", "amicable": "relance amiable", "negotiation": "négociation",
    "formal_notice": "mise en demeure", "injonction": "injonction de payer", "small_claims": "petites créances",
    "insurer_claim": "assureur-crédit", "insolvency": "procédure collective", "closed": "clos",
}


def paris_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(PARIS).date()


def when(moment: dt.datetime) -> str:
    local = moment.astimezone(PARIS)
    return f"{format_date_fr(local.date())} {local:%H:%M}"


def action_line(action: Action) -> str:
    by = f" — par {action.by}" if action.by else ""
    return f"  {when(action.at)}  {action.kind:<10} {action.summary}{by}  [{action.rule_id} · {action.policy_ref}]"


def status_text(status: CaseStatus, *, audit: bool = True) -> str:
    lines = [
        f"Facture {status.invoice_number} — {status.debtor}",
        f"  Étape        : {STAGE_LABELS.get(status.stage, status.stage)}"
        + (f" ({status.closed_reason})" if status.closed_reason else "")
        + ("  [EN PAUSE: litige]" if status.paused else ""),
        f"  Politique    : {status.policy_ref}",
        f"  Principal dû : {format_eur(status.principal_due)}   Pénalités : {format_eur(status.penalties_due)}"
        f"   Indemnité : {format_eur(status.indemnity_due)}   Total : {format_eur(status.total_due)}",
        f"  Encaissé     : {format_eur(status.paid_total)}"
        + (f"   Trop-perçu : {format_eur(status.overpaid)}" if status.overpaid else "")
        + (f"   Abandonné : {format_eur(status.written_off)}" if status.written_off else "")
        + (f"   (au {format_date_fr(status.as_of)})" if status.as_of else ""),
    ]
    for paid in status.allocations:
        label = {"payment": "Règlement", "credit_note": "Avoir", "write_off": "Abandon"}[paid.kind]
        lines.append(f"    {label} du {format_date_fr(paid.on)} : {format_eur(paid.amount)} (pénalités"
                     f" {format_eur(paid.to_penalties)}, indemnité {format_eur(paid.to_indemnity)}, principal"
                     f" {format_eur(paid.to_principal)})")
    if status.insolvency:
        i = status.insolvency
        lines.append(f"  Procédure    : {i.kind}, jugement d'ouverture du {format_date_fr(i.judgment_on)}"
                     + (f", BODACC du {format_date_fr(i.published_on)}" if i.published_on else ", publication BODACC à enregistrer"))
    if status.failure:
        f = status.failure
        lines.append(f"  ÉCHEC        : étape {f.step} depuis le {when(f.since)}: {f.error}"
                     + (f" — corriger puis `relance retry {status.invoice_number}`" if f.waiting_for_retry
                        else " — nouvelles tentatives en cours"))
    if status.dispute:
        lines.append(f"  Litige       : {status.dispute.reason} (revue le {format_date_fr(status.dispute.review_by)})")
    hold = getattr(status, "hold", None)
    if hold is not None and (status.as_of is None or hold.until > status.as_of):
        lines.append(f"  Retenue      : relances suspendues jusqu'au {format_date_fr(hold.until)}, crédit bancaire probable"
                     f" du client de {format_eur(hold.amount)} (écriture {hold.entry}) à rapprocher")
    if status.plan:
        parts = ", ".join(f"{format_date_fr(i.due_date)} {format_eur(i.amount)}" for i in status.plan.instalments)
        lines.append(f"  Échéancier   : {parts}" + (f"  [échéance {status.plan.missed} impayée]" if status.plan.missed else ""))
    if status.path:
        lines.append(f"  Voie         : {status.path} (règle {status.path_rule})"
                     + (f", indemnité attendue {format_eur(status.expected_indemnity)}" if status.expected_indemnity is not None else ""))
    if status.next_action:
        nxt = status.next_action
        lines.append(f"  Prochaine    : {nxt.label} le {when(nxt.at)} (règle {nxt.rule_id})")
    elif status.stage != "closed":
        lines.append("  Prochaine    : rien de programmé, en attente d'une action du recouvrement")
    if audit:
        lines.append("  Historique   :")
        lines.extend(action_line(a) for a in status.audit)
    return "\n".join(lines)


def list_line(row: dict) -> str:
    nxt = when(row["next_action_at"]) if row.get("next_action_at") else "—"
    paused = " pause" if row.get("paused") else ""
    return (f"{row['invoice']:<16} {row.get('debtor') or '':<12} {STAGE_LABELS.get(row.get('stage'), row.get('stage') or ''):<20}"
            f" {format_eur(Decimal(str(row['amount_due']))) if row.get('amount_due') is not None else '':>14}  {nxt}{paused}")


# ---------------------------------------------------------------- customer accounts


def _limit_text(acc: DebtorAccount) -> str:
    if acc.credit_limit is None:
        return "aucune (débiteur non garanti)" if not acc.insured else "non renseignée"
    agreed = f" (agrément du {format_date_fr(acc.credit_limit_on)})" if acc.credit_limit_on else " (date de l'agrément inconnue)"
    gap = acc.exposure_excl_tax - acc.credit_limit
    state = f"DÉPASSÉE de {format_eur(gap)}" if acc.over_limit else f"disponible {format_eur(-gap)}"
    return f"{format_eur(acc.credit_limit)}{agreed}, encours HT {format_eur(acc.exposure_excl_tax)}: {state}"


def _late(days: int) -> str:
    return f"{days} j" if days > 0 else ("échue ce jour" if days == 0 else f"dans {-days} j")


def debtor_text(acc: DebtorAccount, skipped: list[str] = ()) -> str:
    lines = [
        f"Client {acc.debtor_id} — {acc.name}  (au {format_date_fr(acc.as_of)})",
        f"  Encours          : {format_eur(acc.exposure)} TTC, dont échu {format_eur(acc.overdue)}"
        f" ({len(acc.invoices)} facture(s) ouverte(s))",
        f"  Pénalités et indemnités : {format_eur(acc.penalties_due)}   Total dû : {format_eur(acc.total_due)}",
        f"  Crédits non imputés : {format_eur(acc.unapplied)}   Solde net : {format_eur(acc.net_balance)}",
        f"  Limite de crédit : {_limit_text(acc)}",
        "  Balance âgée     : " + " · ".join(f"{AGING_LABELS[b]} {format_eur(v)}" for b, v in acc.aging.items()),
    ]
    lines.extend(f"  À SURVEILLER     : {alert.text}" for alert in acc.alerts)
    nxt = acc.next_contact
    lines.append(f"  Prochain contact : {nxt.label} le {when(nxt.at)} — facture {nxt.invoice}, règle {nxt.rule_id}"
                 f" ({nxt.policy_ref})" if nxt else "  Prochain contact : rien de programmé")
    if acc.invoices:
        lines.append(f"  {'Facture':<16} {'Échéance':<10} {'Retard':>10} {'Principal':>14} {'Pénalités':>12}  Étape")
        for i in acc.invoices:
            lines.append(f"  {i.number:<16} {format_date_fr(i.due_date):<10} {_late(i.days_late):>10}"
                         f" {format_eur(i.principal_due):>14} {format_eur(i.penalties_due + i.indemnity_due):>12}"
                         f"  {STAGE_LABELS.get(i.stage, i.stage)}" + ("  [litige]" if i.disputed else "")
                         + ("  [non couverte]" if i.not_covered else ""))
    if acc.credits:
        lines.append("  Avoirs et règlements non imputés :")
        for c in acc.credits:
            label = "Avoir" if c.kind == "credit_note" else "Règlement"
            lines.append(f"    {label} du {format_date_fr(c.on)} sur {c.invoice} : {format_eur(c.amount)}"
                         + (f", dont {format_eur(c.unapplied)} non imputé" if c.unapplied else ""))
    lines.extend(f"  (hors compte: {why})" for why in skipped)
    return "\n".join(lines)


def debtor_json(acc: DebtorAccount) -> dict:
    return {**acc.model_dump(mode="json"), "net_balance": str(acc.net_balance), "over_limit": acc.over_limit}


def debtors_header() -> str:
    return (f"{'Client':<14} {'Nom':<28} {'Fact.':>5} {'Encours':>14} {'Échu':>14} {'Retard max':>10}"
            f" {'Limite':>14}  Prochain contact")


def debtors_line(acc: DebtorAccount) -> str:
    limit = format_eur(acc.credit_limit) if acc.credit_limit is not None else "—"
    nxt = f"{when(acc.next_contact.at)} ({acc.next_contact.invoice})" if acc.next_contact else "—"
    oldest = _late(acc.oldest_days_late) if acc.oldest_days_late is not None else "—"
    return (f"{acc.debtor_id:<14} {acc.name[:28]:<28} {len(acc.invoices):>5} {format_eur(acc.exposure):>14}"
            f" {format_eur(acc.overdue):>14} {oldest:>10} {limit:>14}" + (" DÉPASSÉE" if acc.over_limit else "")
            + f"  {nxt}" + "".join(f"\n{'':<14} ! {alert.text}" for alert in acc.alerts if alert.kind != "over_limit"))
