"""The FEC (article A47 A-1 LPF) as accounting programs write it: open customer items become invoices."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from domain.rule_file import load_policy_file
from relance.ledger import LedgerFileError, read_ledger
from relance.rules_cli import mapping_of

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(ROOT / "rules" / "default.yaml")
COLUMNS = ("JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\t"
           "PieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise")
# A sales journal (VT) and a bank journal (BQ), as Sage or EBP export them: tab-separated, YYYYMMDD, "1200,00".
LINES = [
    # FA-101: open, 1 200,00 TTC for 1 000,00 HT.
    "VT\tVentes\tVT000101\t20260115\t41100000\tClients\tC001\tBoulangerie Martin\tFA-101\t20260115\tFacture FA-101\t1200,00\t0,00\t\t\t20260116\t\t",
    "VT\tVentes\tVT000101\t20260115\t70600000\tPrestations\t\t\tFA-101\t20260115\tFacture FA-101\t0,00\t1000,00\t\t\t20260116\t\t",
    "VT\tVentes\tVT000101\t20260115\t44571000\tTVA collectée\t\t\tFA-101\t20260115\tFacture FA-101\t0,00\t200,00\t\t\t20260116\t\t",
    # FA-102: lettered AA with its payment: paid, not imported.
    "VT\tVentes\tVT000102\t20260120\t41100000\tClients\tC002\tMenuiserie Girard\tFA-102\t20260120\tFacture FA-102\t600,00\t0,00\tAA\t20260301\t20260121\t\t",
    "VT\tVentes\tVT000102\t20260120\t70600000\tPrestations\t\t\tFA-102\t20260120\tFacture FA-102\t0,00\t500,00\t\t\t20260121\t\t",
    "VT\tVentes\tVT000102\t20260120\t44571000\tTVA collectée\t\t\tFA-102\t20260120\tFacture FA-102\t0,00\t100,00\t\t\t20260121\t\t",
    "BQ\tBanque\tBQ000007\t20260301\t51200000\tBanque\t\t\tVIR-7\t20260301\tVirement Girard\t600,00\t0,00\t\t\t20260302\t\t",
    "BQ\tBanque\tBQ000007\t20260301\t41100000\tClients\tC002\tMenuiserie Girard\tVIR-7\t20260301\tVirement Girard\t0,00\t600,00\tAA\t20260301\t20260302\t\t",
    # FA-103: open, a customer with no email in the customers file.
    "VT\tVentes\tVT000103\t20260201\t41100000\tClients\tC003\tTransports Lefèvre\tFA-103\t20260201\tFacture FA-103\t3540,00\t0,00\t\t\t20260202\t\t",
    "VT\tVentes\tVT000103\t20260201\t70600000\tPrestations\t\t\tFA-103\t20260201\tFacture FA-103\t0,00\t2950,00\t\t\t20260202\t\t",
    "VT\tVentes\tVT000103\t20260201\t44571000\tTVA collectée\t\t\tFA-103\t20260201\tFacture FA-103\t0,00\t590,00\t\t\t20260202\t\t",
    # A transfer from C001 not lettered yet: said, not imported.
    "BQ\tBanque\tBQ000009\t20260310\t51200000\tBanque\t\t\tVIR-9\t20260310\tVirement Martin\t200,00\t0,00\t\t\t20260311\t\t",
    "BQ\tBanque\tBQ000009\t20260310\t41100000\tClients\tC001\tBoulangerie Martin\tVIR-9\t20260310\tVirement Martin\t0,00\t200,00\t\t\t20260311\t\t",
]
CUSTOMERS = ("Code client;Raison sociale;Email;SIREN;Adresse\r\n"
             "C001;Boulangeries Martin SARL;compta@martin.example;539749960;8 place Bellecour, 69002 Lyon\r\n"
             "C002;Menuiserie Girard SAS;compta@girard.example;682935044;12 quai de la Fosse, 44000 Nantes\r\n")


def _fec(tmp_path: Path, lines=LINES, columns: str = COLUMNS, separator: str = "\t") -> Path:
    path = tmp_path / "539749960FEC20261231.txt"
    text = "\r\n".join([columns, *lines, ""]).replace("\t", separator)
    path.write_bytes(text.encode("cp1252"))  # what most programs write; UTF-8 reads the same
    return path


def _mapping(tmp_path: Path, extra: str = "payment_terms_days: 30\n") -> object:
    (tmp_path / "clients.csv").write_bytes(CUSTOMERS.encode("cp1252"))
    (tmp_path / "fec.yaml").write_text(f"customers: clients.csv\n{extra}", encoding="utf-8")
    return mapping_of(str(tmp_path / "fec.yaml"))


@pytest.mark.parametrize("separator", ["\t", "|"])
def test_open_customer_lines_not_lettered_become_invoices(tmp_path, separator):
    rows, errors = read_ledger(_fec(tmp_path, separator=separator), mapping=_mapping(tmp_path))
    assert [row.invoice.number for row in rows] == ["FA-101", "FA-102"], "FA-103 has no email"
    assert rows[0].prior is None, "open: not lettered"
    assert (rows[1].prior.paid, rows[1].prior.paid_on) == (Decimal("600.00"), dt.date(2026, 3, 1)), \
        "lettered AA with its transfer: paid on its DateLet"
    invoice = rows[0].invoice
    assert (invoice.amount_incl_tax, invoice.amount_excl_tax) == (Decimal("1200.00"), Decimal("1000.00"))
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2026, 1, 15), dt.date(2026, 2, 14))
    assert (invoice.debtor.debtor_id, invoice.debtor.email, invoice.debtor.siren) == (
        "C001", "compta@martin.example", "539749960")
    said = [(e.row, e.field, e.severity) for e in errors]
    assert said == [(10, "debtor_email", "error"), (14, "", "warning")]
    assert str(errors[0]).startswith("ligne 10, « Email (fichier clients) » : valeur absente")
    assert "crédit non lettré de 200.00 sur C001 (VIR-9)" in errors[1].message_fr


def test_the_due_date_comes_from_echeance_date_else_the_policys_terms(tmp_path):
    columns = COLUMNS + "\tEcheanceDate"
    lines = [line + ("\t20260331" if "\t411" in line and "FA-101" in line else "\t") for line in LINES]
    rows, _ = read_ledger(_fec(tmp_path, lines, columns), mapping=_mapping(tmp_path, ""))
    assert rows[0].invoice.due_date == dt.date(2026, 3, 31)
    rows, _ = read_ledger(_fec(tmp_path), mapping=_mapping(tmp_path, ""), policies={"default": POLICY})
    assert rows[0].invoice.due_date == dt.date(2026, 1, 15) + dt.timedelta(days=POLICY.max_payment_terms_days)


def test_a_fec_without_its_columns_is_refused_whole(tmp_path):
    columns = COLUMNS.replace("\tEcritureLet", "")
    lines = ["\t".join(line.split("\t")[:13] + line.split("\t")[14:]) for line in LINES]
    with pytest.raises(LedgerFileError, match="FEC incomplet : colonne.s. absente.s. EcritureLet"):
        read_ledger(_fec(tmp_path, lines, columns), mapping=_mapping(tmp_path))
