"""The bank entries relance has read, and what became of each: recorded once by the bank's reference.

SQLite on one host by default (`RELANCE_BANK_STORE`, under RELANCE_VAR), or one PostgreSQL database for every host
(`RELANCE_BANK_URL`), the same statements on both. The workers read it before a message goes out (a credit not
matched yet that is probably the debtor's holds it); `relance bank` writes it.

An entry's status: `unmatched` (a credit waiting for ops, with its candidates), `matched` (its payments recorded),
`ignored` (ops said why), `skipped` (not a customer's payment: a debit, a fee, interest), `return` (a payment
taken back, waiting to be reversed), `reversed`.
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path

from bank.entries import BankEntry
from domain.matching import compact_iban

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bank_entries (ref TEXT PRIMARY KEY, entry TEXT NOT NULL, kind TEXT NOT NULL,"
    " status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', candidates TEXT NOT NULL DEFAULT '[]',"
    " allocations TEXT NOT NULL DEFAULT '[]', statement TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS bank_entries_status ON bank_entries (status)",
    "CREATE TABLE IF NOT EXISTS bank_ibans (iban TEXT PRIMARY KEY, debtor_id TEXT NOT NULL, learned_from TEXT NOT NULL)",
)


@dataclasses.dataclass(frozen=True)
class StoredEntry:
    entry: BankEntry
    status: str
    reason: str
    candidates: list[str]
    allocations: list[dict]  # [{"invoice": ..., "amount": "..."}] once matched

    @property
    def ref(self) -> str:
        return self.entry.ref


_INITIAL = {"credit": "unmatched", "return": "return"}  # anything else is skipped: not a customer's payment


class BankStore:
    placeholder = "?"

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        if path is not None:
            self.location = str(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                self._db.execute(statement)

    # ------------------------------------------------------------------ writing

    def add(self, entries: list[BankEntry], statement: str) -> tuple[list[BankEntry], list[BankEntry]]:
        """Record the entries not seen before: (new, already recorded). The same statement imported twice, or
        two statements that overlap, record each entry once."""
        new, known = [], []
        start = self._scalar("SELECT COALESCE(MAX(seq), 0) FROM bank_entries", ())
        for n, entry in enumerate(entries, start=start + 1):
            inserted = self._write(
                "INSERT INTO bank_entries (ref, entry, kind, status, statement, seq) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (ref) DO NOTHING",
                (entry.ref, entry.model_dump_json(), entry.kind, _INITIAL.get(entry.kind, "skipped"), statement, n))
            (new if inserted else known).append(entry)
        return new, known

    def set_status(self, ref: str, status: str, reason: str = "", *, candidates: list[str] | None = None,
                   allocations: list[dict] | None = None, only_from: tuple[str, ...] | None = None) -> bool:
        where, args = "", ()
        if only_from:
            where = " AND status IN (" + ", ".join("?" for _ in only_from) + ")"
            args = tuple(only_from)
        return self._write(
            f"UPDATE bank_entries SET status = ?, reason = ?, candidates = ?, allocations = ? WHERE ref = ?{where}",
            (status, reason, json.dumps(candidates or []), json.dumps(allocations or []), ref, *args))

    def learn_iban(self, iban: str, debtor_id: str, learned_from: str) -> None:
        """The payer's account, known from now on to be this customer's (the latest match wins)."""
        if not iban:
            return
        self._write("INSERT INTO bank_ibans (iban, debtor_id, learned_from) VALUES (?, ?, ?)"
                    " ON CONFLICT (iban) DO UPDATE SET debtor_id = excluded.debtor_id, learned_from = excluded.learned_from",
                    (compact_iban(iban), debtor_id, learned_from))

    # ------------------------------------------------------------------ reading

    def get(self, ref: str) -> StoredEntry | None:
        rows = self._all("SELECT entry, status, reason, candidates, allocations FROM bank_entries WHERE ref = ?", (ref,))
        return _stored(rows[0]) if rows else None

    def with_status(self, *statuses: str) -> list[StoredEntry]:
        marks = ", ".join("?" for _ in statuses)
        return [_stored(r) for r in self._all(
            f"SELECT entry, status, reason, candidates, allocations FROM bank_entries WHERE status IN ({marks})"
            " ORDER BY seq", statuses)]

    def ibans(self) -> dict[str, str]:
        return dict(self._all("SELECT iban, debtor_id FROM bank_ibans", ()))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ SQL

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def _write(self, statement: str, args: tuple) -> bool:
        with self._lock:
            return self._db.execute(self._sql(statement), args).rowcount == 1

    def _all(self, statement: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(self._sql(statement), args).fetchall()

    def _scalar(self, statement: str, args: tuple):
        return self._all(statement, args)[0][0]


class PostgresBankStore(BankStore):
    placeholder = "%s"

    def __init__(self, url: str) -> None:
        import psycopg

        super().__init__(None)
        self.location = url
        self._db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        for statement in _SCHEMA:
            self._db.execute(statement)


def _stored(row: tuple) -> StoredEntry:
    entry, status, reason, candidates, allocations = row
    return StoredEntry(BankEntry.model_validate_json(entry), status, reason, json.loads(candidates), json.loads(allocations))


def open_store(location: str | Path) -> BankStore:
    """PostgreSQL for a postgresql:// URL, else a SQLite file."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresBankStore(text)
    return BankStore(Path(text))
