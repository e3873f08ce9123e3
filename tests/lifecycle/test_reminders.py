"""The reminder ladder, driven by the rule files, on the real workflow."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

from domain.calendar import is_business_day, next_business_day
from domain.case import Payment
from domain.policy import Calendar
from tests.lifecycle.scenario import PARIS, Case, invoice
from tests.pdf import pdf_text
from workflows.invoice_case import InvoiceCase


async def test_paid_before_the_second_courtesy_reminder_closes_with_thanks(harness, today):
    case = await Case.open(harness, invoice(today=today, due_in_days=30))
    await case.wait_until_due_plus(-5)
    receipt = await case.update(InvoiceCase.record_payment, Payment(amount=Decimal("1200.00")))
    result = await case.finished()

    assert receipt.closed and receipt.to_principal == Decimal("1200.00") and receipt.to_penalties == 0
    assert result.stage == "closed" and result.closed_reason == "paid"
    assert [a.step for a in result.audit if a.kind == "email"] == ["reminder:preventive-j-10", "thank-you"]
    assert len(case.emails()) == 2
    assert "règlement reçu" in case.subjects()[-1]


async def test_reminders_skip_weekends_and_public_holidays(harness, today):
    # A Thursday due date puts J+2 on a Saturday.
    due = today + dt.timedelta(days=30)
    due += dt.timedelta(days=(3 - due.weekday()) % 7)
    case = await Case.open(harness, invoice(today=today, due_date=due))
    await case.wait_until_due_plus(10)

    sent = (await case.action("reminder:amicable-j+2")).at
    calendar = Calendar()
    assert case.day_of(sent) == next_business_day(due + dt.timedelta(days=2), calendar)
    assert case.day_of(sent).weekday() < 5 and case.day_of(sent) > due + dt.timedelta(days=2)
    for action in (await case.status()).audit:
        if action.kind == "email":
            assert is_business_day(case.day_of(action.at), calendar), action
            assert action.at.astimezone(PARIS).hour == 9, "at the policy's sending hour"


async def test_the_same_invoice_follows_two_rule_files_to_two_timelines(harness, today):
    default = await Case.open(harness, invoice(today=today, due_in_days=20))
    brisk = await Case.open(harness, invoice(today=today, due_in_days=20, policy="brisk"))
    await default.wait_until_due_plus(40)

    def ladder(status):
        return [(a.step, (default.day_of(a.at) - default.invoice.due_date).days) for a in status.audit
                if a.kind == "email" and a.step.startswith("reminder:")]

    default_ladder, brisk_ladder = ladder(await default.status()), ladder(await brisk.status())
    assert [step for step, _ in default_ladder] == [
        "reminder:preventive-j-10", "reminder:preventive-j-3", "reminder:amicable-j+2", "reminder:amicable-j+30"]
    assert [step for step, _ in brisk_ladder] == ["reminder:brisk-j-5", "reminder:brisk-j+7", "reminder:brisk-j+21"]
    assert [days for _, days in brisk_ladder] == [-5, 7, 21]  # weekends allowed by that policy: exact offsets
    assert (await brisk.status()).policy_ref == "brisk@v1"
    assert all(a.policy_ref == "brisk@v1" for a in (await brisk.status()).audit)
    # The brisk policy's J+7 asks for a phone call: a task for ops, emailed to the ops mailbox.
    assert "reminder:brisk-j+7:call" in await brisk.steps("task")
    assert "reminder:amicable-j+2:call" not in await default.steps("task")
    # Its J+21 also goes by post: a printable letter, and a task for ops to post it.
    letter = next(a for a in (await brisk.status()).audit if a.kind == "letter")
    page = pdf_text(letter.refs[0])
    assert letter.step == "reminder:brisk-j+21" and "dernière relance" in page and brisk.invoice.number in page
    assert "ce courrier" in page and "courriel" not in page
    assert "reminder:brisk-j+21:post" in await brisk.steps("task")


async def test_an_invoice_imported_late_joins_the_ladder_at_its_next_step(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=today - dt.timedelta(days=20)))
    await case.wait_until(today + dt.timedelta(days=1))
    status = await case.status()

    skipped = [a.step for a in status.audit if a.kind == "skipped"]
    assert skipped == ["reminder:preventive-j-10", "reminder:preventive-j-3", "reminder:amicable-j+2"]
    assert case.emails() == []  # no burst of stale reminders
    assert status.next_action.step == "reminder:amicable-j+30"
    assert status.penalties_due > 0 and status.indemnity_due == Decimal("40.00")


async def test_an_invoice_imported_after_its_ladder_starts_at_the_last_reminder(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=today - dt.timedelta(days=100)))
    await case.wait_until(today + dt.timedelta(days=1))
    status = await case.status()

    assert [a.step for a in status.audit if a.kind == "email"] == ["reminder:amicable-j+45"]
    assert status.next_action.step == "notice"
    # The policy puts the notice 15 days after the last reminder (J+60 - J+45): so it does here too.
    gap = case.day_of(status.next_action.at) - case.day_of((await case.action("reminder:amicable-j+45")).at)
    assert dt.timedelta(days=15) <= gap <= dt.timedelta(days=18)
