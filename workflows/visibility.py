"""The custom search attributes a case publishes, so `relance list` and the Temporal Web UI can filter cases."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

STAGE = SearchAttributeKey.for_keyword("RelanceStage")
DEBTOR = SearchAttributeKey.for_keyword("RelanceDebtor")
AMOUNT_DUE = SearchAttributeKey.for_float("RelanceAmountDue")
PAUSED = SearchAttributeKey.for_bool("RelancePaused")
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("RelanceNextActionAt")
POLICY = SearchAttributeKey.for_keyword("RelancePolicy")
POLICY_VERSION = SearchAttributeKey.for_int("RelancePolicyVersion")


@dataclasses.dataclass(frozen=True)
class CaseAttributes:
    values: dict
    updates: list[SearchAttributeUpdate]


def case_search_attributes(
    *, stage: str, debtor: str, amount_due: Decimal, paused: bool, next_action_at: dt.datetime | None,
    policy_id: str, policy_version: int,
) -> CaseAttributes:
    values = {"stage": str(stage), "debtor": debtor, "amount_due": float(amount_due), "paused": paused,
              "next_action_at": next_action_at, "policy": policy_id, "policy_version": policy_version}
    updates = [
        STAGE.value_set(values["stage"]),
        DEBTOR.value_set(debtor),
        AMOUNT_DUE.value_set(values["amount_due"]),
        PAUSED.value_set(paused),
        NEXT_ACTION_AT.value_set(next_action_at) if next_action_at else NEXT_ACTION_AT.value_unset(),
        POLICY.value_set(policy_id),
        POLICY_VERSION.value_set(policy_version),
    ]
    return CaseAttributes(values, updates)


_KINDS = {STAGE: "Keyword", DEBTOR: "Keyword", AMOUNT_DUE: "Double", PAUSED: "Bool", NEXT_ACTION_AT: "Datetime",
          POLICY: "Keyword", POLICY_VERSION: "Int"}


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
