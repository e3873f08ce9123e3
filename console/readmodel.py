"""The console's read model: one row per case, its open tasks and its payments, in SQLite.

Visibility answers "which cases" but not "how much is 61-90 days late" or "what came in this month" over tens of
thousands of cases: those need each case's status. The read model keeps the part of each status the pages
aggregate. It is fed by the cases: after each action the console sends, the case it touched is read again, and
a refresher compares the search attributes every case publishes (stage, amount due, pause, next action) with the
row and reads again the cases that moved. `rebuild` reads every case from Temporal afresh (the file can be
deleted at any time). Nothing here is the truth: the case page always queries the case itself.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus

from domain.case import CaseStatus
from domain.debtor_account import claim_filed_on, excl_tax
from domain.invoice import Invoice, invoice_number_of
from relance import cases, views
from workflows import visibility
from workflows.invoice_case import InvoiceCase

TABLES = ("cases", "invoices", "tasks", "payments", "settlements")
SCHEMA_VERSION = 6  # a file of another version is emptied and rebuilt from Temporal
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    invoice TEXT PRIMARY KEY, debtor_id TEXT NOT NULL, debtor_name TEXT NOT NULL, siren TEXT NOT NULL,
    credit_limit TEXT, insured INTEGER NOT NULL, stage TEXT NOT NULL, paused INTEGER NOT NULL,
    issue_date TEXT NOT NULL, due_date TEXT NOT NULL, amount INTEGER NOT NULL, principal_due INTEGER NOT NULL,
    total_due INTEGER NOT NULL, next_label TEXT, next_at TEXT, next_rule TEXT, review_by TEXT, failure TEXT,
    closed_reason TEXT, policy_ref TEXT NOT NULL, path TEXT, signature TEXT NOT NULL, read_at TEXT NOT NULL,
    principal_excl_tax INTEGER NOT NULL, credit_limit_on TEXT, claim_on TEXT, closed_on TEXT);
CREATE TABLE IF NOT EXISTS invoices (invoice TEXT PRIMARY KEY, json TEXT NOT NULL);  -- apart: keeps case rows small
CREATE INDEX IF NOT EXISTS cases_debtor ON cases (debtor_id);
CREATE INDEX IF NOT EXISTS cases_stage ON cases (stage);
CREATE TABLE IF NOT EXISTS tasks (
    invoice TEXT NOT NULL, key TEXT NOT NULL, due TEXT NOT NULL, text TEXT NOT NULL, rule_id TEXT NOT NULL,
    kind TEXT NOT NULL, debtor_id TEXT NOT NULL, debtor_name TEXT NOT NULL, PRIMARY KEY (invoice, key));
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (due);
CREATE TABLE IF NOT EXISTS payments (invoice TEXT NOT NULL, on_day TEXT NOT NULL, amount INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS payments_day ON payments (on_day);
-- What brought the principal down, and when (payments, credit notes, write-offs): the DSO of past month ends.
CREATE TABLE IF NOT EXISTS settlements (invoice TEXT NOT NULL, on_day TEXT NOT NULL, principal INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS settlements_invoice ON settlements (invoice, on_day);
"""


def signature(stage, amount_due, paused, next_action_at) -> str:
    """What a case publishes to visibility, as one string: a row whose signature differs is read again."""
    return json.dumps([str(stage), round(float(amount_due or 0), 2), bool(paused),
                       next_action_at.isoformat() if next_action_at else None])


def closed_day(status: CaseStatus) -> dt.date | None:
    """The day a closed case stopped being a receivable: its last closing line (a case reopened closes again)."""
    if str(status.stage) != "closed":
        return None
    closings = [a.at for a in status.audit if a.kind == "close"]
    return views.paris_date(max(closings)) if closings else None


def task_kind(key: str) -> str:
    """What a task asks of ops, from the key the case gave it (domain/decisions.py names them)."""
    if key.endswith(":call"):
        return "call"
    if key.endswith(":post") or key == "notice:lrar":
        return "letter"
    if key.startswith("failed:"):
        return "failure"
    if key.startswith(("dispute", "review")):
        return "dispute"
    if key.startswith(("injonction", "small_claims", "insurer", "declaration", "escalate")):
        return "deadline"
    return "task"


@dataclasses.dataclass(frozen=True)
class RefreshReport:
    seen: int
    read: int
    failed: list[str]


class ReadModel:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # a cache rebuilt from Temporal: no fsync per case
        if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # rebuilt, never migrated
            self.db.executescript("".join(f"DROP TABLE IF EXISTS {table};" for table in TABLES))
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.db.executescript(_SCHEMA)
        self.db.row_factory = sqlite3.Row
        self.refreshed_at: dt.datetime | None = None
        self._writing = threading.Lock()

    # ------------------------------------------------------------------ writing

    def put(self, status: CaseStatus, now: dt.datetime) -> None:
        """One case's row, its open tasks and its payments, replaced in one transaction."""
        invoice = status.invoice
        if invoice is None:  # a worker from before statuses carried the invoice: nothing to aggregate on
            return
        nxt = status.next_action
        row = (status.invoice_number, invoice.debtor.debtor_id, invoice.debtor.name, invoice.debtor.siren,
               str(invoice.debtor.credit_limit) if invoice.debtor.credit_limit is not None else None,
               int(invoice.debtor.insured), str(status.stage), int(status.paused), invoice.issue_date.isoformat(),
               invoice.due_date.isoformat(), cents(invoice.amount_incl_tax), cents(status.principal_due),
               cents(status.total_due), nxt.label if nxt else None, nxt.at.isoformat() if nxt else None,
               nxt.rule_id if nxt else None, status.dispute.review_by.isoformat() if status.dispute else None,
               json.dumps({"step": status.failure.step, "error": status.failure.error,
                           "waiting": status.failure.waiting_for_retry}) if status.failure else None,
               status.closed_reason, status.policy_ref, status.path,
               signature(status.stage, status.principal_due if str(status.stage) != "closed" else 0, status.paused,
                         nxt.at if nxt else None), now.isoformat(),
               cents(excl_tax(status)), invoice.debtor.credit_limit_on.isoformat() if invoice.debtor.credit_limit_on else None,
               claim_on.isoformat() if (claim_on := claim_filed_on(status)) else None,
               closed_on.isoformat() if (closed_on := closed_day(status)) else None)
        number = status.invoice_number
        with self._writing, self.db:  # one writer at a time: pages write from worker threads, the refresher from the loop
            self.db.execute("BEGIN")
            self.db.execute(f"INSERT OR REPLACE INTO cases VALUES ({', '.join('?' * len(row))})", row)
            self.db.execute("INSERT OR REPLACE INTO invoices VALUES (?, ?)", (number, invoice.model_dump_json()))
            self.db.execute("DELETE FROM tasks WHERE invoice = ?", (number,))
            if str(status.stage) != "closed":  # a closed case's tasks are nobody's work any more
                debtor = invoice.debtor
                self.db.executemany("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
                    (number, t.key, t.due.isoformat(), t.text, t.rule_id, task_kind(t.key), debtor.debtor_id,
                     debtor.name) for t in status.tasks])
            self.db.execute("DELETE FROM payments WHERE invoice = ?", (number,))
            self.db.executemany("INSERT INTO payments VALUES (?, ?, ?)", [
                (number, a.on.isoformat(), cents(a.amount)) for a in status.allocations if a.kind == "payment"])
            self.db.execute("DELETE FROM settlements WHERE invoice = ?", (number,))
            self.db.executemany("INSERT INTO settlements VALUES (?, ?, ?)", [
                (number, a.on.isoformat(), cents(a.to_principal)) for a in status.allocations if a.to_principal])

    def open_invoices(self, policy_id: str | None = None) -> list[Invoice]:
        """The open book as imported (the rules preview plays it), of one policy or all."""
        rows = self.db.execute("SELECT json FROM invoices JOIN cases USING (invoice) WHERE stage != 'closed'"
                               " ORDER BY invoice")
        invoices = [Invoice.model_validate_json(row[0]) for row in rows]
        return [i for i in invoices if policy_id is None or i.policy_id == policy_id]

    def signatures(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT invoice, signature FROM cases"))

    # ------------------------------------------------------------------ feeding it from Temporal

    async def read_cases(self, client: Client, numbers: Iterable[str], today: dt.date, now: dt.datetime,
                         concurrency: int = 20) -> list[str]:
        """Query each case (a closed one answers with its result) and store it; the numbers that failed."""
        gate, failed = asyncio.Semaphore(concurrency), []

        async def one(number: str) -> None:
            async with gate:
                try:
                    handle = cases.handle(client, number)
                    description = await handle.describe()
                    if description.status == WorkflowExecutionStatus.RUNNING:
                        status = await handle.query(InvoiceCase.status, today)
                    elif description.status == WorkflowExecutionStatus.COMPLETED:
                        status = await handle.result()
                    else:  # terminated, failed: no status to read; the row goes
                        with self._writing, self.db:
                            for table in TABLES:
                                self.db.execute(f"DELETE FROM {table} WHERE invoice = ?", (number,))
                        return
                    self.put(status, now)
                except Exception:  # one case that cannot answer must not stop the others; it is reported
                    failed.append(number)

        await asyncio.gather(*(one(n) for n in numbers))
        return sorted(failed)

    async def refresh(self, client: Client, task_queue: str, today: dt.date, now: dt.datetime, *,
                      rebuild: bool = False, closed_since: dt.datetime | None = None) -> RefreshReport:
        """Read again the running cases of `task_queue` whose published attributes differ from their row (all of
        them on `rebuild`), and the cases closed since `closed_since` (this month's on a rebuild)."""
        known = {} if rebuild else self.signatures()
        stale, seen = [], 0
        ours = f"WorkflowType = 'InvoiceCase' AND TaskQueue = {visibility.literal(task_queue)}"
        async for execution in client.list_workflows(f"{ours} AND ExecutionStatus = 'Running'"):
            seen += 1
            found = execution.typed_search_attributes
            number = invoice_number_of(execution.id)
            if known.get(number) != signature(found.get(visibility.STAGE), found.get(visibility.AMOUNT_DUE),
                                              found.get(visibility.PAUSED), found.get(visibility.NEXT_ACTION_AT)):
                stale.append(number)
        since = closed_since or (dt.datetime.combine(today.replace(day=1), dt.time(), tzinfo=dt.timezone.utc)
                                 if rebuild else self.refreshed_at)
        if since is not None:
            query = f"{ours} AND ExecutionStatus != 'Running' AND CloseTime > '{since.isoformat()}'"
            async for execution in client.list_workflows(query):
                seen += 1
                stale.append(invoice_number_of(execution.id))
        if rebuild:
            with self._writing, self.db:
                self.db.execute("BEGIN")
                for table in TABLES:
                    self.db.execute(f"DELETE FROM {table}")
        failed = await self.read_cases(client, dict.fromkeys(stale), today, now)
        self.refreshed_at = now
        return RefreshReport(seen=seen, read=len(set(stale)), failed=failed)

    # ------------------------------------------------------------------ reading

    def attach_marks(self, store_path: Path) -> None:
        """The worklist's marks live in the console's store (they are not rebuilt): read beside the cases."""
        self.db.execute("ATTACH DATABASE ? AS store", (str(store_path),))

    def rows(self, sql: str, *params) -> list[sqlite3.Row]:
        return self.db.execute(sql, params).fetchall()

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM cases").fetchone()[0]


def cents(amount: Decimal) -> int:
    """Amounts are kept in integer cents: SQLite sums them exactly."""
    return int(amount.quantize(Decimal("0.01")) * 100)


def euros(count: int | None) -> Decimal:
    return Decimal(count or 0) / 100
