"""Saved histories of real lifecycles must replay on today's code: an edit that would break in-flight
cases fails here, before deploy. After an intended, patched change (`workflow.patched`), move the current
histories into a folder named after the change (cases opened before it may still be running) and record
new ones with:
    RELANCE_RECORD_HISTORIES=1 make test PYTEST_ARGS="tests/replay -k record"
"""
import json
import os
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from relance.payloads import DATA_CONVERTER
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.replay.scenarios import SCENARIOS
from workflows import WORKFLOWS

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
BAD = "bad_activity_renamed"


SAVED = sorted(str(p.relative_to(HISTORIES).with_suffix("")) for p in HISTORIES.rglob("*.json") if p.stem != BAD)


def load(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER)


def test_every_scenario_has_a_history_from_current_code():
    assert set(SCENARIOS) <= set(SAVED)


@pytest.mark.parametrize("name", SAVED)
async def test_saved_history_replays_on_current_code(name):
    result = await replayer().replay_workflow(load(name), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure}"


async def test_a_history_from_incompatible_code_fails_replay():
    """Guards the guard: a history whose commands differ from the code must be caught."""
    result = await replayer().replay_workflow(load(BAD), raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, NondeterminismError), repr(result.replay_failure)


@pytest.mark.skipif(os.environ.get("RELANCE_RECORD_HISTORIES") != "1", reason="records histories on demand")
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=[pytest.mark.per_debtor] if getattr(SCENARIOS[name], "per_debtor", False) else [])
    for name in sorted(SCENARIOS)])
async def test_record(name, harness, today):
    case = await SCENARIOS[name](harness, today)
    history = await case.handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json())
    if name == "paid_early":
        # The same lifecycle as if the code had scheduled another activity first.
        events = json.loads(history.to_json())
        for event in events["events"]:
            attributes = event.get("activityTaskScheduledEventAttributes")
            if attributes and attributes["activityType"]["name"] == "send_email":
                attributes["activityType"]["name"] = "write_document"
                break
        (HISTORIES / f"{BAD}.json").write_text(json.dumps(events))
