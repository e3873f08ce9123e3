"""One chaos scenario against real processes: open N overdue cases (one message each), inject faults while they
send, then count the messages per X-Relance-Key at the SMTP sink and the emails each case recorded."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from activities.sent_ledger import HOST, open_ledger
from chaos.processes import DevServer, Process, Sink, Worker
from domain.invoice import Debtor, Invoice, case_workflow_id
from relance import cases
from relance.config import ROOT, TemporalSettings
from relance.temporal import connect
from workflows.invoice_case import InvoiceCase

EVENTS = {"activity.attempt_failed": "failed attempts", "email.unconfirmed_resent": "unconfirmed resent",
          "email.confirmed_too_late": "confirmed too late", "email.lease_lost": "leases lost"}
RECOVERY_LIMIT = 60.0  # seconds: delivery must resume within this after a fault ends (the SMTP server back)
ANSWER_AFTER = 3.0  # seconds a message is held before ops (the harness) look for it in the relay's log


@dataclasses.dataclass
class Result:
    name: str
    expected: int
    received: int = 0
    duplicates: int = 0
    window_duplicates: int = 0  # of which: a worker died between the server's acceptance and the ledger's record
    missing: int = 0
    lost: int = 0  # recorded as sent by the case, never received
    held: int = 0  # unconfirmed hand-offs held for ops (RELANCE_MAIL_UNCONFIRMED=review), answered as the task says
    held_in_mailbox: int = 0  # of which the relay had (answered "sent"; the others "resend")
    recorded: int = 0  # cases whose audit has their email
    recover_seconds: float | None = None  # last fault's end → every message received
    resume_seconds: float | None = None  # last fault's end → the first message received after it
    elapsed: float = 0.0
    events: dict[str, int] = dataclasses.field(default_factory=dict)  # from the workers' JSON logs
    window_ms: list[float] = dataclasses.field(default_factory=list)  # final dot sent → ledger commit, per message
    accepted_before_kill_ms: list[float] = dataclasses.field(default_factory=list)  # window duplicates: acceptance → kill
    # (negative: the server took the message after the worker died, its final dot already sent)
    notes: list[str] = dataclasses.field(default_factory=list)
    unconfirmed: str = "review"  # RELANCE_MAIL_UNCONFIRMED: only `resend` may send a message twice (the window)

    @property
    def ok(self) -> bool:
        allowed = self.window_duplicates if self.unconfirmed == "resend" else 0
        return (self.missing == 0 and self.duplicates == allowed and self.lost == 0 and self.recorded == self.expected
                and self.resume_seconds is not None and self.resume_seconds <= RECOVERY_LIMIT)


class Run:
    """The processes of one scenario and what it can do to them."""

    def __init__(self, name: str, cases: int, *, workers: int = 1, ledger: str = "sqlite", sink_delay: float = 0.0,
                 postgres=None, worker_settings: dict[str, str] | None = None, unconfirmed: str = "review") -> None:
        self.name, self.cases = name, cases
        self.folder = Path(tempfile.mkdtemp(prefix=f"relance-chaos-{name}-"))
        self.rules = overdue_friendly_rules(self.folder / "rules")
        self.server = DevServer(self.folder)
        self.sink = Sink(self.folder, delay=sink_delay)
        if ledger == "postgresql":
            location = postgres.new_database(f"chaos_{name}_{uuid.uuid4().hex[:6]}")
        else:
            location = str(self.folder / "sent.sqlite3")  # one file, shared by this host's workers
        self.ledger_location = location
        self._ledger = None
        task_queue = f"chaos-{name}"
        settings = {"RELANCE_MAIL_UNCONFIRMED": unconfirmed, **(worker_settings or {})}
        self.workers = [Worker(self.folder, n, self.server, self.sink, task_queue, self.rules, location, **settings)
                        for n in range(workers)]
        self.task_queue = task_queue
        self.invoices: list[Invoice] = []
        self.resent_unconfirmed: dict[str, float] = {}
        self._answered: set[str] = set()  # keys in review ops answered
        self._held_since: dict[str, float] = {}  # keys in review, since when ops have seen them
        self._to_retry: set[str] = set()  # invoices whose case ops still have to `relance retry`
        self.fault_ended = time.monotonic()
        self.received_at_fault_end = 0
        self.result = Result(name, expected=cases, unconfirmed=unconfirmed)

    # ------------------------------------------------------------------ what faults look at

    def delivered(self) -> int:
        """Invoices with at least one message at the sink."""
        return len(self._per_invoice())

    async def until_delivered(self, fraction: float = 0.0, *, more_than: int | None = None,
                              seconds: float = 300) -> None:
        """Until a share of the invoices has its message (or more than `more_than` messages overall)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if more_than is not None and sum(self.reminders().values()) > more_than:
                return
            if more_than is None and self.delivered() >= fraction * self.cases:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.name}: {self.delivered()} of {self.cases} delivered, fault never triggered")

    async def kill_worker(self, number: int, *, outside_handoff: bool = False) -> None:
        """SIGKILL. `outside_handoff`: at a moment the worker holds no hand-off (paused, its ledger rows read, resumed
        until none is `handing`), so that the kill cannot fall in the window between SMTP's acceptance and the
        ledger's record, where a resend may duplicate (README, "Exactly once")."""
        worker = self.workers[number]
        if outside_handoff:
            for _ in range(500):
                worker.pause()
                if not await asyncio.to_thread(self._handing, worker.process.pid):
                    break
                worker.resume()
                await asyncio.sleep(0.01)
        worker.kill()

    def _handing(self, pid: int) -> bool:
        mine = f"{HOST}/{pid}/"
        return any((row.owner or "").startswith(mine) for row in self._rows("handing"))

    def _rows(self, state: str):
        if self._ledger is None:
            self._ledger = open_ledger(self.ledger_location)
        return self._ledger.rows(state)

    def fault_over(self) -> None:
        self.fault_ended = time.monotonic()
        self.received_at_fault_end = sum(self.reminders().values())

    # ------------------------------------------------------------------ the run

    async def execute(self, faults: Callable[["Run"], Awaitable[None]], *, settle_seconds: float = 240) -> Result:
        started = time.monotonic()
        try:
            self.sink.start()
            self.server.start()
            for worker in self.workers:
                worker.start()
            client = await connect(TemporalSettings(address=self.server.address), wait_seconds=30)
            self.invoices = overdue_invoices(self.cases, self.name)
            report = await cases.open_cases(client, self.task_queue, self.invoices)
            if report.failed:
                raise RuntimeError(f"{self.name}: cases not opened: {report.failed[:3]}")
            self.fault_ended = time.monotonic()
            await faults(self)
            await self._settle(client, settle_seconds)
            await self._count(client)
        finally:
            if self._ledger is not None:
                self._ledger.close()
            for worker in self.workers:
                worker.stop()
            self.sink.stop()
            self.server.stop()
        self.result.elapsed = time.monotonic() - started
        self.result.events = self._events()
        self._classify_duplicates()
        if self.result.ok and not os.environ.get("CHAOS_KEEP"):
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            self.result.notes.append(f"processes' logs kept in {self.folder}")
        return self.result

    async def _settle(self, client, seconds: float) -> None:
        """Until every invoice has its message; notes when delivery resumed after the last fault. Ops answer the
        messages held for review meanwhile, once a second."""
        deadline = time.monotonic() + seconds
        answered = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() - answered >= 1.0:
                await self._answer_reviews(client)
                answered = time.monotonic()
            total = sum(self.reminders().values())
            if self.result.resume_seconds is None and (total > self.received_at_fault_end
                                                       or self.delivered() == self.cases):
                self.result.resume_seconds = time.monotonic() - self.fault_ended
            if self.delivered() == self.cases:
                self.result.recover_seconds = time.monotonic() - self.fault_ended
                return
            await asyncio.sleep(0.1)

    async def _count(self, client) -> None:
        """Once every case has recorded its email (its send_email completed), count what the sink received."""
        recorded: set[str] = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(recorded) < self.cases:
            await self._answer_reviews(client)
            for invoice in self.invoices:
                if invoice.number not in recorded and await self._recorded(client, invoice.number):
                    recorded.add(invoice.number)
            if len(recorded) < self.cases:
                await asyncio.sleep(1)
        await asyncio.sleep(1)  # a late copy from a worker resumed just now would land here
        per_invoice = self._per_invoice()
        keys = self.reminders()
        self.result.recorded = len(recorded)
        self.result.received = sum(keys.values())
        self.result.duplicates = sum(count - 1 for count in keys.values())
        self.result.missing = sum(1 for invoice in self.invoices if invoice.number not in per_invoice)
        self.result.lost = sum(1 for number in recorded if number not in per_invoice)

    async def _answer_reviews(self, client) -> None:
        """Ops' part under RELANCE_MAIL_UNCONFIRMED=review, as the case's task asks: look for the message in the
        relay's log (here the sink's record of what it accepted), answer `sent` or `resend`, then retry the case."""
        now = time.monotonic()
        for row in await asyncio.to_thread(self._rows, "review"):
            self._held_since.setdefault(row.key, now)
        # Ops read the relay's log a while after the task: a relay answering slowly writes its line once it answers.
        held = [key for key, since in self._held_since.items() if key not in self._answered and now - since >= ANSWER_AFTER]
        if held:
            in_relay = self.reminders()
            owners = self._owners()
            for key in held:
                found = in_relay.get(key, 0) > 0
                await asyncio.to_thread(self._ledger.resolve, key, found)
                self._answered.add(key)
                self.result.held += 1
                self.result.held_in_mailbox += found
                number = owners.get(key.split(":", 1)[0])
                if number is not None:
                    self._to_retry.add(number)
        for number in sorted(self._to_retry):
            try:  # refused while the case has not yet recorded the failure: again at the next round
                await client.get_workflow_handle(case_workflow_id(number)).execute_update(InvoiceCase.retry_step)
            except Exception:  # noqa: BLE001
                continue
            self._to_retry.discard(number)

    async def _recorded(self, client, number: str) -> bool:
        try:
            status = await cases.status(client, number)
        except Exception:  # the server restarting, the case not yet started
            return False
        return sum(1 for action in status.audit if action.kind == "email") >= 1

    def _classify_duplicates(self) -> None:
        """A duplicate is the window's (the default `resend` at work, README "Exactly once") when its key was
        resent after a worker SIGKILLed in the middle of its hand-off and both copies carry the same Message-ID;
        any other duplicate (a paused worker's, a live worker's) is a fault of the mailer."""
        copies: dict[str, set[str]] = {}
        counts = self.reminders()
        for line in self.sink.record.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 2:
                copies.setdefault(fields[0], set()).add(fields[1])
        accepted = self.sink.accepted_at()
        for key, count in counts.items():
            if count > 1 and key in self.resent_unconfirmed and len(copies.get(key, ())) == 1:
                self.result.window_duplicates += count - 1
                self.result.accepted_before_kill_ms.append(
                    (self.resent_unconfirmed[key] - min(accepted.get(key, [0.0]))) * 1000)

    def _events(self) -> dict[str, int]:
        """How the workers got there: failed attempts, takeovers, late confirmations."""
        counts: dict[str, int] = {}
        accepted = self.sink.accepted_at()
        for worker in self.workers:
            for line in worker.log_lines():
                if line.startswith("{"):
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    event = record.get("event", "")
                    if "handoff_ms" in record:
                        # the window a crash leaves unconfirmed: from the final dot going out (the server may commit
                        # the message as soon as its final dot arrives) to the ledger's commit
                        self.result.window_ms.append(record["handoff_ms"] + record.get("window_ms", 0))
                    previous = (record.get("previous_owner") or "").split("/")
                    if event == "email.unconfirmed_resent" and len(previous) > 1 and previous[1].isdigit() \
                            and int(previous[1]) in Process.killed:
                        # the hand-off of a worker SIGKILLed, and when it was killed
                        self.resent_unconfirmed[record.get("key")] = Process.killed[int(previous[1])]
                    if event in EVENTS:
                        counts[EVENTS[event]] = counts.get(EVENTS[event], 0) + 1
        return counts

    def reminders(self) -> dict[str, int]:
        """Messages received per key, the debtors' only: not the ops tasks' emails (`INV:task:...`), which go to
        the ops mailbox on the same relay."""
        return {key: count for key, count in self.sink.received().items() if ":task:" not in key}

    def _owners(self) -> dict[str, str]:
        """A key's first part → its invoice. A message's key starts with its invoice's number, or, sent by a
        customer's account (grouping per_debtor), with `account-<debtor id>`: each chaos invoice has a customer
        of its own."""
        owner = {invoice.number: invoice.number for invoice in self.invoices}
        return owner | {f"account-{invoice.debtor.debtor_id}": invoice.number for invoice in self.invoices}

    def _per_invoice(self) -> dict[str, int]:
        """Messages per invoice."""
        owner = self._owners()
        counts: dict[str, int] = {}
        for key, count in self.reminders().items():
            number = owner.get(key.split(":", 1)[0])
            if number is not None:
                counts[number] = counts.get(number, 0) + count
        return counts


def overdue_invoices(count: int, scenario: str) -> list[Invoice]:
    """Invoices 50 days past due: each case sends its last reminder (J+45) at once and nothing else for 10 days.

    The dev server runs on the real clock, so "overdue" is measured from the real date (chaos measures delivery,
    not dates)."""
    today = dt.datetime.now(cases.PARIS).date()
    due = today - dt.timedelta(days=50)
    run = uuid.uuid4().hex[:6]
    return [
        Invoice(
            number=f"CH-{scenario[:12]}-{run}-{n:04d}",
            debtor=Debtor(debtor_id=f"D-{n:04d}", name="Chaos & Fils SARL", email=f"ap-{n:04d}@client.example",
                          address="5 rue des Lilas, 75011 Paris"),
            issue_date=due - dt.timedelta(days=30), due_date=due, amount_incl_tax=Decimal("1200.00"),
        )
        for n in range(count)
    ]


def overdue_friendly_rules(folder: Path) -> Path:
    """The shipped rules, sending any day at any hour: a chaos run on a Sunday night still sends at once."""
    folder.mkdir(parents=True)
    for source in (ROOT / "rules").glob("*.yaml"):
        shutil.copy(source, folder / source.name)
    send_any_time(folder / "default.yaml")
    return folder


def send_any_time(policy: Path) -> None:
    """Edits a copy of the default policy: no business-day calendar, sending hour midnight, and the customer's
    account (grouping per_debtor, as shipped) sending as soon as a case asks rather than 15 real minutes later."""
    text = policy.read_text()
    edits = {"  business_days_only: true": "  business_days_only: false\n  send_hour: 0",
             "  collect_minutes: 15": "  collect_minutes: 0"}
    for old, new in edits.items():
        if old not in text:
            raise ValueError(f"{policy}: no '{old.strip()}' to change")
        text = text.replace(old, new, 1)
    policy.write_text(text)
