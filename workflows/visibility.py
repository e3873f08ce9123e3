"""The custom search attributes a case publishes, so `relance list` and the Temporal Web UI can filter cases."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

STAGE = SearchAttributeKey.for_keyword("RelanceStage")
DEBTOR = SearchAttributeKey.for_keyword("RelanceDebtor")
AMOUNT_DUE = SearchAttributeKey.for_float("RelanceAmountDue")
PAUSED = SearchAttributeKey.for_bool("RelancePaused")
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("RelanceNextActionAt")
POLICY = SearchAttributeKey.for_keyword("RelancePolicy")
POLICY_VERSION = SearchAttributeKey.for_int("RelancePolicyVersion")

# Set once, when the case starts, from the invoice (they never change): the debtor's name, the due date (any aging
# bucket is a query on it, `RelanceDueDate < ...`, where a bucket attribute would go stale between wake-ups) and
# the insurer's credit limit. Given in the start request, not upserted: no history event, no worker memory, and
# no change to the commands of cases recorded before they existed.
DEBTOR_NAME = SearchAttributeKey.for_keyword("RelanceDebtorName")
DUE_DATE = SearchAttributeKey.for_datetime("RelanceDueDate")
CREDIT_LIMIT = SearchAttributeKey.for_float("RelanceCreditLimit")
# `policy:YYYY-MM-DD`: the day the import's daily cap gave this case's first message (a late invoice imported):
# the next import, from any host, counts the places already taken on each day.
CATCH_UP_PLACE = SearchAttributeKey.for_keyword("RelanceCatchUpPlace")

KEYS = {key.name: key for key in (STAGE, DEBTOR, AMOUNT_DUE, PAUSED, NEXT_ACTION_AT, POLICY, POLICY_VERSION)}
_NAMES = {STAGE: "stage", DEBTOR: "debtor", AMOUNT_DUE: "amount_due", PAUSED: "paused",
          NEXT_ACTION_AT: "next_action_at", POLICY: "policy", POLICY_VERSION: "policy_version"}


def case_search_attributes(
    *, stage: str, debtor: str, amount_due: Decimal, paused: bool, next_action_at: dt.datetime | None,
    policy_id: str, policy_version: int,
) -> dict:
    """The values a case publishes, by name (a next action of None is unset)."""
    return {"stage": str(stage), "debtor": debtor, "amount_due": float(amount_due), "paused": paused,
            "next_action_at": next_action_at, "policy": policy_id, "policy_version": policy_version}


def changed(values: dict, published: dict) -> list[SearchAttributeUpdate]:
    """Updates for the values that differ from those published: each upsert is a history event, and the
    worker keeps every attribute it upserted for as long as it caches the case."""
    return [key.value_set(values[name]) if values[name] is not None else key.value_unset()
            for key, name in _NAMES.items() if values[name] != published.get(name)]


def published(attributes: TypedSearchAttributes) -> dict:
    """The values a run starts with: none for a new case, the last ones published after continue-as-new."""
    return {_NAMES[pair.key]: pair.value for pair in attributes if pair.key in _NAMES}


def start_search_attributes(invoice, catch_up_place: dt.date | None = None) -> TypedSearchAttributes:
    """What a case starts with: its debtor (id and name), its due date and the debtor's credit limit, so the Web UI
    filters a customer's invoices before the case has run at all; and the place the daily cap gave it, if any."""
    due = dt.datetime.combine(invoice.due_date, dt.time(), tzinfo=dt.timezone.utc)
    pairs = [SearchAttributePair(DEBTOR, invoice.debtor.debtor_id), SearchAttributePair(DEBTOR_NAME, invoice.debtor.name),
             SearchAttributePair(DUE_DATE, due)]
    if invoice.debtor.credit_limit is not None:
        pairs.append(SearchAttributePair(CREDIT_LIMIT, float(invoice.debtor.credit_limit)))
    if catch_up_place is not None:
        pairs.append(SearchAttributePair(CATCH_UP_PLACE, place_value(invoice.policy_id, catch_up_place)))
    return TypedSearchAttributes(pairs)


def place_value(policy_id: str, day: dt.date) -> str:
    return f"{policy_id}:{day.isoformat()}"


_KINDS = {STAGE: "Keyword", DEBTOR: "Keyword", AMOUNT_DUE: "Double", PAUSED: "Bool", NEXT_ACTION_AT: "Datetime",
          POLICY: "Keyword", POLICY_VERSION: "Int", DEBTOR_NAME: "Keyword", DUE_DATE: "Datetime",
          CREDIT_LIMIT: "Double", CATCH_UP_PLACE: "Keyword"}


async def register_search_attributes(client) -> None:
    """For servers started without them (the time-skipping test server); idempotent."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    kinds = {"Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
             "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL, "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
             "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT}
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace, search_attributes={key.name: kinds[kind] for key, kind in _KINDS.items()}))


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` arguments that register the attributes."""
    return [arg for key, kind in _KINDS.items() for arg in ("--search-attribute", f"{key.name}={kind}")]


def literal(value: str) -> str:
    """A string as a visibility-query literal (a quote in a debtor id must not end the string)."""
    return "'" + value.replace("'", "''") + "'"


def running_cases(**equal: str) -> str:
    """The query for running cases whose keyword attributes equal the given values, e.g. running_cases(RelanceDebtor=...)."""
    clauses = ["WorkflowType = 'InvoiceCase'", "ExecutionStatus = 'Running'"]
    return " AND ".join(clauses + [f"{name} = {literal(value)}" for name, value in equal.items()])
