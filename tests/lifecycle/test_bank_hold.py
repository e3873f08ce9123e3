"""Never remind after payment: a credit in the bank, not matched yet, that is probably the debtor's holds the
message (`bank.hold_days`) and gives ops a task; once the hold is over the message goes, once."""
import datetime as dt
from decimal import Decimal

from bank.entries import BankEntry
from bank.store import open_store
from relance import views
from tests.lifecycle.scenario import Case, invoice


def credit_in_the_bank(harness, ref: str, amount: str, name: str, on: dt.date) -> None:
    store = open_store(harness.var / "bank.sqlite3")
    store.add([BankEntry(ref=ref, account="FR76", kind="credit", amount=Decimal(amount), booked_on=on, value_on=on,
                         name=name, remittance="VIREMENT")], "test")
    store.close()


async def test_a_probable_credit_holds_the_reminder_and_tells_ops_then_the_reminder_goes(harness, today):
    case = await (await Case.open(harness, invoice(today=today, due_in_days=20))).opened()
    credit_in_the_bank(harness, "BQ-1", "1190.00", "DUPONT ET FILS", today)
    await case.wait_until_due_plus(-10)

    held = await case.status()
    assert held.hold is not None and held.hold.entry == "BQ-1"
    assert not case.emails(), "nothing goes to the debtor while the credit waits"
    task = next(t for t in held.tasks if t.key == "bank:hold:BQ-1")
    assert held.hold.until == task.due + dt.timedelta(days=5), "the default policy's hold_days"
    assert "relance bank match BQ-1 " + case.invoice.number in task.text
    assert held.next_action.step == "reminder:preventive-j-10" and case.day_of(held.next_action.at) == held.hold.until
    assert f"relances suspendues jusqu'au {held.hold.until:%d/%m/%Y}" in views.status_text(held), "relance status says so"

    await case.wait_until(held.hold.until)
    assert await case.steps("email") == ["reminder:preventive-j-10"], "the hold is over: sent, and held once only"
    assert len([t for t in (await case.status()).tasks if t.key.startswith("bank:hold")]) == 1


async def test_a_credit_from_someone_else_or_of_another_amount_holds_nothing(harness, today):
    case = await (await Case.open(harness, invoice(today=today, due_in_days=20))).opened()
    credit_in_the_bank(harness, "BQ-2", "1200.00", "Martin SA", today)
    credit_in_the_bank(harness, "BQ-3", "300.00", "Dupont & Fils", today)
    await case.wait_until_due_plus(-10)
    status = await case.status()
    assert status.hold is None and await case.steps("email") == ["reminder:preventive-j-10"]
