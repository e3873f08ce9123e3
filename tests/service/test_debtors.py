"""Customer accounts on the real dev server: `relance debtor`, `relance debtors`, and the debtor's search attributes."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from tests import clock
from tests.pdf import pdf_text
from tests.service.conftest import eventually, relance

HEADER = ("number;issue_date;due_date;debtor_id;debtor_name;debtor_email;insured;credit_limit;credit_limit_date;"
          "amount_excl_tax;amount_incl_tax\n")


def _row(number: str, debtor: str, name: str, days_late: int, excl: str, incl: str, *, insured: bool,
         today: dt.date) -> str:
    due = today - dt.timedelta(days=days_late)
    issued = min(today, due - dt.timedelta(days=30))
    limit = "10 000,00;15/01/2026" if insured else ";"
    return (f"{number};{issued:%d/%m/%Y};{due:%d/%m/%Y};{debtor};{name};ap@{debtor.lower()}.example;"
            f"{'oui' if insured else 'non'};{limit};{excl};{incl}\n")


async def _json(env, *args):
    result = await relance(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.timeout(300)  # a dozen CLI processes, each listing the dev server's running cases
async def test_a_customers_account_and_the_list_of_customers(service, tmp_path: Path):
    today, tag = clock.dev_server_today(), uuid.uuid4().hex[:6]
    insured, small = f"ASS-{tag}", f"PME-{tag}"
    rows = [
        _row(f"A1-{tag}", insured, f"Assurée {tag} SAS", -20, "5 000,00", "6 000,00", insured=True, today=today),
        _row(f"A2-{tag}", insured, f"Assurée {tag} SAS", 45, "5 000,00", "6 000,00", insured=True, today=today),
        _row(f"A3-{tag}", insured, f"Assurée {tag} SAS", 70, "1 000,00", "1 200,00", insured=True, today=today),
        _row(f"B1-{tag}", small, f"Petite {tag} SARL", 10, "", "500,00", insured=False, today=today),
        _row(f"B2-{tag}", small, f"Petite {tag} SARL", -5, "", "300,00", insured=False, today=today),
    ]
    ledger = tmp_path / "accounts.csv"
    ledger.write_text(HEADER + "".join(rows), encoding="utf-8")
    imported = await relance(service, "import", str(ledger))
    assert imported.returncode == 0, imported.stderr
    day = today.isoformat()

    # A payment beyond what B1 owes closes it; the rest is money the customer has on account.
    paid = await relance(service, "pay", f"B1-{tag}", "600", "--date", day)
    assert paid.returncode == 0 and "dossier clos" in paid.stdout, paid.stdout + paid.stderr

    async def settled():
        found = await _json(service, "debtor", small, "--as-of", day)
        return found if [i["number"] for i in found["invoices"]] == [f"B2-{tag}"] else None

    account = await eventually(settled)
    assert [(c["kind"], c["invoice"]) for c in account["credits"]] == [("payment", f"B1-{tag}")]
    unapplied = Decimal(account["unapplied"])
    assert Decimal("0") < unapplied < Decimal("100.00"), "600 paid on 500 plus 10 days of penalties and 40 €"
    assert Decimal(account["net_balance"]) == Decimal("300.00") - unapplied
    assert account["over_limit"] is None and account["credit_limit"] is None

    account = await _json(service, "debtor", insured, "--as-of", day)
    assert [(i["number"], i["days_late"], i["bucket"]) for i in account["invoices"]] == [
        (f"A3-{tag}", 70, "61-90"), (f"A2-{tag}", 45, "31-60"), (f"A1-{tag}", -20, "not_due")]
    assert account["aging"] == {"not_due": "6000.00", "1-30": "0.00", "31-60": "6000.00", "61-90": "1200.00",
                                "over_90": "0.00"}
    assert (account["exposure"], account["exposure_excl_tax"], account["overdue"]) == ("13200.00", "11000.00", "7200.00")
    assert (account["credit_limit"], account["credit_limit_on"], account["over_limit"]) == ("10000.00", "2026-01-15", True)
    assert all(Decimal(i["penalties_due"]) > 0 for i in account["invoices"][:2]), "late invoices accrue penalties"
    planned = [i["next_action"] for i in account["invoices"] if i["next_action"]]
    contact = account["next_contact"]
    assert contact["at"] == min(p["at"] for p in planned) and contact["rule_id"] and contact["policy_ref"].startswith("default@v")

    statement = tmp_path / "releve.pdf"
    text = (await relance(service, "debtor", insured, "--as-of", day, "--pdf", str(statement))).stdout
    assert f"Client {insured} — Assurée {tag} SAS" in text and "13\u202f200,00\u00a0€" in text
    assert "DÉPASSÉE de 1\u202f000,00\u00a0€" in text and "agrément du 15/01/2026" in text
    assert "61 à 90 j 1\u202f200,00\u00a0€" in text
    printed = pdf_text(statement)
    assert "relevé de compte client" in printed.lower() and f"A3-{tag}" in printed and "13\u202f200,00\u00a0€" in printed

    ours = {insured, small}
    by_days = [a["debtor_id"] for a in await _json(service, "debtors", "--sort", "days", "--as-of", day)
               if a["debtor_id"] in ours]
    assert by_days == [insured, small], "oldest days late first"
    chosen = [a["debtor_id"] for a in await _json(service, "debtors", "--over-limit", "--stage", "amicable",
                                                  "--as-of", day)]
    assert insured in chosen and small not in chosen, "over its limit, with an invoice at the amicable stage"

    missing = await relance(service, "debtor", f"NOBODY-{tag}")
    assert missing.returncode == 1 and f"aucun dossier pour le client NOBODY-{tag}" in missing.stderr


async def test_the_web_ui_filters_a_customers_invoices_by_name_and_due_date(service, dev_server, tmp_path: Path):
    today, tag = clock.dev_server_today(), uuid.uuid4().hex[:6]
    rows = [_row(f"W{n}-{tag}", f"WEB-{tag}", f"Cliente {tag} & Fils", late, "", "100,00", insured=False, today=today)
            for n, late in ((1, 40), (2, 5), (3, -10))]
    rows.append(_row(f"W4-{tag}", f"OTHER-{tag}", f"Autre {tag}", 40, "8 000,00", "9 600,00", insured=True, today=today))
    ledger = tmp_path / "web.csv"
    ledger.write_text(HEADER + "".join(rows), encoding="utf-8")
    assert (await relance(service, "import", str(ledger))).returncode == 0

    client = dev_server.client

    async def ids(query: str) -> list[str]:
        return sorted([e.id async for e in client.list_workflows(query)])

    name = f"RelanceDebtorName = 'Cliente {tag} & Fils'"
    assert await eventually(lambda: ids(name)) == [f"invoice-W{n}-{tag}" for n in (1, 2, 3)]
    cutoff = (today - dt.timedelta(days=30)).isoformat() + "T00:00:00Z"
    assert await ids(f"{name} AND RelanceDueDate <= '{cutoff}'") == [f"invoice-W1-{tag}"], "over 30 days late"
    limited = await ids(f"RelanceCreditLimit >= 10000 AND RelanceDebtor = 'OTHER-{tag}'")
    assert limited == [f"invoice-W4-{tag}"]
