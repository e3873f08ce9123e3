"""The e-invoicing loop through the company's approved platform (PA), as files: the default adapter.

Out: for each invoice paid, the lifecycle status 212 "Encaissée" with the amount and the date cashed (the 2026
reform asks the seller to send it for services), one CSV row each, appended to `statuses-out.csv`:

    invoice;status;label;amount;cashed_on;bank_reference
    FA-2026-0111;212;Encaissée;5760.00;2026-07-06;2026070600001

UTF-8, `;`-separated, amounts with a dot, ISO dates; a row is written once per (invoice, bank reference), so
importing a statement again adds nothing. The platform connector (or ops) picks the file up.

In: the statuses the platform received for our invoices, in a CSV of the same kind or a JSON list of objects with
the same keys (`relance einvoicing read FILE`):

    invoice;status;date;comment
    FA-2026-0104;207;2026-07-08;Livraison incomplète

207 "En litige" opens a dispute, 208 "Suspendue" pauses the case the same way, 210 "Refusée" and 213 "Rejetée" give
ops a task, 225 "Affacturée" stops the chasing; other codes (200 Déposée, 205 Approuvée, 211, 212...) are counted and
left alone. A row that cannot be read is reported with its number and field; the others are still read.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import threading
from decimal import Decimal
from pathlib import Path

from domain.case import PlatformStatus

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


ACTED_ON = ("207", "208", "210", "213", "225")


@dataclasses.dataclass(frozen=True)
class ReceivedStatus:
    row: int
    invoice: str
    status: PlatformStatus


def read_statuses(path: Path) -> tuple[list[ReceivedStatus], list[str], int]:
    """(statuses to act on, problems per row in French, rows with a status collections leaves alone)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name}: {error}") from error
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path.name}: JSON illisible ({error})") from error
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError(f"{path.name}: une liste d'objets JSON est attendue")
        numbered = list(enumerate(rows, start=1))
    else:
        numbered = list(enumerate(csv.DictReader(text.splitlines(), delimiter=";"), start=2))
    found, problems, other = [], [], 0
    for n, row in numbered:
        code, invoice = str(row.get("status") or "").strip(), str(row.get("invoice") or "").strip()
        if not invoice:
            problems.append(f"{path.name}: ligne {n}, invoice: numéro de facture manquant")
            continue
        if code not in ACTED_ON:
            other += 1
            continue
        try:
            on = dt.date.fromisoformat(str(row.get("date") or "").strip())
        except ValueError:
            problems.append(f"{path.name}: ligne {n}, date: {row.get('date')!r} n'est pas une date AAAA-MM-JJ")
            continue
        found.append(ReceivedStatus(n, invoice, PlatformStatus(code=code, on=on, comment=str(row.get("comment") or "").strip())))
    return found, problems, other
