"""A reminder goes out once and is recorded once, whatever point of the send an attempt fails at."""
import contextlib
import uuid

import pytest

from activities.mail import SentLedger, SmtpMailer, message_id_for
from tests.conftest import Harness
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase
from worker import build_activities, build_worker

J10 = "reminder:preventive-j-10"


@contextlib.asynccontextmanager
async def case_with_fault(env, smtp, config, today, point: str, ledger: SentLedger | None = None):
    """A case due in 20 days on its own worker, the first attempt at sending its J-10 reminder failing at `point`."""
    failures: list[str] = []

    def fail_once(at: str, key: str) -> None:
        if at == point and key.endswith(J10) and not failures:
            failures.append(key)
            raise ConnectionError(f"worker lost at {point}")

    mailer = SmtpMailer(config.smtp, ledger or SentLedger(config.sent_ledger), fault=fail_once)
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    harness = Harness(env=env, task_queue=task_queue, outbox=smtp.outbox, var=config.var_dir)
    try:
        async with build_worker(env.client, task_queue, build_activities(config, mailer=mailer)):
            yield await Case.open(harness, invoice(today=today, due_in_days=20))
            await harness.end_cases()
    finally:
        await mailer.close()
    assert failures, "the fault was injected"


async def run_j10_with_fault(env, smtp, config, today, point: str, ledger: SentLedger | None = None):
    """The case up to its J-10 reminder: the messages of that key the SMTP server got, and the case's emails."""
    async with case_with_fault(env, smtp, config, today, point, ledger) as case:
        await case.wait_until_due_plus(-8)
        status = await case.status()
    j10 = [m for m in case.emails() if m["X-Relance-Key"].endswith(J10)]
    return j10, [a.step for a in status.audit if a.kind == "email"]


@pytest.mark.parametrize("point", ["claimed", "before_data", "before_dot", "confirmed"])
async def test_a_failure_before_the_final_dot_or_after_the_record_sends_the_reminder_once(env, smtp, config, today, point):
    j10, emailed = await run_j10_with_fault(env, smtp, config, today, point)

    assert len(j10) == 1, "exactly one message reached the SMTP server"
    assert emailed == [J10]


async def test_a_loss_between_acceptance_and_record_resends_with_the_same_message_id(env, smtp, config, today):
    """The one window left: SMTP accepted, the ledger does not know. The claim is never taken for a send;
    once its lease ran out (and, its owner being alive here, `unconfirmed_seconds` passed) it goes again."""
    ledger = SentLedger(config.sent_ledger, lease_seconds=0.3, unconfirmed_seconds=0.5, on_unconfirmed="resend")
    j10, emailed = await run_j10_with_fault(env, smtp, config, today, "accepted", ledger)

    assert len(j10) == 2
    assert {m["Message-ID"] for m in j10} == {message_id_for(j10[0]["X-Relance-Key"])}
    assert emailed == [J10], "the case records the reminder once"


async def test_with_review_an_unconfirmed_send_gives_ops_a_task_and_waits_for_their_answer(env, smtp, config, today):
    """RELANCE_MAIL_UNCONFIRMED=review (the default): SMTP accepted, the ledger does not know. No retry can settle whether the
    debtor has it: the case records the failure, ops get a task saying what to check and answer, and it waits."""
    ledger = SentLedger(config.sent_ledger, lease_seconds=0.3, unconfirmed_seconds=0.5)
    async with case_with_fault(env, smtp, config, today, "accepted", ledger) as case:
        await case.wait_until_due_plus(-10, hour=10)
        status = await case.until(lambda status: status.failure is not None and status.failure.waiting_for_retry,
                                  "hold the unconfirmed reminder for ops")
        key = f"{case.invoice.number}:{J10}"
        task = next(t for t in status.tasks if t.key.startswith(f"failed:{J10}:"))
        assert "jamais été confirmé" in task.text and f"python -m relance.delivery resolve {key}" in task.text
        assert message_id_for(key) in task.text, "what to look for in the relay's log"
        assert f"relance retry {case.invoice.number}" in task.text and "Corriger la donnée" not in task.text
        assert ledger.lookup(key).state == "review"

        # Ops find it in the debtor's mailbox: recorded as sent, not sent again.
        assert ledger.resolve(key, sent=True)
        await case.handle.execute_update(InvoiceCase.retry_step)
        status = await case.until(lambda status: J10 in [a.step for a in status.audit if a.kind == "email"],
                                  "record the reminder ops confirmed")
        assert status.failure is None
    assert len([m for m in case.emails() if m["X-Relance-Key"] == key]) == 1


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
