"""After `relance import` started the cases: wait until they have opened, counted through visibility.

A start accepted by the server is not an open case: the case opens when a worker runs its first decision (it
reads its policy, decides its first step, publishes its search attributes and sleeps). On a big book that comes
well after the last start (issue 18: 354 s after a 110 s import of 20,000 invoices), so the import waits for it
and says how far it is. A case is open once it has published its policy version; a count query a second per
batch of ids still opening, not one call per case, keeps the server free for the work itself.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable

from temporalio.client import Client

from domain.invoice import invoice_number_of
from workflows import visibility

BATCH = 200  # workflow ids per count query


def opened_query(workflow_ids: list[str]) -> str:
    """Which of these cases have published their policy version, that is made their first decision.

    Counting the cases opened rather than those still opening: a case whose start visibility has not recorded
    yet is not counted as open by mistake."""
    ids = ", ".join(visibility.literal(w) for w in workflow_ids)
    return f"WorkflowId IN ({ids}) AND {visibility.POLICY_VERSION.name} IS NOT NULL"


def still_opening_query(workflow_ids: list[str]) -> str:
    ids = ", ".join(visibility.literal(w) for w in workflow_ids)
    return (f"WorkflowId IN ({ids}) AND ExecutionStatus = 'Running'"
            f" AND {visibility.POLICY_VERSION.name} IS NULL")


@dataclasses.dataclass
class Opening:
    started: int  # cases this import started
    still_opening: int  # of them, not opened yet
    stalled_seconds: float = 0.0  # how long the count had not moved when the wait gave up (0: it did not)
    examples: list[str] = dataclasses.field(default_factory=list)  # invoices of cases still opening

    @property
    def opened(self) -> int:
        return self.started - self.still_opening


async def wait_open(client: Client, workflow_ids: list[str], *, progress: Callable[[int], None] | None = None,
                    stall_seconds: float = 120, every: float = 1.0) -> Opening:
    """Until every case of `workflow_ids` has opened, reporting how many have to `progress`.

    The ids are counted by batches, and a batch found all open is not asked again: cases open roughly in the
    order they started, so a poll asks about the few batches still opening. Only this import's cases count:
    a broken case elsewhere in the namespace does not hold it. Gives up when the count has not moved for
    `stall_seconds` (no worker running, or a case whose first task keeps failing), with a few of the invoices
    concerned."""
    pending = {i: workflow_ids[i:i + BATCH] for i in range(0, len(workflow_ids), BATCH)}
    opened = dict.fromkeys(pending, 0)
    last, moved = None, time.monotonic()
    while True:
        for key, batch in list(pending.items()):
            opened[key] = (await client.count_workflows(opened_query(batch))).count
            if opened[key] >= len(batch):
                del pending[key]
        done = sum(opened.values())
        if progress:
            progress(done)
        left = len(workflow_ids) - done
        if not pending:
            return Opening(len(workflow_ids), 0)
        if left != last:
            last, moved = left, time.monotonic()
        elif time.monotonic() - moved >= stall_seconds:
            batch = next(iter(pending.values()))
            examples = [invoice_number_of(e.id) async for e in client.list_workflows(still_opening_query(batch), limit=5)]
            return Opening(len(workflow_ids), left, time.monotonic() - moved,
                           examples or [invoice_number_of(w) for w in batch[:5]])
        await asyncio.sleep(every)


def summary_line(done: Opening) -> str:
    """The import's last line: how many cases are open, and what to do about those that are not."""
    if not done.still_opening:
        return f"{done.opened} dossier(s) ouvert(s) : première décision prise, en attente de leur prochaine étape"
    examples = ", ".join(done.examples)
    return (f"{done.opened} dossier(s) ouvert(s), {done.still_opening} encore en ouverture : rien n'a bougé depuis"
            f" {done.stalled_seconds:.0f} s (un worker tourne-t-il ? `relance status` sur {examples} dit pourquoi)")
