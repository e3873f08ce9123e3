"""The floor relance is measured against: a workflow that does only what a case needs of Temporal.

`BareCase` receives the same invoice as `InvoiceCase`, then plays a list of operations: run an activity,
sleep until a moment, or sleep until a moment unless a message (an update) comes first. Its activity does
nothing (or, in the full floor, hands a fixed email to the SMTP relay). For each relance outcome the
operations are derived from relance's own history (`ops_from_history`): the same activities, the same
timers firing at the same moments, the same messages, so the two workflows do the same amount of Temporal
work and any difference is relance's own cost.

Operations, as short strings to keep the start payload small:

    "a"              run `bare_step` (trivial)
    "e"              run `bare_email` (`bench.bare_mail`): one SMTP transaction of a fixed message
    "l"              run `bare_step` as a local activity
    "t<epoch>"       sleep until that moment (seconds since 1970, UTC)
    "w<epoch>"       sleep until that moment, or until the next message, whichever comes first
    "u"              wait for the next message, no timer
    "v<names>"       upsert these search attributes (relance's names, comma-separated) with placeholder values

The issue's floor is the same timers, activities and messages, with no SMTP: `plain_floor` leaves the "v"
operations out and turns every "e" into "a". A second bare run, the full floor, keeps both, so that the
benchmark can tell the work any dunning engine on Temporal must do (keep a case's visibility current, hold
an SMTP conversation per email) from relance's own cost on top of it: rules, rendering, the sent ledger,
payloads and workflow code.
"""
from __future__ import annotations

import asyncio
import datetime as dt

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import SearchAttributeIndexedValueType as Indexed

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ADAPTER_CALL as BARE_CALL  # the options relance gives every adapter call
    from domain.invoice import Invoice
    from workflows.visibility import KEYS as SEARCH_ATTRIBUTES



class BareStart(BaseModel):
    invoice: Invoice
    ops: list[str]


@activity.defn
async def bare_step(key: str) -> str:
    return key


@workflow.defn
class BareCase:
    def __init__(self) -> None:
        self.messages = 0

    @workflow.run
    async def run(self, start: BareStart) -> int:
        expected = 0
        for n, op in enumerate(start.ops):
            kind = op[0]
            if kind == "a":
                await workflow.execute_activity(bare_step, f"{start.invoice.number}:{n}", **BARE_CALL)
            elif kind == "e":
                await workflow.execute_activity("bare_email", f"{start.invoice.number}:{n}", result_type=str,
                                                **BARE_CALL)
            elif kind == "l":
                await workflow.execute_local_activity(bare_step, f"{start.invoice.number}:{n}", **BARE_CALL)
            elif kind == "t":
                remaining = float(op[1:]) - workflow.now().timestamp()
                if remaining > 0:
                    await asyncio.sleep(remaining)
            elif kind == "v":
                workflow.upsert_search_attributes([placeholder(SEARCH_ATTRIBUTES[name]) for name in op[1:].split(",")])
            elif kind in "wu":
                expected += 1
                target = expected
                remaining = float(op[1:]) - workflow.now().timestamp() if kind == "w" else 0
                if remaining > 0:
                    try:
                        await workflow.wait_condition(lambda: self.messages >= target, timeout=remaining)
                    except asyncio.TimeoutError:
                        pass
                await workflow.wait_condition(lambda: self.messages >= target)
            else:
                raise ValueError(f"unknown bare operation {op!r}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return len(start.ops)

    @workflow.update
    def message(self, text: str) -> str:
        self.messages += 1
        return text


def placeholder(key):
    """A value of the attribute's type, the size of what relance publishes."""
    kind = key.indexed_value_type
    value = {Indexed.KEYWORD: "bare", Indexed.DOUBLE: 0.0, Indexed.BOOL: False, Indexed.INT: 0}.get(kind)
    return key.value_set(workflow.now() if kind is Indexed.DATETIME else value)


def plain_floor(ops: list[str]) -> list[str]:
    """The issue's floor: no search attribute upserts, and every email an activity that does nothing."""
    return ["a" if op == "e" else op for op in ops if op[0] != "v"]


def build_bare_worker(client, task_queue: str, settings, mail=None):
    """The same worker settings as `worker.build_worker` (pollers, cache, activity slots), bare workflow.

    `mail`, a `bench.bare_mail.BareMail`, adds the `bare_email` activity the full floor's "e" operations run.
    """
    from temporalio.worker import Worker

    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BareCase],
        activities=[bare_step, *([mail.send] if mail else [])],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_task_polls=settings.workflow_pollers,
        max_concurrent_activity_task_polls=settings.activity_pollers,
        max_concurrent_activities=settings.max_concurrent_activities,
    )


# What relance's first decision upserts (its debtor was given at the start): `workflows.visibility.changed`.
FIRST_UPSERT = ["RelanceStage", "RelanceAmountDue", "RelancePaused", "RelanceNextActionAt", "RelancePolicy",
                "RelancePolicyVersion"]


def sleeping_ops(first_step: dt.datetime, visibility: bool = False) -> list[str]:
    """A freshly opened case: one local activity (relance reads its policy), then asleep until its first step;
    with `visibility`, the search attributes relance's first decision publishes, upserted in between."""
    return ["l", *(["v" + ",".join(FIRST_UPSERT)] if visibility else []), f"t{first_step.timestamp():.3f}"]


def ops_from_history(history) -> list[str]:
    """The bare operations doing the Temporal work a relance history shows, in its order.

    Every `send_email` activity scheduled becomes "e", every other activity "a", every local activity recorded
    "l", every search attribute upsert "v" with the attributes' names; every timer that fired becomes "t" at
    its moment; every update accepted becomes "w" at the moment of the timer it interrupted (relance cancels
    its pending timer on a message and replans), or "u" when no timer was pending. Timers relance cancels are
    not copied: the "w" of the message that cancelled them starts and cancels one timer, which is the floor
    for a case that sleeps until its next step unless a message comes first.
    """
    from temporalio.api.enums.v1 import EventType

    ops: list[str] = []
    pending: dict[str, float] = {}  # timer id -> fire moment
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activity_type = event.activity_task_scheduled_event_attributes.activity_type.name
            ops.append("e" if activity_type == "send_email" else "a")
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED and "local_activity" in event.marker_recorded_event_attributes.marker_name:
            ops.append("l")
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            attrs = event.timer_started_event_attributes
            start = event.event_time.ToDatetime(tzinfo=dt.timezone.utc)
            pending[attrs.timer_id] = (start + attrs.start_to_fire_timeout.ToTimedelta()).timestamp()
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            ops.append(f"t{pending.pop(event.timer_fired_event_attributes.timer_id):.3f}")
        elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
            pending.pop(event.timer_canceled_event_attributes.timer_id, None)
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            names = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            ops.append("v" + ",".join(sorted(names)))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            ops.append(f"w{min(pending.values()):.3f}" if pending else "u")
    return ops


def floor_events(ops: list[str]) -> int:
    """Events of the smallest history for `ops`, if no two things share a workflow task.

    Start: started + one workflow task (3) = 4; an activity ("a" or "e"): scheduled, started, completed + a
    workflow task = 6; a local activity: its marker, inside the workflow task that asked for it = 1; a timer:
    started, fired + a workflow task = 5; a message: accepted, completed + a workflow task = 5,
    plus the timer it interrupts (started, cancelled) = 7 for "w"; an upsert, inside a workflow task that
    runs anyway = 1; the end: completed = 1.
    A 6-step lifecycle (timer then activity, six times) is 4 + 6 * 11 + 1 = 71.
    """
    cost = {"a": 6, "e": 6, "l": 1, "t": 5, "w": 7, "u": 5, "v": 1}
    return 4 + sum(cost[op[0]] for op in ops) + 1
