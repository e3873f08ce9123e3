"""The store of bank entries: each entry once by its bank reference, a learned IBAN, the queue's states."""
import datetime as dt
from decimal import Decimal

from bank.entries import BankEntry
import pytest

from bank.store import BankStore, open_store
from tests.pg import postgres  # noqa: F401 (fixture)
from domain.case import CaseState, Payment
from domain.transitions import payment_refusal, record_payment
from tests.unit.test_schedule import POLICY, an_invoice

DAY = dt.date(2027, 3, 10)


def entry(ref: str, kind: str = "credit") -> BankEntry:
    return BankEntry(ref=ref, account="FR76", kind=kind, amount=Decimal("10.00"), booked_on=DAY, value_on=DAY)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The SQLite store of one host and the PostgreSQL one of several (RELANCE_BANK_URL): the same behaviour."""
    if request.param == "sqlite":
        yield BankStore(tmp_path / "bank.sqlite3")
        return
    server = request.getfixturevalue("postgres")
    opened = open_store(server.new_database(f"bank_{tmp_path.name[-12:].lower().replace('-', '_')}"))
    yield opened
    opened.close()


def test_the_same_entries_imported_twice_or_overlapping_are_recorded_once(store):
    new, known = store.add([entry("A"), entry("B"), entry("F", "fee")], "one.xml")
    assert [e.ref for e in new] == ["A", "B", "F"] and known == []
    new, known = store.add([entry("B"), entry("C")], "two.xml")
    assert [e.ref for e in new] == ["C"] and [e.ref for e in known] == ["B"]
    assert [s.ref for s in store.with_status("unmatched")] == ["A", "B", "C"]
    assert store.get("F").status == "skipped"
    assert store.set_status("A", "ignored", "remboursement", only_from=("unmatched",))
    assert not store.set_status("A", "matched", only_from=("unmatched",)), "a handled entry is not handled again"
    store.learn_iban("fr76 3000 4000", "D1", "B")
    assert store.ibans() == {"FR7630004000": "D1"}


def test_a_case_takes_one_bank_entry_once():
    invoice = an_invoice("1000.00", False)
    s = CaseState(invoice=invoice, opened_at=dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc),
                  principal=invoice.amount_incl_tax, accrued_through=invoice.due_date)
    payment = Payment(amount=Decimal("400.00"), paid_on=invoice.due_date, bank_reference="BQ-9")
    assert payment_refusal(s, POLICY, payment, invoice.due_date) is None
    outcome, _ = record_payment(s, POLICY, payment, dt.datetime.combine(invoice.due_date, dt.time(12), dt.timezone.utc))
    assert "already recorded" in payment_refusal(outcome.state, POLICY, payment, invoice.due_date)
    assert payment_refusal(outcome.state, POLICY, payment.model_copy(update={"bank_reference": "BQ-10"}),
                           invoice.due_date) is None


def test_a_returned_payment_leaves_the_account_and_a_case_closed_by_it_reopens_where_it_was():
    from domain.case import PaymentReversal
    from domain.transitions import reopened, reverse_payment

    invoice = an_invoice("1000.00", False)
    s = CaseState(invoice=invoice, opened_at=dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc),
                  principal=invoice.amount_incl_tax, accrued_through=invoice.due_date)
    late = dt.datetime.combine(invoice.due_date + dt.timedelta(days=20), dt.time(12), dt.timezone.utc)
    paid, _ = record_payment(s, POLICY, Payment(amount=Decimal("1000.00"), bank_reference="BQ-1"), late)
    assert paid.state.stage == "closed" and paid.state.closed_reason == "paid"
    back = reopened(paid.state)
    assert back.stage != "closed" and back.closed_reason is None
    assert [e.kind for e in back.entries] == ["payment"], "the close's write-off is undone"
    later = late + dt.timedelta(days=10)
    outcome = reverse_payment(back, POLICY, PaymentReversal(bank_reference="BQ-1", reason="AC04"), later)
    assert outcome.state.entries == [] and outcome.state.paid_total == 0
    assert outcome.state.principal == Decimal("1000.00")
    assert [r.bank_reference for r in outcome.state.returned] == ["BQ-1"]
