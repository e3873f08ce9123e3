"""A customer, not an invoice: under `grouping: per_debtor` (the default policy) the invoices of one customer share
one conversation. Each invoice still records its own step, rule and policy version, and the message that carried it."""
import datetime as dt

import pytest

from tests.lifecycle.scenario import Case, customer_invoices

J10, J3, J2 = "reminder:preventive-j-10", "reminder:preventive-j-3", "reminder:amicable-j+2"


async def open_all(harness, invoices) -> list[Case]:
    return [await Case.open(harness, inv) for inv in invoices]


async def test_three_invoices_falling_due_together_get_one_message_per_reminder_step(harness, today):
    cases = await open_all(harness, customer_invoices(["1200.00", "300.00", "4800.00"], today=today, due_in_days=20))
    for day in (-9, -2, 3):  # a step at a time: one sleep across all three outlasts the test server's RPC timeout
        await cases[0].wait_until_due_plus(day)

    mails = cases[0].emails()
    keys = [m["X-Relance-Key"] for m in mails]
    assert len(mails) == 3, keys
    assert [k.rsplit(":", 2)[-2] + ":" + k.rsplit(":", 1)[-1] for k in keys] == [J10, J3, J2]
    body = mails[-1].get_body(("plain",)).get_content()
    for case in cases:
        assert case.invoice.number in body
    for case in cases:
        emailed = [a for a in (await case.status()).audit if a.kind == "email"]
        assert [a.step for a in emailed] == [J10, J3, J2], "each invoice records its own steps"
        assert [a.refs[-1] for a in emailed] == keys, "and the message that carried each"
        assert emailed[0].rule_id == "preventive-j-10" and emailed[0].policy_ref.startswith("default@v")
