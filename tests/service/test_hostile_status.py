"""`relance status` of a case whose workflow task keeps failing says it is broken, and why."""
from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType

from domain.invoice import case_workflow_id
from tests.service.conftest import eventually, relance


async def test_status_of_a_broken_case_reports_the_task_failure_not_a_missing_case(service, dev_server):
    number = f"BROKEN-{uuid.uuid4().hex[:6]}"
    # A start the workflow cannot read: every workflow task fails, so every query is refused by the server.
    case = await dev_server.client.start_workflow("InvoiceCase", {"not": "a CaseStart"}, id=case_workflow_id(number),
                                                  task_queue=service.task_queue)

    async def failed_once():
        return any([e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
                    async for e in case.fetch_history_events()])

    assert await eventually(failed_once)
    shown = await relance(service, "status", number)
    assert shown.returncode == 1
    assert "aucun dossier pour la facture" not in shown.stderr
    assert f"{number}: dossier bloqué : sa tâche de workflow échoue à chaque essai" in shown.stderr
    assert "Failed decoding arguments" in shown.stderr and "CaseStart" in shown.stderr, shown.stderr
    await case.terminate("test over")


async def test_status_of_an_unknown_invoice_says_there_is_no_case(service):
    shown = await relance(service, "status", f"NOPE-{uuid.uuid4().hex[:6]}")
    assert shown.returncode == 1 and "aucun dossier pour la facture NOPE-" in shown.stderr
