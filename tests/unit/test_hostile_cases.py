"""Opening cases as a ledger is read, and telling a broken case from a missing one, without a server."""
from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent, WorkflowTaskFailedEventAttributes

from domain.invoice import Debtor, Invoice
from relance import cases


def _invoice(n: int) -> Invoice:
    return Invoice(number=f"F-{n}", debtor=Debtor(debtor_id="D", name="N", email="a@b.example"),
                   issue_date=dt.date(2027, 1, 1), due_date=dt.date(2027, 2, 1), amount_incl_tax=Decimal("10.00"))


def test_open_cases_draws_invoices_only_as_starts_finish(monkeypatch):
    drawn, in_flight, most = [], 0, 0

    def ledger():
        for n in range(1000):
            drawn.append(n)
            yield _invoice(n)

    async def fake_open_case(client, task_queue, invoice):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if invoice.number == "F-0":
            assert len(drawn) <= 5, "the ledger is read ahead of the starts by at most the concurrency"
        await asyncio.sleep(0)
        in_flight -= 1
        return invoice.number != "F-7"

    monkeypatch.setattr(cases, "open_case", fake_open_case)
    report = asyncio.run(cases.open_cases(None, "q", ledger(), concurrency=5))
    assert len(report.started) == 999 and report.existing == ["F-7"] and most == 5


def test_a_ledger_failing_mid_way_stops_the_import_with_its_error(monkeypatch):
    def ledger():
        yield _invoice(1)
        raise OSError("disk gone")

    async def fake_open_case(client, task_queue, invoice):
        await asyncio.sleep(0)
        return True

    monkeypatch.setattr(cases, "open_case", fake_open_case)
    try:
        asyncio.run(cases.open_cases(None, "q", ledger(), concurrency=3))
    except OSError as error:
        assert str(error) == "disk gone"
    else:
        raise AssertionError("the ledger's error must reach the caller")


def _failed(message: str, cause: str | None = None) -> HistoryEvent:
    failure = Failure(message=message, cause=Failure(message=cause) if cause else None)
    return HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
                        workflow_task_failed_event_attributes=WorkflowTaskFailedEventAttributes(
                            failure=failure,
                            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE))


def _event(kind) -> HistoryEvent:
    return HistoryEvent(event_type=kind)


def test_the_last_failed_workflow_task_is_the_error_of_a_broken_case():
    events = [_event(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED), _event(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
              _failed("Failed decoding arguments", "1 validation error\n  due_date")]
    assert cases.last_task_failure(events) == (
        "WORKFLOW_WORKER_UNHANDLED_FAILURE: Failed decoding arguments: 1 validation error due_date")


def test_a_case_whose_task_completed_after_a_failure_is_not_broken():
    events = [_failed("boom"), _event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)]
    assert cases.last_task_failure(events) is None
    assert cases.last_task_failure([]) is None


def test_a_broken_case_says_so_in_one_line():
    text = str(cases.BrokenCase(invoice="F-1", error="X: boom", attempts=12))
    assert text.startswith("F-1: dossier bloqué : sa tâche de workflow échoue à chaque essai (tentative 12) : X: boom")
    assert "\n" not in text
