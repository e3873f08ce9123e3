"""The e-invoicing loop through the company's approved platform (PA), as files: the default adapter.

Out: for each invoice paid, the lifecycle status 212 "Encaissée" with the amount and the date cashed (the 2026
reform asks the seller to send it for services), one CSV row each, appended to `statuses-out.csv`:

    invoice;status;label;amount;cashed_on;bank_reference
    FA-2026-0111;212;Encaissée;5760.00;2026-07-06;2026070600001

UTF-8, `;`-separated, amounts with a dot, ISO dates; a row is written once per (invoice, bank reference), so
importing a statement again adds nothing. The platform connector (or ops) picks the file up.
"""
from __future__ import annotations

import csv
import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

COLUMNS = ("invoice", "status", "label", "amount", "cashed_on", "bank_reference")
CASHED = ("212", "Encaissée")


class StatusFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def cashed(self, invoice: str, amount: Decimal, on: dt.date, bank_reference: str) -> bool:
        """Append the 212 row for this payment; False when it is already there."""
        with self._lock:
            if (invoice, bank_reference) in self._written():
                return False
            new = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8", newline="") as file:
                writer = csv.writer(file, delimiter=";")
                if new:
                    writer.writerow(COLUMNS)
                writer.writerow((invoice, *CASHED, f"{amount:.2f}", on.isoformat(), bank_reference))
            return True

    def rows(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8", newline="") as file:
            return list(csv.DictReader(file, delimiter=";"))

    def _written(self) -> set[tuple[str, str]]:
        return {(r["invoice"], r["bank_reference"]) for r in self.rows()}
