"""A reminder goes out once and is recorded once, whatever point of the send an attempt fails at."""
import uuid

import pytest

from activities.mail import SentLedger, SmtpMailer, message_id_for
from tests.lifecycle.scenario import Case, invoice
from worker import build_activities, build_worker

J10 = "reminder:preventive-j-10"


async def run_j10_with_fault(env, smtp, config, today, point: str, ledger: SentLedger | None = None):
    """The case up to its J-10 reminder, the first attempt at sending it failing at `point`."""
    failures: list[str] = []

    def fail_once(at: str, key: str) -> None:
        if at == point and key.endswith(J10) and not failures:
            failures.append(key)
            raise ConnectionError(f"worker lost at {point}")

    mailer = SmtpMailer(config.smtp, ledger or SentLedger(config.sent_ledger), fault=fail_once)
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    from tests.conftest import Harness

    harness = Harness(env=env, task_queue=task_queue, outbox=smtp.outbox, var=config.var_dir)
    async with build_worker(env.client, task_queue, build_activities(config, mailer=mailer)):
        case = await Case.open(harness, invoice(today=today, due_in_days=20))
        await case.wait_until_due_plus(-8)
        status = await case.status()
        await harness.end_cases()
    await mailer.close()
    assert failures, "the fault was injected"
    j10 = [m for m in case.emails() if m["X-Relance-Key"].endswith(J10)]
    return j10, [a.step for a in status.audit if a.kind == "email"]


@pytest.mark.parametrize("point", ["claimed", "before_data", "confirmed"])
async def test_a_failure_before_data_or_after_the_record_sends_the_reminder_once(env, smtp, config, today, point):
    j10, emailed = await run_j10_with_fault(env, smtp, config, today, point)

    assert len(j10) == 1, "exactly one message reached the SMTP server"
    assert emailed == [J10]


async def test_a_loss_between_acceptance_and_record_resends_with_the_same_message_id(env, smtp, config, today):
    """The one window left: SMTP accepted, the ledger does not know. The claim is never taken for a send;
    once its lease ran out (and, its owner being alive here, `unconfirmed_seconds` passed) it goes again."""
    ledger = SentLedger(config.sent_ledger, lease_seconds=0.3, unconfirmed_seconds=0.5)
    j10, emailed = await run_j10_with_fault(env, smtp, config, today, "accepted", ledger)

    assert len(j10) == 2
    assert {m["Message-ID"] for m in j10} == {message_id_for(j10[0]["X-Relance-Key"])}
    assert emailed == [J10], "the case records the reminder once"


async def test_the_send_is_scheduled_with_a_heartbeat_timeout_and_retries_at_most_20_s_apart(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=20))
    await case.wait_until_due_plus(-8)
    history = await case.handle.fetch_history()
    await harness.end_cases()

    sends = [e.activity_task_scheduled_event_attributes for e in history.events
             if e.HasField("activity_task_scheduled_event_attributes")
             and e.activity_task_scheduled_event_attributes.activity_type.name == "send_email"]
    assert sends
    assert {s.heartbeat_timeout.ToSeconds() for s in sends} == {5}
    assert {s.retry_policy.maximum_interval.ToSeconds() for s in sends} == {20}
