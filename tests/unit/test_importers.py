"""French files as they come: Windows-1252 or UTF-8, ';' or ',', French headers, a mapping for other exports,
identifiers checked, payment terms warned, and each bad row counted once."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from domain.rule_file import load_policy_file
from importers.columns import column_of
from relance.go_live import dry_run_text, planned_starts
from relance.ledger import LedgerFileError, LedgerReader, read_ledger, rejected_rows
from relance.rules_cli import mapping_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
POLICY = load_policy_file(ROOT / "rules" / "default.yaml")
FRENCH_HEADER = ("N° facture;Date facture;Date d'échéance;Code client;Raison sociale;Email;SIREN;Adresse;"
                 "Montant HT;Montant TTC;Devise")


def _excel(tmp_path: Path, *rows: str, header: str = FRENCH_HEADER) -> Path:
    """As French Excel saves "CSV (séparateur: point-virgule)": Windows-1252, CRLF, no BOM."""
    path = tmp_path / "export.csv"
    path.write_bytes("\r\n".join((header, *rows, "")).encode("cp1252"))
    return path


def _row(number: str = "FA-1", issued: str = "15/01/2026", due: str = "14/03/2026", siren: str = "539749960",
         excl: str = "1\xa0028,80", incl: str = "1\xa0234,56", email: str = "compta@eclairage.example") -> str:
    return (f'{number};{issued};{due};CLI-0041;Société Générale d\'Éclairage;{email};{siren};'
            f'"12, rue de l\'Été; bât. B, 69002 Lyon";{excl};{incl};EUR')


def test_a_windows_1252_export_with_french_headers_is_read_without_configuration(tmp_path):
    rows, errors = read_ledger(_excel(tmp_path, _row()))
    assert errors == []
    invoice = rows[0].invoice
    assert invoice.debtor.name == "Société Générale d'Éclairage"
    assert invoice.debtor.address == "12, rue de l'Été; bât. B, 69002 Lyon"
    assert (invoice.amount_excl_tax, invoice.amount_incl_tax) == (Decimal("1028.80"), Decimal("1234.56"))
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2026, 1, 15), dt.date(2026, 3, 14))
    assert invoice.debtor.siren == "539749960"


def test_the_sample_french_book_plans_each_stage_without_a_burst():
    """examples/balance_clients.csv, as the README walks through it: `relance import --dry-run` on 1 December."""
    path = EXAMPLES / "balance_clients.csv"
    assert path.read_bytes()[:3] != b"\xef\xbb\xbf" and b"\r\n" in path.read_bytes(), "Windows-1252 from Excel"
    today, now = dt.date(2026, 12, 1), dt.datetime(2026, 12, 1, 7, tzinfo=dt.timezone.utc)
    reader = LedgerReader(path, policies={"default": POLICY}, today=today)
    plans = {plan.start.invoice.number: plan for plan in planned_starts(reader, {"default": POLICY}, now)}
    assert reader.rejected == 0 and [(e.row, e.severity) for e in reader.errors] == [(10, "warning")]
    assert {number: (plan.stage, plan.first) for number, plan in plans.items()} == {
        "FA-2026-0301": ("preventive", "Relance preventive-j-3"),
        "FA-2026-0302": ("amicable", "Relance amicable-j+30"),
        "FA-2026-0303": ("amicable", "Relance amicable-j+45"),
        "FA-2026-0304": ("formal_notice", "Escalade"),
        "FA-2026-0305": ("injonction", "Signifier l'ordonnance"),
        "FA-2026-0306": ("insurer_claim", "Indemnisation attendue"),
        "FA-2026-0307": ("amicable", "Revue du litige"),
        "FA-2026-0308": ("amicable", "Relance amicable-j+45"),
        "FA-2026-0309": ("preventive", "Relance preventive-j-10"),
    }
    assert plans["FA-2026-0304"].overdue_since == dt.date(2026, 8, 31) and plans["FA-2026-0304"].on == today
    assert plans["FA-2026-0308"].start.prior.paid == Decimal("500.00")
    text = dry_run_text(plans.values(), today)
    assert "01/12/2026 : 5 facture(s)" in text
    assert "FA-2026-0304         mise en demeure        Escalade (échue le 31/08/2026 : dès l'ouverture)" in text


def test_utf8_with_bom_commas_iso_dates_and_dotted_amounts(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("\ufeffNuméro de facture,Date de facture,Échéance,N° client,Client,Courriel,Total TTC\n"
                    "F-7,2026-01-15,2026-02-14,C-7,Émile SARL,e@emile.example,\"1,234.56\"\n", encoding="utf-8")
    rows, errors = read_ledger(path)
    assert errors == [] and rows[0].invoice.amount_incl_tax == Decimal("1234.56")
    assert rows[0].invoice.debtor.name == "Émile SARL"


@pytest.mark.parametrize("cell", ["14.03.2026", "14-03-2026", "2026-03-14"])
def test_french_dates_with_dots_or_dashes(tmp_path, cell):
    rows, errors = read_ledger(_excel(tmp_path, _row(due=cell)))
    assert errors == [] and rows[0].invoice.due_date == dt.date(2026, 3, 14)


@pytest.mark.parametrize(("header", "column"), [
    ("N° Facture", "number"), ("DATE D'ECHEANCE", "due_date"), ("Date d’échéance", "due_date"),
    ("Raison sociale", "debtor_name"), ("E-mail", "debtor_email"), ("Montant TTC", "amount_incl_tax"),
    ("N° TVA intracommunautaire", "debtor_vat"), ("debtor_email", "debtor_email"), ("Couleur", None),
])
def test_headers_are_recognized_whatever_their_accents_and_capitals(header, column):
    assert column_of(header) == column


def test_eight_bad_rows_are_eight_rejected_rows_named_as_the_file_names_them(tmp_path):
    bad = [_row("FA-2", due=""), _row("FA-3", incl="-5,00", excl="-4,00"), _row("FA-4", email="pas-un-email"),
           _row("FA-5", due="31/02/2026", incl="abc"), _row("FA-6", siren="539749961"), _row("FA-1"),
           _row("FA-7", issued="2026/01/15", due="xx"), _row("FA-8", excl="2 000,00")]
    path = _excel(tmp_path, _row(), *bad, header=FRENCH_HEADER + ";Commentaire")
    reader = LedgerReader(path)
    rows = list(reader)
    assert [row.invoice.number for row in rows] == ["FA-1"]
    assert len(reader.errors) > 9, "several rows have more than one bad cell, and there is a warning"
    assert reader.rejected == rejected_rows(reader.errors) == 8
    said = [str(error) for error in reader.errors]
    assert said[0] == "ligne 1, « Commentaire » : colonne inconnue, ignorée / row 1, Commentaire: unknown column, ignored"
    assert ("ligne 3, « Date d'échéance » : valeur absente / row 3, due_date: missing") in said
    assert any(s.startswith("ligne 5, « Email » : adresse e-mail invalide") for s in said)
    assert any(s.startswith("ligne 7, « SIREN » : '539749961' n'est pas un numéro SIREN valide") for s in said)
    assert any(s.startswith("ligne 8, « N° facture » : doublon de la ligne 2") for s in said)
    assert any(s.startswith("ligne 10 : le montant HT dépasse le montant TTC") or
               s.startswith("ligne 10, « Montant HT » : le montant HT dépasse le montant TTC") for s in said)


def test_a_siret_or_a_vat_number_gives_the_siren_and_must_agree_with_it(tmp_path):
    header = FRENCH_HEADER + ";SIRET;N° TVA intracommunautaire"
    rows, errors = read_ledger(_excel(tmp_path, _row(siren="") + ";732 829 320 00074;", _row("FA-2", siren="") +
                                      ";;FR40303265045", _row("FA-3") + ";;FR40303265045", header=header))
    assert [row.invoice.debtor.siren for row in rows] == ["732829320", "303265045"]
    assert [(e.row, e.field) for e in errors] == [(4, "debtor_vat")]
    assert "ne correspond pas au SIREN 539749960" in errors[0].message_fr


def test_payment_terms_beyond_the_policy_are_warned_and_the_row_imported(tmp_path):
    path = _excel(tmp_path, _row(issued="01/01/2026", due="15/06/2026"), _row("FA-2"))
    rows, errors = read_ledger(path, policies={"default": POLICY})
    assert len(rows) == 2 and rejected_rows(errors) == 0
    assert [(e.row, e.field, e.severity) for e in errors] == [(2, "due_date", "warning")]
    assert str(errors[0]).startswith("ligne 2, « Date d'échéance » : délai de paiement de 165 jours, au-delà des 60")


def test_a_mapping_reads_an_export_with_other_headers(tmp_path):
    mapping = tmp_path / "erp.yaml"
    mapping.write_text('columns:\n  number: "Réf. pièce"\n  due_date: "Echéance prévue"\n  debtor_id: "Tiers"\n'
                       'delimiter: "|"\nencoding: windows-1252\ndefaults:\n  policy: grands_comptes\n', encoding="utf-8")
    path = _excel(tmp_path, "F-1|15/01/2026|14/03/2026|C-1|Gamma SA|g@gamma.example|1 234,56",
                  header="Réf. pièce|Date facture|Echéance prévue|Tiers|Client|Email|Montant TTC")
    rows, errors = read_ledger(path, mapping=mapping_of(str(mapping)))
    assert errors == [] and rows[0].invoice.number == "F-1" and rows[0].invoice.policy_id == "grands_comptes"
    assert rows[0].invoice.due_date == dt.date(2026, 3, 14)


def test_a_bad_mapping_names_its_line_and_nothing_is_read(tmp_path):
    mapping = tmp_path / "erp.yaml"
    mapping.write_text("columns:\n  number: A\n  colour: B\n", encoding="utf-8")
    with pytest.raises(LedgerFileError, match=r"erp.yaml:1: columns: unknown column\(s\) colour"):
        mapping_of(str(mapping))


def test_a_file_missing_a_required_column_says_which_in_french(tmp_path):
    path = _excel(tmp_path, "FA-1;15/01/2026;CLI-1;Alpha;a@alpha.example;100,00",
                  header="N° facture;Date facture;Code client;Client;Email;Montant TTC")
    with pytest.raises(LedgerFileError, match="colonne.s. obligatoire.s. absente.s. de l'en-tête : Date d'échéance"):
        LedgerReader(path)


HISTORY_HEADER = (FRENCH_HEADER + ";Dernière relance;Date dernière relance;Mise en demeure le;Requête déposée le;"
                  "Ordonnance rendue le;Ordonnance signifiée le;Litige;Litige ouvert le;Déjà réglé;Date règlement")


def test_history_columns_give_each_row_its_past_checked_against_its_policy(tmp_path):
    path = _excel(tmp_path,
                  _row("FA-1") + ";amicable-j+2;20/03/2026;;;;;;;;",
                  _row("FA-2") + ";;;01/05/2026;15/05/2026;10/06/2026;;;;200,00;02/04/2026",
                  _row("FA-3") + ";;;;;;;Livraison incomplète;20/03/2026;;",
                  _row("FA-4") + ";j+99;20/03/2026;;;;;;;;",
                  _row("FA-5") + ";;;;;;01/07/2026;;;;",
                  _row("FA-6") + ";;;;;;;;;;01/04/2026",
                  header=HISTORY_HEADER)
    rows, errors = read_ledger(path, policies={"default": POLICY}, today=dt.date(2026, 7, 1))
    priors = {row.invoice.number: row.prior for row in rows}
    assert priors["FA-1"].last_reminder == "amicable-j+2" and priors["FA-1"].last_reminder_on == dt.date(2026, 3, 20)
    assert (priors["FA-2"].notice_sent_on, priors["FA-2"].order_issued_on, priors["FA-2"].paid) == (
        dt.date(2026, 5, 1), dt.date(2026, 6, 10), Decimal("200.00"))
    assert priors["FA-3"].dispute_reason == "Livraison incomplète"
    said = {error.row: str(error) for error in errors}
    assert sorted(said) == [5, 6, 7]
    assert said[5].startswith("ligne 5, « Dernière relance » : relance 'j+99' inconnue de la politique default")
    assert said[6].startswith("ligne 6, « Ordonnance signifiée le » : order_served_on suppose order_issued_on")
    assert "paid et paid_on vont ensemble" in said[7]
