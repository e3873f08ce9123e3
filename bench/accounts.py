"""Emails and history events per customer, grouped (`per_debtor`) against one conversation per invoice.

    python -m bench.accounts [--invoices 50] [--days 3]

One customer with N invoices falling due together, played on the time-skipping server through the ladder's first
steps (J-10, J-3, J+2 with --days 3); messages are written as files. Prints the emails the customer received and the
history events of every workflow (cases, and the account under per_debtor), and writes bench/results-accounts.json.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import shutil
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from domain.grouping import account_workflow_id
from domain.invoice import Debtor, Invoice
from relance.config import ROOT, from_env
from relance.payloads import DATA_CONVERTER
from relance.simulation import quiet_runtime
from relance.temporal import time_skipping_server
from relance.cases import case_start
from worker import build_activities, build_worker
from workflows.invoice_case import InvoiceCase
from workflows.visibility import register_search_attributes

PARIS = ZoneInfo("Europe/Paris")
RESULTS = Path(__file__).resolve().parent / "results-accounts.json"


async def play(grouping: str, invoices: int, until_due_plus: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"bench-accounts-{grouping}-"))
    rules = work / "rules"
    shutil.copytree(ROOT / "rules", rules)
    default = rules / "default.yaml"
    default.write_text(default.read_text(encoding="utf-8").replace(
        "\ngrouping: per_debtor", f"\ngrouping: {grouping}", 1), encoding="utf-8")
    config = dataclasses.replace(from_env(), rules_dir=rules, var_dir=work, documents_dir=work / "documents",
                                 sent_ledger=work / "sent.sqlite3", mail_transport="file")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server(), data_converter=DATA_CONVERTER, runtime=quiet_runtime())
    began = time.monotonic()
    try:
        await register_search_attributes(env.client)
        today = (await env.get_current_time()).astimezone(PARIS).date()
        due = today + dt.timedelta(days=12)
        debtor = Debtor(debtor_id="C-BENCH", name="Client SARL", email="ap@client.example", address="1 rue A, 75001 Paris")
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        activities = build_activities(config)
        async with build_worker(env.client, task_queue, activities):
            handles = []
            for n in range(invoices):
                invoice = Invoice(number=f"B-{n:04d}", debtor=debtor, issue_date=due - dt.timedelta(days=30),
                                  due_date=due, amount_incl_tax=Decimal("1200.00"))
                handles.append(await env.client.start_workflow(
                    InvoiceCase.run, case_start(invoice), id=invoice.workflow_id, task_queue=task_queue))
            day = today
            while day < due + dt.timedelta(days=until_due_plus):  # a day at a time (the test server's RPC timeout)
                day += dt.timedelta(days=1)
                target = dt.datetime.combine(day, dt.time(12), tzinfo=PARIS)
                await env.sleep(target - await env.get_current_time())
            ids = [h.id for h in handles] + ([account_workflow_id(debtor.debtor_id)] if grouping == "per_debtor" else [])
            events = {}
            for workflow_id in ids:
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                events[workflow_id] = len(history.events)
            for handle in handles:
                await handle.terminate("bench over")
        await activities.mailer.close()
    finally:
        await env.shutdown()
    emails = [p for p in (work / "outbox").glob("*.eml") if "task" not in p.name]
    shutil.rmtree(work, ignore_errors=True)
    total = sum(events.values())
    return {"grouping": grouping, "invoices": invoices, "steps": until_due_plus, "emails_to_customer": len(emails),
            "history_events_total": total, "history_events_per_invoice": round(total / invoices, 1),
            "account_history_events": events.get(account_workflow_id("C-BENCH"), 0),
            "seconds": round(time.monotonic() - began, 1)}


async def main(invoices: int, until_due_plus: int) -> None:
    rows = [await play(grouping, invoices, until_due_plus) for grouping in ("per_invoice", "per_debtor")]
    print(f"{'grouping':<12} {'invoices':>8} {'emails':>7} {'events':>7} {'ev/inv':>7} {'account':>8} {'seconds':>8}")
    for r in rows:
        print(f"{r['grouping']:<12} {r['invoices']:>8} {r['emails_to_customer']:>7} {r['history_events_total']:>7}"
              f" {r['history_events_per_invoice']:>7} {r['account_history_events']:>8} {r['seconds']:>8}")
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=50)
    parser.add_argument("--days", type=int, default=3, help="play until the due date plus this many days")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.invoices, arguments.days))
