"""`relance bank` against the real dev server: a statement imported records the sure payments on their cases,
queues the doubtful ones, records nothing twice, and ops settle or ignore what waits."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

from tests import clock
from tests.bank.writers import Line, camt053, cfonb120
from tests.service.conftest import eventually, relance
from tests.service.test_cli import _rows, ledger


async def test_a_statement_records_sure_payments_queues_doubtful_ones_and_nothing_twice(service, tmp_path):
    tag = str(100000 + uuid.uuid4().int % 900000)  # digits only: letters would cut the invoice numbers' digit runs
    today = clock.dev_server_today()
    issued, due = today.strftime("%d/%m/%Y"), (today + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    invoices = [(f"BK{tag}-0001", f"A{tag}", f"Alpha {tag} SAS", "1 200,00"),
                (f"BK{tag}-0002", f"B{tag}", f"Bravo {tag} SARL", "800,00"),
                (f"BK{tag}-0003", f"B{tag}", f"Bravo {tag} SARL", "450,00"),
                (f"BK{tag}-0004", f"C{tag}", f"Charlie {tag}", "990,00")]
    rows = [f"{n};{issued};{due};{d};{name};ap@{d.lower()}.example;{amount};non" for n, d, name, amount in invoices]
    assert (await relance(service, "import", str(ledger(tmp_path, rows)))).returncode == 0
    await eventually(lambda: _count_prefix(service, f"BK{tag}", 4))

    lines = [
        Line(f"R{tag}1", Decimal("1200.00"), booked=today, name=f"ALPHA {tag}", iban="FR7630004000031234567890143",
             text=f"FACTURE BK{tag} 1"),  # written without its leading zeros
        Line(f"R{tag}2", Decimal("1250.00"), booked=today, name=f"Bravo {tag}", text=f"FACT BK{tag}-0002 ET 0003"),
        Line(f"R{tag}3", Decimal("500.00"), booked=today, name=f"Charlie {tag}", text="VIREMENT"),
        Line(f"R{tag}4", Decimal("75.00"), booked=today, name="Inconnu SA", text="REMBOURSEMENT"),
        Line(f"R{tag}5", Decimal("9.90"), credit=False, booked=today, code=("PMNT", "CCRD", "CHRG"), text="FRAIS"),
    ]
    statement = tmp_path / "releve.xml"
    statement.write_text(camt053(lines, day=today))

    first = await relance(service, "bank", "import", str(statement), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["read"] == 5 and report["already"] == 0 and report["ignored"] == {"fee": 1}
    assert {m["entry"]: m["invoices"] for m in report["matched"]} == {
        f"R{tag}1": {f"BK{tag}-0001": "1200.00"},
        f"R{tag}2": {f"BK{tag}-0002": "800.00", f"BK{tag}-0003": "450.00"}}
    assert sorted(u["entry"] for u in report["unmatched"]) == [f"R{tag}3", f"R{tag}4"]

    paid = json.loads((await relance(service, "status", f"BK{tag}-0002", "--json")).stdout)
    assert paid["stage"] == "closed" and paid["closed_reason"] == "paid"
    payment = next(a for a in paid["audit"] if a["kind"] == "payment")
    assert f"R{tag}2" in payment["refs"] and today.strftime("%d/%m/%Y") in payment["summary"]

    again = await relance(service, "bank", "import", str(statement))
    assert again.returncode == 0 and "5 déjà importée(s)" in again.stdout and "0 crédit(s) rapproché(s)" in again.stdout
    overlapping = tmp_path / "releve.txt"
    overlapping.write_text(cfonb120([Line(f"R{tag}4", Decimal("75.00"), booked=today, name="Inconnu SA")], day=today))
    assert "1 écriture(s) lue(s)" in (await relance(service, "bank", "import", str(overlapping))).stdout

    waiting = json.loads((await relance(service, "bank", "unmatched", "--json")).stdout)
    mine = {w["ref"]: w for w in waiting if w["ref"].startswith(f"R{tag}")}
    assert mine[f"R{tag}3"]["candidates"] == [f"BK{tag}-0004"] and "client identifié" in mine[f"R{tag}3"]["reason"]

    settled = await relance(service, "bank", "match", f"R{tag}3", f"BK{tag}-0004")
    assert settled.returncode == 0 and f"BK{tag}-0004: 500,00\u00a0€ enregistré" in settled.stdout, settled.stdout
    assert json.loads((await relance(service, "status", f"BK{tag}-0004", "--json")).stdout)["paid_total"] == "500.00"
    twice = await relance(service, "bank", "match", f"R{tag}3", f"BK{tag}-0004")
    assert twice.returncode == 1 and "déjà traitée" in twice.stderr

    ignored = await relance(service, "bank", "ignore", f"R{tag}4", "--reason", "remboursement fournisseur")
    assert ignored.returncode == 0
    left = {w["ref"] for w in json.loads((await relance(service, "bank", "unmatched", "--json")).stdout)}
    assert not {f"R{tag}3", f"R{tag}4"} & left

    cashed = (tmp_path / "einvoicing" / "statuses-out.csv").read_text(encoding="utf-8").splitlines()
    assert f"BK{tag}-0002;212;Encaissée;800.00;{today.isoformat()};R{tag}2" in cashed
    assert sum(f"BK{tag}-" in row for row in cashed) == 4, "one row per invoice paid, none written twice"

    returns = tmp_path / "retours.txt"  # Bravo's transfer returned, Charlie's cheque unpaid
    returns.write_text(cfonb120([
        Line(f"T{tag}1", Decimal("1250.00"), credit=False, booked=today, name=f"Bravo {tag}", text="RETOUR VIR",
             return_reason="AC", cfonb_code="06"),
        Line(f"T{tag}2", Decimal("500.00"), credit=False, booked=today, name=f"Charlie {tag}", text="CHQ IMPAYE",
             return_reason="NP", cfonb_code="01")], day=today))
    back = json.loads((await relance(service, "bank", "import", str(returns), "--json")).stdout)
    taken = {r["original"]: r["invoices"] for r in back["returns"]}
    assert taken == {f"R{tag}2": {f"BK{tag}-0002": "dossier rouvert, paiement annulé",
                                  f"BK{tag}-0003": "dossier rouvert, paiement annulé"},
                     f"R{tag}3": {f"BK{tag}-0004": "paiement annulé, le dossier reprend"}}, back
    why = {f"BK{tag}-0002": "(AC, compte du client (clôturé, bloqué ou erroné))", f"BK{tag}-0004": "(NP, impayé"}
    for number in (f"BK{tag}-0002", f"BK{tag}-0004"):
        status = json.loads((await relance(service, "status", number, "--json")).stdout)
        assert status["stage"] == "preventive" and status["paid_total"] == "0.00", status
        assert any(a["step"].startswith("payment:reversed:") and why[number] in a["summary"] for a in status["audit"])
        await eventually(lambda: _told(service, number))
    again = json.loads((await relance(service, "bank", "import", str(returns), "--json")).stdout)
    assert again["already"] == 2 and again["returns"] == []


async def _told(service, number):
    status = json.loads((await relance(service, "status", number, "--json")).stdout)
    return any(t["key"].startswith("bank:returned:") for t in status["tasks"])


async def test_the_platforms_statuses_dispute_and_stop_the_chasing(service, tmp_path):
    tag = str(100000 + uuid.uuid4().int % 900000)
    today = clock.dev_server_today()
    issued, due = today.strftime("%d/%m/%Y"), (today + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    rows = [f"PF{tag}-{n};{issued};{due};P{tag};Papa {tag};ap@p.example;100,00;non" for n in (1, 2)]
    assert (await relance(service, "import", str(ledger(tmp_path, rows)))).returncode == 0
    await eventually(lambda: _count_prefix(service, f"PF{tag}", 2))
    statuses = tmp_path / "statuts.csv"
    statuses.write_text(f"invoice;status;date;comment\nPF{tag}-1;207;{today};Prix contesté\nPF{tag}-2;225;{today};\n"
                        f"PF{tag}-1;212;{today};\n", encoding="utf-8")
    done = await relance(service, "einvoicing", "read", str(statuses))
    assert done.returncode == 0, done.stderr
    assert "2 statut(s) traité(s), 1 sans effet" in done.stdout
    first = json.loads((await relance(service, "status", f"PF{tag}-1", "--json")).stdout)
    assert first["paused"] and "Prix contesté" in first["dispute"]["reason"]
    second = json.loads((await relance(service, "status", f"PF{tag}-2", "--json")).stdout)
    assert second["stage"] == "closed" and second["closed_reason"] == "factored"
    again = await relance(service, "einvoicing", "read", str(statuses))
    assert f"PF{tag}-1: statut 207 déjà enregistré" in again.stdout


async def _count_prefix(service, prefix, n):
    rows = [r for r in await _rows(relance(service, "list", "--json")) if r["invoice"].startswith(prefix)]
    return len(rows) == n
