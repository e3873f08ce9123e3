"""Before a message goes to a debtor, the case asks the bank store whether a credit not matched yet is probably
the debtor's payment: then the message waits (`policy.bank.hold_days`) and ops get a task to match it."""
from __future__ import annotations

import asyncio
import datetime as dt
import threading
from decimal import Decimal

from pydantic import BaseModel
from temporalio import activity
from temporalio.common import RetryPolicy

from domain.matching import probably_paid_by

# A store that cannot be read does not stop a reminder for long: three tries, then the case sends as before.
CHECK_CALL = dict(start_to_close_timeout=dt.timedelta(seconds=30),
                  retry_policy=RetryPolicy(initial_interval=dt.timedelta(seconds=2), maximum_attempts=3))


class CreditCheck(BaseModel):
    debtor_id: str
    debtor_name: str
    principal_due: Decimal
    total_due: Decimal
    tolerance_percent: Decimal
    already_held_for: list[str] = []  # bank entries that held this case once: not twice


class CreditFound(BaseModel):
    ref: str = ""  # empty: none
    amount: Decimal = Decimal("0")
    value_on: dt.date | None = None
    name: str = ""


class BankChecks:
    def __init__(self, location: str) -> None:
        self.location = location
        self._store = None
        self._lock = threading.Lock()

    def store(self):
        from bank.store import open_store

        with self._lock:
            if self._store is None:
                self._store = open_store(self.location)
            return self._store

    @activity.defn
    async def probable_credit(self, check: CreditCheck) -> CreditFound:
        return await asyncio.to_thread(self.find, check)  # SQLite or PostgreSQL off the event loop

    def find(self, check: CreditCheck) -> CreditFound:
        store = self.store()
        ibans = store.ibans()
        for row in store.with_status("unmatched"):
            entry = row.entry
            if entry.ref in check.already_held_for:
                continue
            if probably_paid_by(entry.credit(), debtor_id=check.debtor_id, debtor_name=check.debtor_name, ibans=ibans,
                                principal_due=check.principal_due, total_due=check.total_due,
                                tolerance_percent=check.tolerance_percent):
                return CreditFound(ref=entry.ref, amount=entry.amount, value_on=entry.value_on, name=entry.name)
        return CreditFound()

    def all(self) -> list:
        return [self.probable_credit]
