"""`relance sync` against the real dev server: a newer export reconciled with the running cases, idempotently."""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path

from tests import clock
from tests.service.conftest import eventually, relance

HEADER = "N° facture;Date facture;Date d'échéance;Code client;Client;Email;Montant TTC;Déjà réglé;Date règlement"


def _export(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join([HEADER, *rows, ""]).encode("cp1252"))
    return path


async def test_a_newer_export_opens_closes_credits_and_reports_then_changes_nothing(service, tmp_path):
    tag = uuid.uuid4().hex[:6]
    today = clock.dev_server_today()
    issued, due = today.strftime("%d/%m/%Y"), (today + dt.timedelta(days=30)).strftime("%d/%m/%Y")

    def row(letter: str, amount: str = "1 200,00", paid: str = ";", email: str = f"ap@{tag}.example") -> str:
        return f"S-{tag}-{letter};{issued};{due};C-{tag};Société {letter};{email};{amount};{paid}"

    first = _export(tmp_path, "v1.csv", [row("A"), row("B"), row("C", "600,00"), row("E")])
    imported = await relance(service, "import", str(first), "--json")
    assert json.loads(imported.stdout)["started"] == 4, imported.stderr

    newer = _export(tmp_path, "v2.csv", [row("A", "1 300,00"), row("B", "1 000,00", email=f"compta@{tag}.example"),
                                         row("C", "600,00", f"600,00;{issued}"), row("D")])

    async def previewed():
        result = await relance(service, "sync", str(newer), "--dry-run", "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        return report if f"S-{tag}-E" in report["vanished_invoices"] else None

    preview = await eventually(previewed)
    assert {key: preview[key] for key in ("opened", "paid", "credited", "raised", "unchanged", "contacts")} == {
        "opened": 1, "paid": 1, "credited": 1, "raised": 1, "unchanged": 0, "contacts": 1}
    still = json.loads((await relance(service, "status", f"S-{tag}-C", "--json")).stdout)
    assert still["stage"] != "closed", "a dry run changes nothing"

    done = await relance(service, "sync", str(newer), "--json")
    report = json.loads(done.stdout)
    assert (report["opened"], report["paid"], report["credited"]) == (1, 1, 1), done.stderr
    paid = json.loads((await relance(service, "status", f"S-{tag}-C", "--json")).stdout)
    assert paid["stage"] == "closed" and paid["closed_reason"] == "paid"
    credited = json.loads((await relance(service, "status", f"S-{tag}-B", "--json")).stdout)
    assert Decimal(str(credited["principal_due"])) == Decimal("1000.00")
    assert any("Avoir de 200,00" in a["summary"] for a in credited["audit"])
    assert credited["invoice"]["debtor"]["email"] == f"compta@{tag}.example", "the ERP's corrected email"
    assert any(a["kind"] == "contact" and f"compta@{tag}.example" in a["summary"] and a["by"] == "relance sync"
               for a in credited["audit"])

    raised = json.loads((await relance(service, "status", f"S-{tag}-A", "--json")).stdout)
    assert [t["key"] for t in raised["tasks"]] == ["sync:raised:1300.00"], "not applied: a task for ops"
    assert Decimal(str(raised["principal_due"])) == Decimal("1200.00")
    assert "facture rectificative" in raised["tasks"][0]["text"]
    gone = json.loads((await relance(service, "status", f"S-{tag}-E", "--json")).stdout)
    assert [t["key"] for t in gone["tasks"]] == ["sync:vanished"] and gone["stage"] != "closed"

    again = json.loads((await relance(service, "sync", str(newer), "--json")).stdout)
    assert (again["opened"], again["paid"], again["credited"], again["unchanged"], again["contacts"]) == (0, 0, 0, 3, 0), \
        "the same export twice: nothing more"
    for number in ("A", "E"):
        status = json.loads((await relance(service, "status", f"S-{tag}-{number}", "--json")).stdout)
        assert len(status["tasks"]) == 1, "one task per finding, however many syncs see it"

    shown = await relance(service, "sync", str(newer), "--dry-run")
    assert "dossier(s) en cours absent(s) de l'export" in shown.stdout and f"S-{tag}-E" in shown.stdout


async def test_the_daily_schedule_syncs_the_newest_export_of_the_drop_folder(service, tmp_path, monkeypatch):
    from temporalio.client import Client

    tag = uuid.uuid4().hex[:6]
    drop = tmp_path / "drop"
    drop.mkdir()
    monkeypatch.setenv("RELANCE_SYNC_DIR", str(drop))  # the worker's environment: this process runs the worker
    today = clock.dev_server_today()
    issued, due = today.strftime("%d/%m/%Y"), (today + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    old = _export(drop, "export-1.csv", [f"Q-{tag}-OLD;{issued};{due};C-{tag};Ancien;a@{tag}.example;100,00;;"])
    newest = _export(drop, "export-2.csv", [f"Q-{tag}-NEW;{issued};{due};C-{tag};Nouveau;n@{tag}.example;100,00;;"])
    os.utime(old, (1, 1))  # dropped long before

    schedule_id = f"sync-{tag}"
    created = await relance(service, "sync", "--schedule", "--hour", "5", "--schedule-id", schedule_id, "--run-now")
    assert created.returncode == 0 and "créée" in created.stdout, created.stderr
    client = await Client.connect(service["TEMPORAL_ADDRESS"])
    handle = client.get_schedule_handle(schedule_id)
    try:
        described = await handle.describe()
        assert described.schedule.spec.time_zone_name == "Europe/Paris"

        async def ran():
            status = await relance(service, "status", f"Q-{tag}-NEW", "--json")
            return status.returncode == 0

        assert await eventually(ran, seconds=40), "the run started the newest export's case"
        assert (await relance(service, "status", f"Q-{tag}-OLD")).returncode == 1, "not the older export"
        again = await relance(service, "sync", "--schedule", "--hour", "7", "--schedule-id", schedule_id)
        assert "mise à jour" in again.stdout
    finally:
        await handle.delete()


async def test_an_export_with_a_rejected_row_tells_no_case_it_vanished(service, tmp_path):
    """The rejected row's invoice would read as gone from the accounting: no task for anyone this time."""
    tag = uuid.uuid4().hex[:6]
    today = clock.dev_server_today()
    issued, due = today.strftime("%d/%m/%Y"), (today + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    good = f"R-{tag}-A;{issued};{due};C-{tag};Société A;ap@{tag}.example;1 200,00;;"
    imported = await relance(service, "import", str(_export(tmp_path, "v1.csv", [
        good, f"R-{tag}-B;{issued};{due};C-{tag};Société B;ap@{tag}.example;800,00;;"])), "--json")
    assert json.loads(imported.stdout)["started"] == 2, imported.stderr
    broken = _export(tmp_path, "v2.csv", [good, f"R-{tag}-B;{issued};pas une date;C-{tag};Société B;ap@{tag}.example;800,00;;"])

    async def synced():
        result = await relance(service, "sync", str(broken), "--json")
        report = json.loads(result.stdout)
        return report if f"R-{tag}-B" in report["vanished_invoices"] else None

    report = await eventually(synced)
    assert "rejetée" in report["vanished_not_told"] and report["rejected_rows"] == 1
    status = json.loads((await relance(service, "status", f"R-{tag}-B", "--json")).stdout)
    assert status["tasks"] == [], "no 'gone from the export' task for an invoice whose row was only rejected"


async def test_a_sync_leaves_a_credit_note_and_a_contact_ops_recorded_in_relance(service, tmp_path):
    """The accounts have not booked yet the credit note a dispute ended with, nor the address ops corrected: the
    next export, with the invoice as it was, raises nothing and undoes nothing."""
    tag = uuid.uuid4().hex[:6]
    today = clock.dev_server_today()
    issued, due = today.strftime("%d/%m/%Y"), (today + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    rows = [f"K-{tag}-{n};{issued};{due};C-{tag}-{n};Société {n};ap@{tag}-{n}.example;3 000,00;;" for n in (1, 2)]
    export = _export(tmp_path, "v1.csv", rows)
    assert (await relance(service, "import", str(export))).returncode == 0
    credited = await relance(service, "dispute", f"K-{tag}-1", "--reason", "prix")
    assert credited.returncode == 0, credited.stderr
    assert (await relance(service, "resolve", f"K-{tag}-1", "--credit", "500")).returncode == 0
    contact = await relance(service, "contact", f"C-{tag}-2", "--email", f"compta@{tag}-2.example")
    assert contact.returncode == 0, contact.stdout + contact.stderr

    done = json.loads((await relance(service, "sync", str(export), "--json")).stdout)
    assert (done["raised"], done["credited"], done["contacts"]) == (0, 0, 0), done
    first = json.loads((await relance(service, "status", f"K-{tag}-1", "--json")).stdout)
    assert not first["tasks"] and Decimal(str(first["principal_due"])) == Decimal("2500.00")
    second = json.loads((await relance(service, "status", f"K-{tag}-2", "--json")).stdout)
    assert second["invoice"]["debtor"]["email"] == f"compta@{tag}-2.example", "ops' correction stands"
