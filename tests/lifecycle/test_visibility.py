"""What a case publishes for `relance list`: every attribute once, then only what changed."""
from decimal import Decimal

from temporalio.api.enums.v1 import EventType

from domain.case import Payment
from tests.lifecycle.scenario import Case, invoice
from workflows import visibility
from workflows.invoice_case import InvoiceCase

ALL = {"RelanceStage", "RelanceDebtor", "RelanceAmountDue", "RelancePaused", "RelanceNextActionAt", "RelancePolicy",
       "RelancePolicyVersion"}


async def upserted(case: Case) -> list[set[str]]:
    history = await case.handle.fetch_history()
    return [set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
            for e in history.events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]


async def test_a_case_publishes_each_attribute_once_then_only_changes(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=30))
    await case.wait_until_due_plus(-5)  # the first courtesy reminder went out
    await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("200.00")))
    await case.wait_until_due_plus(-2)

    upserts = await upserted(case)
    assert upserts[0] == ALL
    # The reminder moved the next action, the payment the amount due; debtor and policy never change.
    assert {"RelanceNextActionAt"} in upserts[1:]
    assert any("RelanceAmountDue" in u for u in upserts[1:])
    assert all(not u & {"RelanceDebtor", "RelancePolicy", "RelancePolicyVersion"} for u in upserts[1:])

    published = visibility.published((await case.handle.describe()).typed_search_attributes)
    assert published["amount_due"] == 1000.0 and published["debtor"] == case.invoice.debtor.debtor_id
    assert published["next_action_at"] == (await case.status()).next_action.at
