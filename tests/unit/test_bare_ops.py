"""The bare floor is read off relance's own histories: every Temporal operation there becomes a bare one."""
from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

import statistics

from activities.contracts import OutgoingEmail
from activities.mail import message_bytes, message_id_for
from activities.rendering import render_email
from bench.bare import floor_events, ops_from_history, plain_floor
from bench.bare_mail import BARE_EMAIL_BYTES, bare_message
from relance.payloads import DATA_CONVERTER, decompressed
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


def sent_emails(history) -> list[OutgoingEmail]:
    return [DATA_CONVERTER.payload_converter.from_payloads(
                [decompressed(e.activity_task_scheduled_event_attributes.input.payloads[0])], [OutgoingEmail])[0]
            for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == "send_email"]


def test_every_email_relance_sends_becomes_an_email_op_and_other_activities_stay_plain():
    history = WorkflowHistory.from_json("case", HISTORY.read_text())
    scheduled = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    ops = ops_from_history(history)

    assert sum(op == "e" for op in ops) == len(sent_emails(history)) > 5
    assert sum(op == "a" for op in ops) == len(scheduled) - len(sent_emails(history)) > 0


def test_the_plain_floor_keeps_timers_activities_and_messages_in_order_without_upserts_or_smtp():
    ops = ops_from_history(WorkflowHistory.from_json("case", HISTORY.read_text()))
    plain = plain_floor(ops)

    assert plain == ["a" if op == "e" else op for op in ops if op[0] != "v"] and "e" not in plain
    assert len(plain) == len(ops) - sum(op[0] == "v" for op in ops)
    assert floor_events(ops) == floor_events(plain) + (len(ops) - len(plain))


def test_the_full_floor_email_is_the_size_of_the_emails_relance_renders():
    history = WorkflowHistory.from_json("case", HISTORY.read_text())
    sizes = [len(message_bytes("Service recouvrement <relance@localhost>", email.to, message_id_for(email.key),
                               email.key, render_email(email.letter))) for email in sent_emails(history)]

    assert 0.8 < BARE_EMAIL_BYTES / statistics.median(sizes) < 1.25
    assert abs(len(bare_message("relance@localhost")) - BARE_EMAIL_BYTES) < 100


async def test_the_full_floor_email_is_one_real_smtp_transaction_to_the_relay(smtp):
    from activities.mail import SmtpSettings
    from bench.bare_mail import BARE_RECIPIENT, BareMail

    mail = BareMail(SmtpSettings(port=smtp.port))
    before = len(smtp.outbox.to(BARE_RECIPIENT))
    try:
        assert await mail.send("case:1") == "case:1"
        assert await mail.send("case:2") == "case:2"
    finally:
        await mail.close()

    received = smtp.outbox.to(BARE_RECIPIENT)[before:]
    assert len(received) == 2 and mail.sessions.opened == 1, "sessions are reused, as relance's are"
    assert abs(len(received[0].as_bytes()) - BARE_EMAIL_BYTES) < 200
