"""Staying in step with the accounting: a newer export of the same book, reconciled with the running cases.

Idempotent: run twice on the same file, the second run changes nothing. For each invoice of the export:
- no case yet: it opens (as `relance import` does, with its history and the catch-up's daily cap), unless the
  export shows it paid (lettered in a FEC, "Déjà réglé" covering it in a CSV);
- a case, and the export shows it paid: the payment is recorded on the day the export says, and the case closes;
- a case, and the export's amount is lower (a credit note, a correction): the difference is a credit note;
- a higher amount is not applied: an issued invoice is never increased (a rectifying invoice, with its own
  number, carries the difference); the case gets a task for ops, once per amount, and the report lists it.
Cases still running whose invoice is gone from the export are reported, and each gets a task for ops to decide
(once); nothing closes them.

`dry_run` asks the same questions and changes nothing. The daily schedule (`DropFolderSync`) runs the same
function on the newest file of a drop folder.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from temporalio.client import (
    Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError, ScheduleCalendarSpec,
    ScheduleOverlapPolicy, SchedulePolicy, ScheduleRange, ScheduleSpec, ScheduleUpdate, WorkflowUpdateFailedError,
)
import structlog
from temporalio.service import RPCError, RPCStatusCode

from domain.case import AccountingCredit, AccountingNotice, CaseStatus, ContactChange, Payment
from domain.invoice import invoice_number_of
from domain.money import format_eur
from domain.policy import Policy, Stage
from relance import cases, go_live
from relance.ledger import LedgerRow
from workflows import visibility
from workflows.drop_folder_sync import SCHEDULE_ID, DropFolderSync
from workflows.invoice_case import InvoiceCase

log = structlog.get_logger(__name__)
EXPORT = "export comptable"  # the reference of what a sync records, in the audit trail
BY = "relance sync"  # who the audit lines name as the sender


@dataclasses.dataclass
class SyncReport:
    opened: list[str] = dataclasses.field(default_factory=list)
    paid: list[str] = dataclasses.field(default_factory=list)
    credited: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # number, from, to
    raised: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)  # reported, not applied
    vanished: list[str] = dataclasses.field(default_factory=list)
    contacts: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # number, what changed
    vanished_not_told: str = ""  # why the cases gone from the export got no task this time, if they did not
    paid_without_case: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def text(self, dry_run: bool) -> str:
        verb = "seraient" if dry_run else "ont été"
        lines = [f"{len(self.opened)} facture(s) nouvelle(s) : dossiers {'à ouvrir' if dry_run else 'ouverts'}"]
        lines += [f"  {number}" for number in self.opened[:50]]
        lines.append(f"{len(self.paid)} facture(s) réglée(s) dans la comptabilité : règlements qui {verb} enregistrés")
        lines += [f"  {number}" for number in self.paid]
        lines.append(f"{len(self.credited)} montant(s) diminué(s) : avoirs qui {verb} enregistrés")
        lines += [f"  {number} : {old} -> {new}" for number, old, new in self.credited]
        lines.append(f"{len(self.raised)} montant(s) augmenté(s) : non appliqués, une tâche pour les équipes sur le dossier")
        lines += [f"  {number} : {old} -> {new}" for number, old, new in self.raised]
        lines.append(f"{len(self.contacts)} coordonnée(s) du débiteur changée(s) dans l'export : {verb} corrigées"
                     " sur le dossier")
        lines += [f"  {number} : {what}" for number, what in self.contacts]
        told = f"aucune tâche : {self.vanished_not_told}" if self.vanished_not_told else "une tâche pour les équipes sur chacun"
        lines.append(f"{len(self.vanished)} dossier(s) en cours absent(s) de l'export : {told}")
        lines += [f"  {number}" for number in self.vanished]
        lines.append(f"{self.unchanged} inchangé(s), {self.paid_without_case} réglée(s) sans dossier (rien à faire)")
        lines += [f"{number} : échec : {reason}" for number, reason in self.failed]
        return "\n".join(lines)

    def summary(self) -> dict:
        return {"opened": len(self.opened), "paid": len(self.paid), "credited": len(self.credited),
                "raised": len(self.raised), "vanished": len(self.vanished), "unchanged": self.unchanged,
                "contacts": len(self.contacts),
                "paid_without_case": self.paid_without_case, "failed": len(self.failed),
                "vanished_not_told": self.vanished_not_told}


# A case gone from the export gets a task only when the export looks whole: no row rejected (its invoice would
# read as gone) and no more gone than this (a wrong file, or another entity's, would give every case a task).
VANISHED_TOLD_AT_MOST = (20, 0.10)  # cases, or this share of the export's invoices if more


async def sync(client: Client, task_queue: str, rows: Iterable[LedgerRow], policies: Mapping[str, Policy],
               now: dt.datetime, *, dry_run: bool = False, concurrency: int = 20) -> SyncReport:
    """`rows` is read once; a `LedgerReader` also says how many rows it rejected (`rejected`)."""
    report, seen, new_rows = SyncReport(), set(), []
    gate = asyncio.Semaphore(concurrency)
    today = now.astimezone(cases.PARIS).date()
    taken = await go_live.places_taken(client, task_queue, policies, now)  # before anything changes

    async def one(row: LedgerRow) -> None:
        async with gate:
            try:
                status = await _status(client, row.invoice.number, today)
                if status is None:
                    if go_live.settled_before(row):
                        report.paid_without_case += 1
                    else:
                        new_rows.append(row)
                    return
                await _reconcile(client, row, status, report, today, dry_run)
            except Exception as error:  # one case that cannot be reached must not stop the sync; it is reported
                report.failed.append((row.invoice.number, str(error)))

    pending = []
    for row in rows:  # rows are validated as they are read; their cases are asked as they come
        seen.add(row.invoice.number)
        pending.append(asyncio.ensure_future(one(row)))
        if len(pending) >= 10 * concurrency:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    new_rows.sort(key=lambda row: row.row)  # the daily cap serves them in the order of the file
    plans = go_live.planned_starts(new_rows, policies, now, taken)
    if dry_run:
        report.opened = [plan.start.invoice.number for plan in plans]
    else:
        opened = await cases.open_cases(client, task_queue, (plan.start for plan in plans))
        report.opened, report.failed = opened.started, report.failed + opened.failed
    report.vanished = sorted([number async for number in _running(client, task_queue) if number not in seen])
    report.vanished_not_told = _not_told(report.vanished, len(seen), getattr(rows, "rejected", 0))
    if not dry_run and not report.vanished_not_told:  # a task each, once: the next day's export finds it there
        for number in report.vanished:
            try:
                await _update(cases.handle(client, number), InvoiceCase.record_accounting_notice,
                              AccountingNotice(kind="vanished", on=today, by=BY))
            except Exception as error:  # noqa: BLE001 - closed since it was listed: nothing left to decide
                log.info("sync.vanished_not_told", invoice=number, reason=str(error))
    return report


def _not_told(vanished: list[str], in_export: int, rejected: int) -> str:
    """Why the cases gone from the export get no task this time, or nothing when they do."""
    if not vanished:
        return ""
    if rejected:
        return f"{rejected} ligne(s) rejetée(s) : leurs factures paraîtraient absentes"
    most = max(VANISHED_TOLD_AT_MOST[0], int(VANISHED_TOLD_AT_MOST[1] * in_export))
    if len(vanished) > most:
        return f"plus de {most} absents : le bon export ? (vérifier, puis relancer la synchronisation)"
    return ""


async def _reconcile(client: Client, row: LedgerRow, status: CaseStatus, report: SyncReport, today: dt.date,
                     dry_run: bool) -> None:
    number, invoice = row.invoice.number, row.invoice
    if status.stage is Stage.closed:
        report.unchanged += 1
        return
    case = cases.handle(client, number)
    await _reconcile_contact(case, row, status, report, dry_run)
    known = status.invoice_amount if status.invoice_amount is not None else invoice.amount_incl_tax
    if go_live.settled_before(row):
        owed = known - status.paid_total
        if owed > 0 and not dry_run:
            await _update(case, InvoiceCase.record_payment, Payment(
                amount=owed, paid_on=row.prior.paid_on, reference=f"{EXPORT} : réglée", by=BY))
        report.paid.append(number)
    elif invoice.amount_incl_tax < known:
        if not dry_run:
            await _update(case, InvoiceCase.record_accounting_credit, AccountingCredit(
                new_amount=invoice.amount_incl_tax, on=today, reference=EXPORT, by=BY))
        report.credited.append((number, _eur(known), _eur(invoice.amount_incl_tax)))
    elif invoice.amount_incl_tax > (status.invoice.amount_incl_tax if status.invoice else known):
        if not dry_run:
            await _update(case, InvoiceCase.record_accounting_notice, AccountingNotice(
                kind="raised", export_amount=invoice.amount_incl_tax, on=today, by=BY))
        report.raised.append((number, _eur(known), _eur(invoice.amount_incl_tax)))
    else:  # the same, or a credit note recorded in relance (a dispute's) that the accounts do not show yet
        report.unchanged += 1


SYNCED_CONTACT = ("email", "address")  # what an export always carries when it has it (its language and country
# columns default when absent, and would undo a correction made with `relance contact`)


async def _reconcile_contact(case, row: LedgerRow, status: CaseStatus, report: SyncReport, dry_run: bool) -> None:
    """The ERP corrected the debtor's email or address: the case writes to the new one from its next step."""
    known = status.invoice.debtor if status.invoice else None
    exported = row.invoice.debtor
    if known is None or any(line.kind == "contact" and line.by != BY for line in status.audit):
        return  # ops corrected it themselves (`relance contact`, the console): theirs stands until they change it
    new = {name: getattr(exported, name) for name in SYNCED_CONTACT
           if getattr(exported, name) and getattr(exported, name) != getattr(known, name)}
    if not new:
        return
    if not dry_run:
        await _update(case, InvoiceCase.update_contact, ContactChange(**new, by=BY))
    report.contacts.append((row.invoice.number, ", ".join(f"{name} {getattr(known, name) or '(vide)'} -> {value}"
                                                          for name, value in new.items())))


async def _update(case, update, message) -> None:
    try:
        await case.execute_update(update, message)
    except WorkflowUpdateFailedError as refused:
        raise RuntimeError(refused.cause.message if refused.cause else str(refused)) from None


async def _status(client: Client, number: str, today: dt.date) -> CaseStatus | None:
    try:
        return await cases.status(client, number, today)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def _running(client: Client, task_queue: str):
    """This deployment's running cases (its task queue): another one sharing the namespace has its own book."""
    async for execution in client.list_workflows(visibility.running_cases(TaskQueue=task_queue)):
        yield invoice_number_of(execution.id)


def _eur(amount: Decimal) -> str:
    return format_eur(amount)


async def schedule_daily(client: Client, task_queue: str, hour: int, schedule_id: str = SCHEDULE_ID) -> str:
    """The Temporal schedule of the daily sync, created or brought up to date: 'created' or 'updated'.

    Each day at `hour` (Paris) it starts `DropFolderSync` on `task_queue`; a run still going the next day is not
    doubled (overlap: skip). The folder is the workers' RELANCE_SYNC_DIR."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(DropFolderSync.run, id=f"{schedule_id}-run", task_queue=task_queue),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], minute=[ScheduleRange(0)],
                                                          second=[ScheduleRange(0)])],
                          time_zone_name="Europe/Paris"),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
    try:
        await client.create_schedule(schedule_id, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(lambda _: ScheduleUpdate(schedule=schedule))
        return "updated"
