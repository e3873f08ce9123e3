"""The CLI against the real Temporal dev server: import, visibility listing, status, ops messages."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from pathlib import Path

from domain.rule_file import load_policy_file
from relance.config import ROOT
from tests import clock
from tests.service.conftest import RELANCE, eventually, relance

HEADER = "number;issue_date;due_date;debtor_id;debtor_name;debtor_email;amount_incl_tax;insured\n"


def ledger(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "invoices.csv"
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


async def test_import_list_status_and_ops_messages(service, tmp_path):
    tag = uuid.uuid4().hex[:6]
    due = (clock.dev_server_today() + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    issued = clock.dev_server_today().strftime("%d/%m/%Y")
    good = [f"CLI-{tag}-{n};{issued};{due};DEB-{tag};Client {n} SAS;ap{n}@client.example;1 234,56;non" for n in (1, 2)]
    bad = [f"CLI-{tag}-3;{issued};;DEB-{tag};Sans Échéance;ap3@client.example;100,00;non",
           f"CLI-{tag}-4;{issued};{due};DEB-{tag};Négatif;ap4@client.example;-5,00;non",
           f"CLI-{tag}-5;{issued};{due};DEB-{tag};Mauvais Mail;pas-un-email;abc;non"]  # two bad cells, one row
    file = ledger(tmp_path, [good[0], bad[0], bad[1], good[1], bad[2]])

    first = await relance(service, "import", str(file))
    assert first.returncode == 1, "rows were rejected: the exit status says so"
    assert "2 dossier(s) lancé(s)" in first.stdout and "3 ligne(s) rejetée(s)" in first.stdout, first.stdout
    assert "row 3, due_date" in first.stderr and "row 4, amount_incl_tax" in first.stderr
    assert "row 6, debtor_email" in first.stderr

    again = await relance(service, "import", str(file), "--json")
    report = json.loads(again.stdout)
    assert report["started"] == 0 and report["already_open"] == 2, "importing twice starts nothing new"

    listed = await eventually(lambda: _rows(relance(service, "list", "--debtor", f"DEB-{tag}", "--json")), )
    assert sorted(r["invoice"] for r in listed) == [f"CLI-{tag}-1", f"CLI-{tag}-2"]
    assert {r["stage"] for r in listed} == {"preventive"} and all(r["next_action_at"] for r in listed)
    assert all(r["amount_due"] == 1234.56 for r in listed)

    shown = await relance(service, "status", f"CLI-{tag}-1", "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    shipped = load_policy_file(ROOT / "rules" / "default.yaml").ref
    assert status["policy_ref"] == shipped and status["next_action"]["step"] == "reminder:preventive-j-10"
    assert status["audit"][0]["kind"] == "open"
    text = (await relance(service, "status", f"CLI-{tag}-1")).stdout
    assert "1\u202f234,56\u00a0€" in text, "French amounts"

    negative = await relance(service, "pay", f"CLI-{tag}-1", "-5")
    assert negative.returncode == 1 and "hors bornes" in negative.stderr  # refused before Temporal is reached
    dollars = await relance(service, "pay", f"CLI-{tag}-1", "10", "--currency", "USD")
    assert dollars.returncode == 1 and "règlement en USD, ce dossier est tenu en EUR" in dollars.stderr
    too_many = await relance(service, "plan", f"CLI-{tag}-1", "--instalments", "99")
    assert too_many.returncode == 1 and "échéancier refusé : 99 échéances, la politique en permet au plus" \
        in too_many.stderr, too_many.stderr

    paid = await relance(service, "pay", f"CLI-{tag}-2", "1 234,56")
    assert paid.returncode == 0 and "dossier clos" in paid.stdout

    disputed = await relance(service, "dispute", f"CLI-{tag}-1", "--reason", "Livraison incomplète")
    assert disputed.returncode == 0 and "EN PAUSE" in disputed.stdout
    paused = await eventually(lambda: _rows(relance(service, "list", "--paused", "--debtor", f"DEB-{tag}", "--json")))
    assert [r["invoice"] for r in paused] == [f"CLI-{tag}-1"]

    missing = await relance(service, "status", "NO-SUCH-INVOICE")
    assert missing.returncode == 1 and "aucun dossier pour la facture NO-SUCH-INVOICE" in missing.stderr


async def _rows(pending):
    result = await pending
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["rows"]


def test_rules_check_names_file_line_and_field(tmp_path, rules_dir):
    broken = tmp_path / "broken.yaml"
    text = (rules_dir / "default.yaml").read_text().replace("  deadline_days: 8", "  deadline_days: huit")
    broken.write_text(text)
    result = subprocess.run([RELANCE, "rules", "check", str(rules_dir / "default.yaml"), str(broken)],
                            capture_output=True, text=True, timeout=60)
    line = text.splitlines().index("  deadline_days: huit") + 1
    assert result.returncode == 1
    assert f"{broken}:{line}: formal_notice.deadline_days" in result.stderr
    assert "default.yaml: ok" in result.stdout


async def _two_debtors(service, tmp_path, prefix: str, told: str, other: str) -> str:
    """Invoices 1 and 2 of debtor `told`, 3 of `other`, open and listed; their tag."""
    tag = uuid.uuid4().hex[:6]
    due = (clock.dev_server_today() + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    issued = clock.dev_server_today().strftime("%d/%m/%Y")
    rows = [f"{prefix}-{tag}-{n};{issued};{due};{debtor}-{tag};Client SAS;ap@client.example;500,00;non"
            for n, debtor in ((1, told), (2, told), (3, other))]
    assert (await relance(service, "import", str(ledger(tmp_path, rows)))).returncode == 0
    await eventually(lambda: _rows(relance(service, "list", "--debtor", f"{told}-{tag}", "--json")), )
    return tag


async def test_an_insolvency_stops_every_case_of_the_debtor_and_no_other(service, tmp_path):
    tag = await _two_debtors(service, tmp_path, "INS", "FAILED", "HEALTHY")

    judgment = clock.dev_server_today().isoformat()
    done = await relance(service, "insolvency", f"FAILED-{tag}", "--kind", "redressement", "--judgment", judgment)
    again = await relance(service, "insolvency", f"FAILED-{tag}", "--kind", "redressement", "--judgment", judgment)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"INS-{tag}-1: enregistré" in done.stdout and f"INS-{tag}-2: enregistré" in done.stdout
    assert "2 sur 2 dossier(s) en cours" in done.stdout and f"INS-{tag}-3" not in done.stdout
    assert again.returncode == 1 and "refusé : cette procédure collective est déjà enregistrée" in again.stdout, \
        "a repeat changes nothing and says so"
    stages = {n: json.loads((await relance(service, "status", f"INS-{tag}-{n}", "--json")).stdout)["stage"]
              for n in (1, 2, 3)}
    assert stages == {1: "insolvency", 2: "insolvency", 3: "preventive"}


async def test_a_debtors_corrected_address_reaches_every_case_of_it_and_no_other(service, tmp_path):
    tag = await _two_debtors(service, tmp_path, "CON", "MOVED", "STAYED")

    done = await relance(service, "contact", f"MOVED-{tag}", "--address", "9 rue Neuve, 69003 Lyon",
                         "--email", "compta@client.example")
    again = await relance(service, "contact", f"MOVED-{tag}", "--address", "9 rue Neuve, 69003 Lyon")
    nothing = await relance(service, "contact", f"MOVED-{tag}")

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"CON-{tag}-1: enregistré" in done.stdout and "2 sur 2 dossier(s) en cours" in done.stdout
    assert again.returncode == 1 and "refusé : les coordonnées du débiteur sont déjà celles-ci : rien à changer" \
        in again.stdout, "a repeat changes nothing and says so"
    assert nothing.returncode == 1 and "rien à changer" in nothing.stderr
    debtors = {n: json.loads((await relance(service, "status", f"CON-{tag}-{n}", "--json")).stdout)["invoice"]["debtor"]
               for n in (1, 2, 3)}
    assert {n: (d["address"], d["email"]) for n, d in debtors.items()} == {
        1: ("9 rue Neuve, 69003 Lyon", "compta@client.example"), 2: ("9 rue Neuve, 69003 Lyon", "compta@client.example"),
        3: ("", "ap@client.example")}
