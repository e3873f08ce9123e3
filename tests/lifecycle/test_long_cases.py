"""A case whose history grows long continues as new with its state: nothing is sent twice, nothing is lost."""
from decimal import Decimal

from temporalio.api.enums.v1 import EventType

from domain.case import Payment
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase

LADDER = ["reminder:preventive-j-10", "reminder:preventive-j-3", "reminder:amicable-j+2", "reminder:amicable-j+30"]


async def test_a_long_case_continues_as_new_and_keeps_its_trail(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=30), history_events_limit=25)
    await case.wait_until_due_plus(35)
    receipt = await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    result = await case.finished()

    first = harness.env.client.get_workflow_handle(case.invoice.workflow_id, run_id=case.first_run_id)
    assert (await first.fetch_history()).events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert receipt.closed and result.closed_reason == "paid"
    assert result.audit[0].kind == "open", "the trail starts where the first run started it"
    emailed = [a.step for a in result.audit if a.kind == "email"]
    assert emailed == [*LADDER, "thank-you"], emailed
    assert len(case.emails()) == len(LADDER) + 1, "each letter went out once across the runs"
    assert [t.key for t in result.tasks] == ["reminder:amicable-j+30:call"], "the call task was carried over"
