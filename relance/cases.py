"""Talking to cases from outside: start one per invoice, and send ops' messages to it."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from zoneinfo import ZoneInfo

from domain.case import (
    CaseStart, CaseStatus, ContactChange, DisputeRequest, DisputeResolution, InsolvencyNotice, Payment, PaymentReversal, PlanProposal,
    ProcedureStep,
)
from domain.transitions import reopened
from domain.invoice import Invoice, case_workflow_id, invoice_number_of
from domain.script import ScriptEvent, ops_message, plan_proposal
from relance import refusals
from workflows import visibility
from workflows.invoice_case import InvoiceCase

PARIS = ZoneInfo("Europe/Paris")


@dataclasses.dataclass
class ImportReport:
    started: list[str] = dataclasses.field(default_factory=list)
    existing: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def case_start(invoice: Invoice) -> CaseStart:
    """How a case of this code starts."""
    return CaseStart(invoice=invoice, read_policy_locally=True, bank_checks=True)


async def open_case(client: Client, task_queue: str, invoice: Invoice | CaseStart) -> bool:
    """Start the case of `invoice` (or of a start made for it, with its history: `relance.go_live`); False when a
    case with that invoice number exists, running or ended."""
    start = invoice if isinstance(invoice, CaseStart) else case_start(invoice)
    try:
        await client.start_workflow(
            InvoiceCase.run, start, id=start.invoice.workflow_id, task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=visibility.start_search_attributes(
                start.invoice, start.catch_up_from if start.catch_up_capped else None),
        )
        return True
    except WorkflowAlreadyStartedError:
        return False


async def open_cases(client: Client, task_queue: str, invoices: Iterable[Invoice | CaseStart], *,
                     concurrency: int = 50, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Start the case of each invoice, `concurrency` at a time.

    Invoices are drawn from `invoices` only as a start finishes: a ledger read row by row (`LedgerReader`) is
    never held whole, and the first cases start while the rest of the file is still unread.
    """
    report, pending = ImportReport(), iter(invoices)

    async def starter() -> None:
        for invoice in pending:  # shared: each starter takes the next invoice when its start is done
            number = _number(invoice)
            try:
                started = await open_case(client, task_queue, invoice)
                (report.started if started else report.existing).append(number)
            except Exception as error:  # one refused start must not stop the import; it is reported
                report.failed.append((number, str(error)))
            if progress:
                progress(1)

    starters = [asyncio.ensure_future(starter()) for _ in range(max(concurrency, 1))]
    try:
        await asyncio.gather(*starters)
    finally:  # the ledger failed mid-way (a file changed while read): the other starters stop too
        for task in starters:
            task.cancel()
    return report


def _number(invoice: Invoice | CaseStart) -> str:
    return (invoice.invoice if isinstance(invoice, CaseStart) else invoice).number


def handle(client: Client, invoice_number: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(InvoiceCase.run, case_workflow_id(invoice_number))


async def status(client: Client, invoice_number: str, as_of: dt.date | None = None) -> CaseStatus:
    return await handle(client, invoice_number).query(InvoiceCase.status, as_of or paris_today())


@dataclasses.dataclass(frozen=True)
class BrokenCase:
    """A case whose workflow exists but whose workflow task keeps failing: it cannot answer a query."""

    invoice: str
    error: str  # the failure of the last failed workflow task, as the history recorded it
    attempts: int | None = None  # of the workflow task failing now, when the server says

    def __str__(self) -> str:
        attempts = f" (tentative {self.attempts})" if self.attempts else ""
        return (f"{self.invoice}: dossier bloqué : sa tâche de workflow échoue à chaque essai{attempts} : {self.error} ;"
                " il reprend dès que le code ou les données qu'il lit sont corrigés, ou après un reset")


async def diagnose(client: Client, invoice_number: str, *, only_if_failing_now: bool = False) -> BrokenCase | None:
    """Why a case cannot answer a query: a BrokenCase if its workflow task is failing, None if it seems sound.

    `only_if_failing_now`: look at the history only when the current workflow task has failed before (one cheap
    describe otherwise), to be asked before a query: the server holds a query to a broken case for its whole
    timeout. Raises the server's RPCError (NOT_FOUND) when there is no such case."""
    case = handle(client, invoice_number)
    attempt = (await case.describe()).raw_description.pending_workflow_task.attempt
    if only_if_failing_now and attempt <= 1:
        return None
    error = last_task_failure([event async for event in case.fetch_history_events()])
    if error is None:
        return None
    return BrokenCase(invoice=invoice_number, error=error, attempts=attempt or None)


def last_task_failure(events: Iterable[HistoryEvent]) -> str | None:
    """The error of the last failed workflow task, unless a task completed after it (the case recovered).

    Temporal writes the first failure of a run of failing tasks to the history, not each retry: that first one
    is the error to report."""
    error = None
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attributes = event.workflow_task_failed_event_attributes
            error = _failure_text(attributes.failure) or EventType.Name(event.event_type)
            cause = attributes.cause
            if cause:
                error = f"{WorkflowTaskFailedCause.Name(cause).removeprefix('WORKFLOW_TASK_FAILED_CAUSE_')}: {error}"
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            error = None
    return error


def _failure_text(failure) -> str:
    """A failure's message with its causes', one line: the cause is often the useful part."""
    parts = []
    while failure is not None and failure.message and len(parts) < 5:
        parts.append(" ".join(failure.message.split()))  # one line, as the CLI says errors
        failure = failure.cause if failure.HasField("cause") else None
    return ": ".join(parts)


def paris_today() -> dt.date:
    return dt.datetime.now(PARIS).date()


async def plan_in_equal_parts(case: WorkflowHandle, count: int, every_days: int,
                              first_due: dt.date | None = None, today: dt.date | None = None):
    """Propose `count` equal instalments of what is due now, the first `every_days` after today."""
    today = today or paris_today()
    current = await case.query(InvoiceCase.status, today)
    return await case.execute_update(InvoiceCase.propose_plan, plan_proposal(current, count, every_days, today, first_due))


async def play(case: WorkflowHandle, event: ScriptEvent, invoice: Invoice, today: dt.date):
    """Carry out one event of a debtor's behaviour script, as ops would record it."""
    message = ops_message(event, invoice, today, await case.query(InvoiceCase.status, today))
    return await case.execute_update(UPDATES[type(message)], message)


# Which update carries each message from ops.
UPDATES = {Payment: InvoiceCase.record_payment, DisputeRequest: InvoiceCase.open_dispute,
           DisputeResolution: InvoiceCase.resolve_dispute, PlanProposal: InvoiceCase.propose_plan,
           InsolvencyNotice: InvoiceCase.record_insolvency, ProcedureStep: InvoiceCase.record_procedure_step}


async def debtor_insolvency(client: Client, debtor_id: str, notice: InsolvencyNotice,
                            concurrency: int = 20) -> dict[str, str]:
    """Tell every running case of a debtor that a procédure collective opened: invoice number -> outcome."""
    return await tell_debtor_cases(client, debtor_id, InvoiceCase.record_insolvency, notice, concurrency)


async def debtor_contact(client: Client, debtor_id: str, change: ContactChange,
                         concurrency: int = 20) -> dict[str, str]:
    """Correct the debtor's contact details on every running case of it: invoice number -> outcome."""
    return await tell_debtor_cases(client, debtor_id, InvoiceCase.update_contact, change, concurrency)


async def tell_debtor_cases(client: Client, debtor_id: str, update, message, concurrency: int = 20) -> dict[str, str]:
    """Send `message` to every running case of a debtor: invoice number -> "recorded" or why it was refused.

    Cases are found through visibility, which lags writes by a moment: a case opened in the same second may be
    missed, and running the command again only reaches the cases not told yet (a repeat is refused, harmlessly).
    """
    query = visibility.running_cases(**{visibility.DEBTOR.name: debtor_id})
    numbers = [invoice_number_of(execution.id) async for execution in client.list_workflows(query)]
    gate, outcomes = asyncio.Semaphore(concurrency), {}

    async def one(number: str) -> None:
        async with gate:
            try:
                await handle(client, number).execute_update(update, message)
                outcomes[number] = "recorded"
            except WorkflowUpdateFailedError as refused:
                outcomes[number] = f"refused: {refused.cause.message if refused.cause else refused}"

    await asyncio.gather(*(one(number) for number in numbers))
    return dict(sorted(outcomes.items()))


REOPENED_ON_RETURN = ("paid", "credited")  # closes the returned money made: it undoes them


async def reverse_payment(client: Client, task_queue: str, invoice_number: str, reversal: PaymentReversal) -> str:
    """Take a returned payment off its case: a running case by its update; a case the money closed since (paid,
    or settled by a credit note after it: the debtor owes again what the payment covered) is started again from its
    final state, reopened, the reversal first. A case closed otherwise (by ops, indemnified by the insurer, sold to
    a factor) is left to ops. Returns what happened, in French."""
    case = handle(client, invoice_number)
    state = await case.query(InvoiceCase.state)  # a query reaches a case whose workflow has ended, an update not
    if state.stage != "closed":
        try:
            await case.execute_update(InvoiceCase.reverse_payment, reversal, id=f"return:{reversal.returned_by}")
            return "paiement annulé, le dossier reprend"
        except WorkflowUpdateFailedError as refused:
            reason = refused.cause.message if refused.cause is not None else str(refused)
            if reason.startswith("no payment from bank entry"):
                return "déjà annulé"
            if not reason.startswith("the case is closed"):
                return f"refusé : {refusals.in_french(reason)}"
        state = await case.query(InvoiceCase.state)  # it closed meanwhile
    if state.closed_reason not in REOPENED_ON_RETURN or not any(e.reference == reversal.bank_reference for e in state.entries):
        return f"dossier clos ({state.closed_reason}): à traiter à la main"
    await client.start_workflow(
        InvoiceCase.run, case_start(state.invoice).model_copy(update={"carried": reopened(state), "reversal": reversal}),
        id=state.invoice.workflow_id, task_queue=task_queue, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
    return "dossier rouvert, paiement annulé"
