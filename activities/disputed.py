"""The invoices a customer's threat-of-loss notice leaves out because they are disputed, found through visibility.

A disputed invoice drops out of its customer's conversation: its case is paused and never asks the account, so the
account cannot name it. The insurer must still be told which of the customer's invoices the notice excludes, and
why: before the notice is filed, the customer's running cases paused on a dispute (`RelancePaused`) are listed on
it. Visibility lags a write by a moment: a dispute opened in the same second may be missed (it is still excluded,
only not named). A server without visibility queries (the time-skipping test server) lists none.
"""
from __future__ import annotations

from decimal import Decimal

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from domain.invoice import invoice_number_of
from domain.letters import LetterContext
from domain.money import format_eur
from workflows import visibility

log = structlog.get_logger(__name__)


async def disputed_left_out(client: Client, task_queue: str, letter: LetterContext) -> list[str]:
    """One line per running, disputed invoice of the notice's customer that the notice does not list."""
    listed = {line.number for line in letter.account_lines}
    query = (visibility.running_cases(**{visibility.DEBTOR.name: letter.invoice.debtor.debtor_id, "TaskQueue": task_queue})
             + f" AND {visibility.PAUSED.name} = true")
    found = []
    try:
        async for execution in client.list_workflows(query):
            number = invoice_number_of(execution.id)
            if number in listed:
                continue
            due = execution.typed_search_attributes.get(visibility.AMOUNT_DUE)
            amount = f" (reste dû {format_eur(Decimal(str(due)).quantize(Decimal('0.01')))})" if due is not None else ""
            found.append(f"Facture {number}{amount}: en litige, exclue de la déclaration jusqu'à sa résolution")
    except RPCError as error:
        log.warning("insurer.disputed_not_listed", debtor=letter.invoice.debtor.debtor_id, error=error.message)
        return []
    return sorted(found)
