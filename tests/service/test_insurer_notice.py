"""A customer's threat-of-loss notice names the customer's disputed invoices it leaves out, found through the dev
server's visibility (the time-skipping server has none: the lifecycle tests' notices list none)."""
from __future__ import annotations

import dataclasses
import json
import uuid
from decimal import Decimal
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from domain.letters import AccountLine, LetterContext
from domain.rule_file import load_policy_file
from activities.contracts import ClaimRequest
from tests import clock
from tests.service.conftest import eventually, relance
from tests.service.test_debtors import HEADER, _row
from workflows import visibility


async def test_a_customers_notice_lists_its_disputed_invoices_as_left_out(service, dev_server, config, tmp_path: Path):
    today, tag = clock.dev_server_today(), uuid.uuid4().hex[:6]
    debtor = f"INS-{tag}"
    ledger = tmp_path / "insured.csv"
    ledger.write_text(HEADER + "".join(
        _row(f"N{n}-{tag}", debtor, f"Assurée {tag} SAS", 80, "1 000,00", "1 200,00", insured=True, today=today)
        for n in (1, 2, 3)), encoding="utf-8")
    assert (await relance(service, "import", str(ledger))).returncode == 0
    disputed = await relance(service, "dispute", f"N3-{tag}", "--reason", "Livraison incomplète")
    assert disputed.returncode == 0, disputed.stderr

    async def paused():
        query = visibility.running_cases(RelanceDebtor=debtor) + " AND RelancePaused = true"
        return [e.id async for e in dev_server.client.list_workflows(query)]

    assert await eventually(paused) == [f"invoice-N3-{tag}"]

    status = json.loads((await relance(service, "status", f"N1-{tag}", "--json")).stdout)
    invoice = status["invoice"]
    from domain.invoice import Invoice

    first = Invoice.model_validate(invoice)
    policy = load_policy_file(config.rules_dir / "default.yaml")
    lines = [AccountLine(number=f"N{n}-{tag}", issue_date=first.issue_date, due_date=first.due_date, days_late=80,
                         amount_incl_tax=Decimal("1200.00"), principal_due=Decimal("1200.00")) for n in (1, 2)]
    letter = LetterContext(kind="insurer_claim", language="fr", today=today, invoice=first, creditor=policy.creditor,
                           rule_id="insured-debtor", policy_ref=policy.ref, principal_due=Decimal("2400.00"),
                           recipient=policy.insurer.name, account_lines=lines, expected_indemnity=Decimal("1800.00"))
    activity = ActivityEnvironment(client=dev_server.client)
    activity.info = dataclasses.replace(activity.info, task_queue=service.task_queue)
    receipt = await activity.run(service.activities.file_insurer_claim,
                                 ClaimRequest(key=f"account-{debtor}:claim", insurer=policy.insurer, letter=letter))

    summary = json.loads(Path(receipt.documents[1]).read_text(encoding="utf-8"))
    assert [i["number"] for i in summary["invoices"]] == [f"N1-{tag}", f"N2-{tag}"]
    assert summary["left_out"] == [
        f"Facture N3-{tag} (reste dû 1\u202f200,00\u00a0€): en litige, exclue de la déclaration jusqu'à sa résolution"]
