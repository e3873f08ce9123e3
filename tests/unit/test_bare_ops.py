"""The bare floor is read off relance's own histories: every Temporal operation there becomes a bare one."""
from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from bench.bare import floor_events, ops_from_history, without_visibility
from workflows.visibility import KEYS

HISTORY = Path(__file__).parents[1] / "histories" / "injonction_path.json"


def test_every_upsert_becomes_a_visibility_op_naming_its_attributes():
    history = WorkflowHistory.from_json("case", HISTORY.read_text())
    upserts = [sorted(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
               for e in history.events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    ops = ops_from_history(history)

    visibility = [op[1:].split(",") for op in ops if op.startswith("v")]
    assert visibility == upserts and len(upserts) > 3
    assert set(visibility[0]) == set(KEYS)  # the first upsert publishes every attribute


def test_the_floor_without_visibility_keeps_timers_activities_and_messages_in_order():
    ops = ops_from_history(WorkflowHistory.from_json("case", HISTORY.read_text()))
    plain = without_visibility(ops)

    assert plain == [op for op in ops if op[0] in "altwu"] and len(plain) == len(ops) - sum(op[0] == "v" for op in ops)
    assert floor_events(ops) == floor_events(plain) + (len(ops) - len(plain))
