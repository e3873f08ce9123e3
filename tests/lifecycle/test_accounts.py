"""A customer, not an invoice: under `grouping: per_debtor` (the default policy) the invoices of one customer share
one conversation. Each invoice still records its own step, rule and policy version, and the message that carried it."""
import datetime as dt
import uuid
from email.utils import parsedate_to_datetime

import pytest

from tests.pdf import pdf_text
from tests.lifecycle.scenario import PARIS, Case, customer_invoices

pytestmark = pytest.mark.per_debtor

J10, J3, J2 = "reminder:preventive-j-10", "reminder:preventive-j-3", "reminder:amicable-j+2"


async def open_all(harness, invoices) -> list[Case]:
    return [await Case.open(harness, inv) for inv in invoices]


async def day_by_day(case: Case, until: dt.date) -> None:
    """Let time run to `until`, a day per call: one sleep over several busy days outlasts the test server's RPC
    timeout on a loaded machine (an account's step is a few workflow tasks more than an invoice's)."""
    day = await case.today()
    while day < until:
        day += dt.timedelta(days=1)
        await case.wait_until(day)


async def test_three_invoices_falling_due_together_get_one_message_per_reminder_step(harness, today):
    cases = await open_all(harness, customer_invoices(["1200.00", "300.00", "4800.00"], today=today, due_in_days=20))
    await day_by_day(cases[0], cases[0].invoice.due_date + dt.timedelta(days=3))

    mails = cases[0].emails()
    keys = [m["X-Relance-Key"] for m in mails]
    assert len(mails) == 3, keys
    assert [k.rsplit(":", 2)[-2] + ":" + k.rsplit(":", 1)[-1] for k in keys] == [J10, J3, J2]
    assert [parsedate_to_datetime(m["Date"]).date().isoformat() for m in mails] == [k.split(":")[1] for k in keys], (
        "each message is dated when it went out on the simulated clock")
    body = mails[-1].get_body(("plain",)).get_content()
    for case in cases:
        assert case.invoice.number in body
    for case in cases:
        emailed = [a for a in (await case.status()).audit if a.kind == "email"]
        assert [a.step for a in emailed] == [J10, J3, J2], "each invoice records its own steps"
        assert [a.refs[-1] for a in emailed] == keys, "and the message that carried each"
        assert emailed[0].rule_id == "preventive-j-10" and emailed[0].policy_ref.startswith("default@v")


@pytest.mark.today("2027-03-10")  # a Wednesday: J-10 of the first invoice on Thursday, of the second on Friday
async def test_a_customer_never_gets_two_reminders_within_the_minimum_gap(harness, today):
    first, second = customer_invoices(["1200.00", "300.00"], today=today, due_in_days=11)
    second = second.model_copy(update={"due_date": first.due_date + dt.timedelta(days=1)})
    cases = await open_all(harness, [first, second])
    await day_by_day(cases[0], dt.date(2027, 3, 16))

    days = [(m["X-Relance-Key"].split(":")[1], m.get_body(("plain",)).get_content()) for m in cases[0].emails()]
    assert [day for day, _ in days] == ["2027-03-11", "2027-03-15"], "Friday's waits for the gap: Monday"
    assert first.number in days[0][1] and second.number not in days[0][1]
    assert second.number in days[1][1]
    sent = (await cases[1].action(J10))
    assert sent.at.date() == dt.date(2027, 3, 12), "the invoice's step is dated when it fell due"
    assert sent.refs[-1].startswith(f"account-{first.debtor.debtor_id}:2027-03-15:")


async def run_batch_with_fault(env, smtp, config, today, fault, *, restart: bool = False):
    """Two invoices of one customer up to their J-10, the account's message failing at `fault`'s points; with
    `restart`, the worker holding the batch is stopped while the send fails and another one takes over."""
    from activities.mail import SentLedger, SmtpMailer
    from relance.config import WorkerSettings
    from tests.conftest import Harness
    from worker import build_activities, build_worker

    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    harness = Harness(env=env, task_queue=task_queue, outbox=smtp.outbox, var=config.var_dir)
    invoices = customer_invoices(["1200.00", "300.00"], today=today, due_in_days=12)
    first = SmtpMailer(config.smtp, SentLedger(config.sent_ledger), fault=fault)
    # Without a cache, the first worker holds no sticky queue: once it stops, the cases' next tasks (and queries)
    # go to whichever worker polls, at once rather than after the sticky timeout.
    settings = WorkerSettings(max_cached_workflows=0) if restart else WorkerSettings()
    async with build_worker(env.client, task_queue, build_activities(config, mailer=first), settings):
        cases = await open_all(harness, invoices)
        await cases[0].wait_until_due_plus(-11)
        # Just past the account's collection (9:15): its first attempts fail. Retries run on the wall clock (time
        # does not skip while an activity is pending), so a few seconds only.
        j10 = dt.datetime.combine(invoices[0].due_date - dt.timedelta(days=10), dt.time(9, 15, 5), tzinfo=PARIS)
        await env.sleep(j10 - await cases[0].now())
        if not restart:
            await cases[0].wait_until_due_plus(-9)
            statuses = [await case.status() for case in cases]
            await harness.end_cases()
    await first.close()
    if restart:
        second = SmtpMailer(config.smtp, SentLedger(config.sent_ledger))
        async with build_worker(env.client, task_queue, build_activities(config, mailer=second)):
            # The send's next retry (seconds away, on the wall clock) is this worker's.
            statuses = [await case.until(lambda s: any(a.kind == "email" for a in s.audit), "record the message",
                                         seconds=120) for case in cases]
            await harness.end_cases()
        await second.close()
    mails = [m for m in cases[0].emails() if m["X-Relance-Key"].endswith(J10)]
    return mails, [[a for a in s.audit if a.kind == "email"] for s in statuses]


async def test_a_grouped_message_failing_after_the_smtp_hand_off_arrives_once(env, smtp, config, today):
    failures = []

    def after_hand_off(point: str, key: str) -> None:
        if point == "confirmed" and key.startswith("account-") and not failures:
            failures.append(key)
            raise ConnectionError("worker lost after the hand-off")

    mails, audits = await run_batch_with_fault(env, smtp, config, today, after_hand_off)

    assert failures and len(mails) == 1, "one message reached the SMTP server"
    assert [[a.step for a in audit] for audit in audits] == [[J10], [J10]], "each invoice records it once"
    assert {audit[0].refs[0] for audit in audits} == {mails[0]["Message-ID"]}


async def test_a_worker_stopped_mid_batch_loses_nothing_and_doubles_nothing(env, smtp, config, today):
    """The asks are in the account, its send failing on the first worker (which then stops): the second worker
    sends the one message and every invoice records it."""
    attempts = []

    def dying(point: str, key: str) -> None:
        if point == "claimed" and key.startswith("account-"):
            attempts.append(key)
            raise ConnectionError("this worker is going down")

    mails, audits = await run_batch_with_fault(env, smtp, config, today, dying, restart=True)

    assert attempts, "the first worker tried and failed"
    assert len(mails) == 1
    assert [[a.step for a in audit] for audit in audits] == [[J10], [J10]]


@pytest.mark.today("2027-03-10")
async def test_an_insured_customer_with_two_invoices_gets_one_notice_and_one_insurer_claim_for_9000(harness, today):
    """Issue 14's scenario: two invoices of 14 400 € TTC (12 000 € HT), credit limit 10 000 €, cover 90 %."""
    invoices = customer_invoices(["14400.00", "14400.00"], today=today, due_date=today - dt.timedelta(days=59),
                                 excl="12000.00", insured=True, credit_limit="10000.00")
    cases = await open_all(harness, invoices)
    # Imported late: the last reminder at once, the notice 15 days later (25/03), the claim once its deadline passed.
    await day_by_day(cases[0], today + dt.timedelta(days=27))

    notices = [m for m in cases[0].emails() if m["X-Relance-Key"].endswith(":notice")]
    claims = [m for m in harness.sent_to("sinistres@assureur.example")
              if m["X-Relance-Key"].startswith(f"account-{invoices[0].debtor.debtor_id}:")]  # the session's outbox
    assert len(notices) == 1 and len(claims) == 1
    notice = notices[0].get_body(("plain",)).get_content()
    assert all(inv.number in notice for inv in invoices) and "MISE EN DEMEURE" in notice
    [attached] = [part for part in notices[0].iter_attachments() if part.get_content_type() == "application/pdf"]
    printed = pdf_text(attached.get_content())
    assert all(inv.number in printed for inv in invoices), "the policy's attach_pdf: the customer's notice, printed"
    claim = claims[0].get_body(("plain",)).get_content()
    assert "9\u202f000,00\u00a0€" in claim and all(inv.number in claim for inv in invoices)
    for case in cases:
        status = await case.status()
        filed = next(a for a in status.audit if a.kind == "insurer")
        assert "9\u202f000,00\u00a0€" in filed.summary and filed.refs[-1] == claims[0]["X-Relance-Key"]
        assert status.expected_indemnity == 9000
        assert [a.step for a in status.audit if a.kind == "letter"] == ["notice"], "one printed notice, carried for both"


async def test_a_customers_small_claims_past_the_ceiling_go_to_one_injonction_request(harness, today):
    """Two uninsured invoices of 3 000 € each escalate to small claims alone; together (6 000 € and penalties)
    they pass the procedure's 5 000 € ceiling: the account files one injonction request and both cases follow it."""
    invoices = customer_invoices(["3000.00", "3000.00"], today=today, due_date=today - dt.timedelta(days=59))
    cases = await open_all(harness, invoices)
    await day_by_day(cases[0], today + dt.timedelta(days=27))

    for case in cases:
        status = await case.status()
        assert (status.path, status.stage) == ("injonction", "injonction")
        assert [t.key for t in status.tasks if t.key.endswith(":file")] == ["injonction:file"]
        changed = next(a for a in status.audit if a.step == "escalate:injonction")
        assert "plafond de la procédure des petites créances" in changed.summary
        dossier = next(a for a in status.audit if a.step == "small_claims:dossier")
        assert dossier.refs[-1].endswith(":injonction"), "the account's request, keyed as an injonction"
        assert not any(a.step == "small_claims:file" for a in status.audit), "the withdrawn task was never written"
    to_ops = [m["X-Relance-Key"] for m in harness.sent_to("recouvrement@fournisseur.example")]
    assert not any(key.endswith("task:small_claims:file") for key in to_ops)
    assert sum(key.endswith("task:injonction:file") for key in to_ops) == 2


async def test_an_invoice_reaching_the_claim_a_month_later_complements_the_customers_claim(harness, today):
    """The same customer, the second invoice a month behind: its notice complements the first, and the credit limit
    caps both together: 9 000 € expected in all, not 9 000 € per notice."""
    first, second = customer_invoices(["14400.00", "14400.00"], today=today, due_date=today - dt.timedelta(days=59),
                                      excl="12000.00", insured=True, credit_limit="10000.00")
    second = second.model_copy(update={"due_date": first.due_date + dt.timedelta(days=30),
                                       "issue_date": first.issue_date + dt.timedelta(days=30)})
    cases = await open_all(harness, [first, second])
    await day_by_day(cases[0], today + dt.timedelta(days=60))

    claims = [m for m in harness.sent_to("sinistres@assureur.example")
              if m["X-Relance-Key"].startswith(f"account-{first.debtor.debtor_id}:")]  # the outbox is the session's
    assert len(claims) == 2, [c["Subject"] for c in claims]
    assert claims[0]["Subject"].startswith("Déclaration de menace de sinistre")
    assert claims[1]["Subject"].startswith("Déclaration complémentaire de menace de sinistre")
    body = claims[1].get_body(("plain",)).get_content()
    assert f"factures {first.number}" in body and "9\u202f000,00\u00a0€ (estimation, pour le client" in body
    for case in cases:
        status = await case.status()
        assert status.expected_indemnity == 9000, "the customer's, never one cap per notice"
    filed = next(a for a in (await cases[1].status()).audit if a.kind == "insurer")
    assert filed.summary.startswith("Déclaration complémentaire de menace de sinistre du client")


async def record_credit(harness, debtor_id: str, reference: str, amount: str, on: dt.date) -> None:
    """As `relance credit` does: signal-with-start of the customer's account."""
    from decimal import Decimal

    from domain.grouping import AccountStart, account_workflow_id
    from domain.letters import AccountCredit
    from workflows.debtor_account import DebtorAccount

    handle = await harness.env.client.start_workflow(
        DebtorAccount.run, AccountStart(debtor_id=debtor_id), id=account_workflow_id(debtor_id),
        task_queue=harness.task_queue, start_signal="record_credit",
        start_signal_args=[AccountCredit(reference=reference, kind="credit_note", on=on, amount=Decimal(amount))])
    harness.started.append(handle)


async def test_credits_are_netted_and_a_customer_they_cover_gets_no_reminder(harness, today):
    cases = await open_all(harness, customer_invoices(["1200.00", "300.00"], today=today, due_in_days=12))
    debtor = cases[0].invoice.debtor.debtor_id
    await record_credit(harness, debtor, "AV-1", "1000.00", today)
    await day_by_day(cases[0], cases[0].invoice.due_date - dt.timedelta(days=9))
    await record_credit(harness, debtor, "AV-2", "500.00", await cases[0].today())
    await day_by_day(cases[0], cases[0].invoice.due_date - dt.timedelta(days=2))

    mails = cases[0].emails()
    assert len(mails) == 1, "J-10 went out, netted; J-3 is covered by the credits"
    body = mails[0].get_body(("plain",)).get_content()
    assert "AV-1" in body and "SOLDE NET DÛ" in body and "500,00" in body
    for case in cases:
        j3 = await case.action(J3)
        assert j3.refs == [] and "Relance non envoyée" in j3.summary and "AV-2" in j3.summary


@pytest.mark.today("2027-03-10")
async def test_a_disputed_invoice_leaves_the_conversation_and_comes_back_when_resolved(harness, today):
    from domain.case import DisputeRequest, DisputeResolution
    from workflows.invoice_case import InvoiceCase

    kept, disputed = await open_all(harness, customer_invoices(["1200.00", "300.00"], today=today, due_in_days=12))
    await (await disputed.opened()).update(InvoiceCase.open_dispute, DisputeRequest(reason="Livraison incomplète"))
    await day_by_day(kept, dt.date(2027, 3, 13))
    await disputed.update(InvoiceCase.resolve_dispute, DisputeResolution(outcome="resume"))
    await day_by_day(kept, dt.date(2027, 3, 17))

    bodies = [m.get_body(("plain",)).get_content() for m in kept.emails()]
    assert len(bodies) == 2
    assert kept.invoice.number in bodies[0] and disputed.invoice.number not in bodies[0]
    assert disputed.invoice.number in bodies[1] and kept.invoice.number not in bodies[1]
    assert [a.step for a in (await disputed.status()).audit if a.kind == "email"] == [J10]


async def test_a_grouped_message_ops_found_at_the_relay_is_not_sent_again_days_later(env, smtp, config, today):
    """RELANCE_MAIL_UNCONFIRMED=review (the default): the relay accepted the customer's message and the worker never
    recorded it. Ops look two days later, find it in the relay's log and answer `sent`: each case, retried, records the
    step as carried by that message; one retried before their answer waits for it again. Asked again, the account
    would key a new message on the new day and send it."""
    from activities.mail import SentLedger, SmtpMailer
    from tests.conftest import Harness
    from worker import build_activities, build_worker
    from workflows.invoice_case import InvoiceCase

    held = []

    def lost_after_acceptance(point: str, key: str) -> None:
        if point == "accepted" and key.startswith("account-") and not held:
            held.append(key)
            raise ConnectionError("worker lost between the relay's 250 and the ledger")

    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    harness = Harness(env=env, task_queue=task_queue, outbox=smtp.outbox, var=config.var_dir)
    ledger = SentLedger(config.sent_ledger, lease_seconds=0.3, unconfirmed_seconds=0.5)
    mailer = SmtpMailer(config.smtp, ledger, fault=lost_after_acceptance)
    async with build_worker(env.client, task_queue, build_activities(config, mailer=mailer)):
        cases = await open_all(harness, customer_invoices(["1200.00", "300.00"], today=today, due_in_days=12))
        await cases[0].wait_until_due_plus(-11)
        j10 = dt.datetime.combine(cases[0].invoice.due_date - dt.timedelta(days=10), dt.time(9, 15, 5), tzinfo=PARIS)
        await env.sleep(j10 - await cases[0].now())
        for case in cases:
            status = await case.until(lambda s: s.failure is not None and s.failure.waiting_for_retry,
                                      "hold the customer's message for ops", seconds=60)
            assert "jamais été confirmé" in status.failure.error
        assert ledger.lookup(held[0]).state == "review"

        await env.sleep(dt.timedelta(days=2))
        # Retried before ops answered: the case asks ops again; asked again, the account would send a new message.
        await cases[0].handle.execute_update(InvoiceCase.retry_step)
        again = await cases[0].until(lambda s: s.failure is not None and s.failure.waiting_for_retry
                                     and "toujours en attente" in s.failure.error, "hold the step for ops again")
        assert any("toujours en attente" in t.text and "Corriger" not in t.text for t in again.tasks)
        assert ledger.resolve(held[0], sent=True), "ops: it is in the relay's log"
        for case in cases:
            await case.handle.execute_update(InvoiceCase.retry_step)
        audits = [[a for a in (await case.until(lambda s: any(a.kind == "email" for a in s.audit),
                                                "record the message ops found")).audit if a.kind == "email"]
                  for case in cases]
        await cases[0].wait_until_due_plus(-7)
        await harness.end_cases()
    await mailer.close()

    mails = [m for m in cases[0].emails() if m["X-Relance-Key"].endswith(J10)]
    assert len(mails) == 1, [m["X-Relance-Key"] for m in mails]
    assert [[a.step for a in audit] for audit in audits] == [[J10], [J10]]
    assert {audit[0].refs[0] for audit in audits} == {mails[0]["Message-ID"]}
    assert {audit[0].refs[-1] for audit in audits} == {held[0]}
