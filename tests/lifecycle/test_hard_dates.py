"""The date-sensitive paths, run on purpose at the days that break calendars: each test pins its own today."""
import datetime as dt

import pytest

from domain.case import InsolvencyNotice
from tests.lifecycle.scenario import Case, invoice
from workflows.invoice_case import InvoiceCase

D = dt.date


async def sent_on(case: Case, step: str) -> dt.date:
    return case.day_of((await case.action(step)).at)


@pytest.mark.today("2027-12-24")
async def test_christmas_eve_a_reminder_falling_on_christmas_goes_out_on_the_next_working_day(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=D(2027, 12, 23)))  # J+2 is Saturday 25 December
    await case.wait_until(D(2027, 12, 28))
    assert await sent_on(case, "reminder:amicable-j+2") == D(2027, 12, 27)  # Monday
    assert (await case.status()).stage == "amicable", "opened overdue: the stage says where it really is"


@pytest.mark.today("2027-12-31")
async def test_new_years_eve_penalties_split_at_the_year_end_and_nothing_goes_out_on_new_years_day(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=D(2027, 12, 30), amount="12000.00"))  # J+2: 1 January
    await case.wait_until(D(2028, 1, 12))
    assert await sent_on(case, "reminder:amicable-j+2") == D(2028, 1, 3)  # 1 Jan is a holiday, 2 Jan a Sunday
    lines = (await case.status()).penalty_lines
    assert [(line.start, line.end) for line in lines] == [(D(2027, 12, 31), D(2027, 12, 31)), (D(2028, 1, 1), D(2028, 1, 12))]


@pytest.mark.today("2028-02-29")
async def test_the_29th_of_february_counts_as_a_day_late_and_two_months_from_it_pass_a_weekend_and_may_day(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=D(2028, 1, 29), amount="10000.00"))
    await case.wait_until(today, hour=13)
    lines = (await case.status()).penalty_lines
    assert [(line.start, line.end, line.days) for line in lines] == [(D(2028, 1, 30), D(2028, 2, 29), 31)]
    await case.update(InvoiceCase.record_insolvency,
                      InsolvencyNotice(kind="redressement", judgment_on=today, published_on=today))
    await case.wait_until(today + dt.timedelta(days=1))
    status = await case.status()
    # 29 April 2028 is a Saturday, 1 May a public holiday: the declaration deadline is Tuesday 2 May (CPC 642).
    assert status.next_action.step == "insolvency:declare-by:2028-05-02"
    assert any("avant le 02/05/2028" in t.text for t in status.tasks if t.key == "insolvency:declare")


@pytest.mark.today("2026-08-15")
async def test_saturday_the_15th_of_august_a_reminder_waits_for_monday(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=D(2026, 8, 13)))  # J+2 is today, a holiday
    status = await case.status()
    assert status.next_action.step == "reminder:amicable-j+2" and case.day_of(status.next_action.at) == D(2026, 8, 17)
    assert [a.step for a in status.audit if a.kind == "skipped"] == ["reminder:preventive-j-10", "reminder:preventive-j-3"]


@pytest.mark.today("2027-03-29")
async def test_easter_monday_is_not_a_sending_day(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=D(2027, 3, 27)))  # J+2 is Easter Monday
    await case.wait_until(D(2027, 3, 31))
    assert await sent_on(case, "reminder:amicable-j+2") == D(2027, 3, 30)


@pytest.mark.today("2027-07-01")
async def test_the_first_day_of_a_half_year_starts_a_new_penalty_line_at_its_own_rate(harness, today):
    case = await Case.open(harness, invoice(today=today, due_date=D(2027, 6, 1), amount="10000.00"))
    await case.wait_until(D(2027, 7, 10))
    lines = (await case.status()).penalty_lines
    assert [(line.start, line.end, line.days) for line in lines] == [
        (D(2027, 6, 2), D(2027, 6, 30), 29), (D(2027, 7, 1), D(2027, 7, 10), 10)]
    assert all(line.base == lines[0].base for line in lines), "the base did not change, the half-year did"
