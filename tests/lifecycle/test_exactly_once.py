"""A reminder is never sent twice, even when the activity fails after SMTP accepted the message."""
import uuid

from activities.mail import SentLedger, SmtpMailer
from tests.lifecycle.scenario import Case, invoice
from worker import build_activities, build_worker


async def test_a_failure_after_the_smtp_handoff_does_not_send_the_reminder_again(env, smtp, config, today):
    failures: list[str] = []

    def crash_once(key: str) -> None:
        if key.endswith("reminder:preventive-j-10") and not failures:
            failures.append(key)
            raise ConnectionError("worker lost right after the SMTP server accepted the message")

    mailer = SmtpMailer(config.smtp, SentLedger(config.sent_ledger), after_handoff=crash_once)
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    from tests.conftest import Harness

    harness = Harness(env=env, task_queue=task_queue, outbox=smtp.outbox, var=config.var_dir)
    async with build_worker(env.client, task_queue, build_activities(config, mailer=mailer)):
        case = await Case.open(harness, invoice(today=today, due_in_days=20))
        await case.wait_until_due_plus(-8)
        status = await case.status()
        await harness.end_cases()

    assert failures, "the fault was injected"
    j10 = [m for m in case.emails() if m["X-Relance-Key"].endswith("reminder:preventive-j-10")]
    assert len(j10) == 1, "exactly one message reached the SMTP server"
    assert [a.step for a in status.audit if a.kind == "email"] == ["reminder:preventive-j-10"]
