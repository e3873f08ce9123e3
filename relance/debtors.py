"""Customer accounts from outside: find a debtor's cases through visibility, ask each for its status, and hand
the statuses to the pure account function (`domain/debtor_account.py`)."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import defaultdict

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from domain.case import CaseStatus
from domain.debtor_account import DebtorAccount, debtor_account
from domain.invoice import invoice_number_of
from workflows import visibility
from workflows.invoice_case import InvoiceCase

CONCURRENCY = 20  # status queries in flight at once
_ENDED = {WorkflowExecutionStatus.TERMINATED: "arrêté", WorkflowExecutionStatus.FAILED: "en échec",
          WorkflowExecutionStatus.CANCELED: "annulé", WorkflowExecutionStatus.TIMED_OUT: "expiré"}


@dataclasses.dataclass
class Found:
    statuses: list[CaseStatus] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)  # "invoice: why", said under the account


async def debtor_cases(client: Client, debtor_id: str, as_of: dt.date) -> Found:
    """Every case of the debtor: running ones answer a status query for `as_of`; completed ones give the status
    they closed with (an overpayment on a paid invoice is still money on account)."""
    query = f"WorkflowType = 'InvoiceCase' AND {visibility.DEBTOR.name} = {visibility.literal(debtor_id)}"
    return await _statuses(client, [e async for e in client.list_workflows(query)], as_of)


async def accounts(client: Client, as_of: dt.date, task_queue: str,
                   stage: str | None = None) -> tuple[list[DebtorAccount], list[str]]:
    """The account of every debtor with a running case on this deployment's task queue (another deployment sharing
    the namespace has its own book), of a case at `stage` when given, from running cases."""
    by_debtor: dict[str, list[WorkflowExecution]] = defaultdict(list)
    async for execution in client.list_workflows(visibility.running_cases(TaskQueue=task_queue)):
        by_debtor[execution.typed_search_attributes.get(visibility.DEBTOR) or ""].append(execution)
    if stage:
        by_debtor = {debtor: found for debtor, found in by_debtor.items()
                     if any(e.typed_search_attributes.get(visibility.STAGE) == stage for e in found)}
    found = await _statuses(client, [e for executions in by_debtor.values() for e in executions], as_of)
    grouped: dict[str, list[CaseStatus]] = defaultdict(list)
    for status in found.statuses:
        grouped[status.invoice.debtor.debtor_id].append(status)
    return [debtor_account(statuses, as_of) for statuses in grouped.values()], found.skipped


async def _statuses(client: Client, executions: list[WorkflowExecution], as_of: dt.date) -> Found:
    found, gate = Found(), asyncio.Semaphore(CONCURRENCY)

    async def one(execution: WorkflowExecution) -> None:
        number = invoice_number_of(execution.id)
        handle = client.get_workflow_handle_for(InvoiceCase.run, execution.id, run_id=execution.run_id)
        async with gate:
            try:
                if execution.status == WorkflowExecutionStatus.RUNNING:
                    status = await handle.query(InvoiceCase.status, as_of)
                elif execution.status == WorkflowExecutionStatus.COMPLETED:
                    status = await handle.result()
                else:  # continued as new (its latest run is listed too), terminated, failed
                    if execution.status != WorkflowExecutionStatus.CONTINUED_AS_NEW:
                        found.skipped.append(f"{number}: dossier {_ENDED.get(execution.status, execution.status.name)}")
                    return
            except Exception as error:  # a broken case must not hide the rest of the account
                found.skipped.append(f"{number}: pas de statut ({getattr(error, 'message', None) or error})")
                return
        if status.invoice is None:
            found.skipped.append(f"{number}: ouvert avant que les statuts portent la facture, hors compte")
            return
        found.statuses.append(status)

    await asyncio.gather(*(one(execution) for execution in executions))
    return found
