"""Which business keys went out by email: one row per key, taken under a lease before the SMTP hand-off.

A row moves `claimed` (a worker holds an SMTP session and is about to talk) → `handing` (the fence passed: the
message's final dot is going out, so the server may hold it) → `sent` (SMTP accepted the message). Every move names its owner, a token unique to one attempt of
one worker process, and only that owner may move the row on, give it back or confirm it. A lease (an expiry on
the database's clock) bounds how long a row waits for an owner that stopped answering:

- an expired `claimed` row was never handed to SMTP: the next attempt takes it and sends;
- a row whose owner is known dead (its process is gone on this host; its PostgreSQL session is gone) is taken
  at once, without waiting for its lease;
- an expired `handing` row may or may not have reached the mailbox. It is taken over once its owner is known
  dead or after `unconfirmed_seconds`
  without news (a worker paused longer than that), then marked `review` for ops (`on_unconfirmed="review"`, the
  default: nothing goes twice) or resent with the same Message-ID (`"resend"`: nothing waits for ops). A paused owner that comes back finds its row taken and
  neither confirms nor releases it.

SQLite (one file per host, the default) and PostgreSQL (one ledger for every host) run the same statements.
"""
from __future__ import annotations

import dataclasses
import enum
import os
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

HOST = socket.gethostname()
ABANDONED = "/abandoned"  # appended to the owner of a hand-off its owner gave up on (Ledger.abandon)


class Outcome(enum.Enum):
    CLAIMED = "claimed"  # this owner may send
    SENT = "sent"  # SMTP accepted this key before
    BUSY = "busy"  # another owner holds a live lease
    REVIEW = "review"  # an unconfirmed hand-off waits for ops (on_unconfirmed="review")


@dataclasses.dataclass(frozen=True)
class Claim:
    outcome: Outcome
    owner: str | None = None  # the row's owner after the claim
    resend: bool = False  # CLAIMED over an unconfirmed hand-off: the message may already be in the mailbox
    lease_left: float = 0.0  # BUSY: seconds until the other owner's lease runs out


@dataclasses.dataclass(frozen=True)
class Row:
    key: str
    state: str
    owner: str | None
    lease_until: float | None
    handoffs: int
    claims: int
    message_id: str | None
    now: float


_COLUMNS = "key, state, owner, lease_until, handoffs, claims, message_id"


class SentLedger:
    """The SQLite ledger at `path`, shared by every worker process of one host. The PostgreSQL one subclasses it."""

    placeholder = "?"
    now_sql = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: Path | None = None, *, lease_seconds: float = 15.0, unconfirmed_seconds: float = 600.0,
                 on_unconfirmed: str = "review") -> None:
        if on_unconfirmed not in ("resend", "review"):
            raise ValueError(f"on_unconfirmed must be resend or review, not {on_unconfirmed!r}")
        self.lease_seconds = lease_seconds
        self.unconfirmed_seconds = unconfirmed_seconds
        self.on_unconfirmed = on_unconfirmed
        self._lock = threading.Lock()
        if path is not None:
            self.location = str(path)
            self._db = self._open_sqlite(path)

    # ------------------------------------------------------------------ what a sender calls

    def new_owner(self) -> str:
        """A token for one attempt: host, process and a nonce, so that two attempts never share a row."""
        return f"{HOST}/{os.getpid()}/{uuid.uuid4().hex[:12]}"

    def lookup(self, key: str) -> Row | None:
        found = self._one(f"SELECT {_COLUMNS}, {self.now_sql} FROM sent WHERE key = ?", (key,))
        return Row(*found) if found else None

    def claim(self, key: str, owner: str, message_id: str, subject: str) -> Claim:
        """Take `key` for `owner` under a fresh lease, unless it was sent or someone else holds it."""
        for _ in range(5):  # each turn either ends or lost a race that changed the row: look again
            row = self.lookup(key)
            if row is None:
                if self._write(f"INSERT INTO sent (key, message_id, subject, state, owner, lease_until, handoffs, claims)"
                               f" VALUES (?, ?, ?, 'claimed', ?, {self.now_sql} + ?, 0, 1) ON CONFLICT (key) DO NOTHING",
                               (key, message_id, subject, owner, self.lease_seconds)):
                    return Claim(Outcome.CLAIMED, owner)
                continue
            if row.state == "sent":
                return Claim(Outcome.SENT, row.owner)
            if row.state == "review":
                return Claim(Outcome.REVIEW, row.owner)
            left = (row.lease_until or 0) - row.now
            if left > 0 and self._owner_alive(row.owner or "") is not False:
                return Claim(Outcome.BUSY, row.owner, lease_left=left)
            if row.state == "handing" and not self._may_take_over(row):
                return Claim(Outcome.BUSY, row.owner, lease_left=row.lease_until + self.unconfirmed_seconds - row.now)
            if row.state == "handing" and self.on_unconfirmed == "review":
                if self._swap(row, "state = 'review', lease_until = NULL"):
                    log.warning("email.unconfirmed_for_review", key=key, previous_owner=row.owner)
                    return Claim(Outcome.REVIEW, row.owner)
                continue
            if self._swap(row, f"state = 'claimed', owner = ?, lease_until = {self.now_sql} + ?, claims = claims + 1",
                          (owner, self.lease_seconds)):
                if row.handoffs:
                    log.warning("email.unconfirmed_resent", key=key, previous_owner=row.owner, message_id=message_id)
                return Claim(Outcome.CLAIMED, owner, resend=row.handoffs > 0)
        raise RuntimeError(f"{key}: the ledger row kept changing under this claim")

    def fence(self, key: str, owner: str) -> bool:
        """Right before the message's final dot: true, and the row is `handing` under a fresh lease, only if `owner` still holds an
        unexpired lease on it. One statement, so no other owner can slip in between the check and the move."""
        return self._write(
            f"UPDATE sent SET state = 'handing', handoffs = handoffs + 1, lease_until = {self.now_sql} + ?"
            f" WHERE key = ? AND owner = ? AND state = 'claimed' AND lease_until > {self.now_sql}",
            (self.lease_seconds, key, owner))

    def renew(self, key: str, owner: str) -> bool:
        """While the send runs. False once the row is no longer this owner's."""
        return self._write(
            f"UPDATE sent SET lease_until = {self.now_sql} + ?"
            f" WHERE key = ? AND owner = ? AND state IN ('claimed', 'handing')", (self.lease_seconds, key, owner))

    def confirm(self, key: str, owner: str) -> bool:
        """SMTP accepted the message. False when another owner took the row over meanwhile."""
        return self._write(
            f"UPDATE sent SET state = 'sent', lease_until = NULL, sent_at = {self.now_sql}"
            " WHERE key = ? AND owner = ? AND state = 'handing'", (key, owner))

    def release(self, key: str, owner: str) -> bool:
        """Nothing was handed to SMTP (or SMTP refused it): the next attempt may send at once."""
        return self._write(
            "UPDATE sent SET state = 'claimed', lease_until = 0,"
            " handoffs = CASE WHEN state = 'handing' THEN handoffs - 1 ELSE handoffs END"
            " WHERE key = ? AND owner = ? AND state IN ('claimed', 'handing')", (key, owner))

    def abandon(self, key: str, owner: str) -> bool:
        """The owner lost its connection after the final dot went out and never heard back: the outcome is unknown, but
        the owner is not coming back for it; the next attempt treats it as an unconfirmed hand-off of a dead
        owner (resent with the same Message-ID, or held for review), without waiting."""
        return self._write(
            f"UPDATE sent SET owner = owner || '{ABANDONED}', lease_until = 0"
            " WHERE key = ? AND owner = ? AND state = 'handing'", (key, owner))

    def resolve(self, key: str, sent: bool) -> bool:
        """Ops' answer on a row in review: the message is in the mailbox (sent), or send it again."""
        if sent:
            return self._write("UPDATE sent SET state = 'sent', lease_until = NULL WHERE key = ? AND state = 'review'",
                               (key,))
        return self._write("UPDATE sent SET state = 'claimed', lease_until = 0 WHERE key = ? AND state = 'review'",
                           (key,))

    def message(self, key: str) -> tuple[str, str, str] | None:
        """The state, Message-ID and subject of `key`'s row."""
        found = self._one("SELECT state, message_id, subject FROM sent WHERE key = ?", (key,))
        return (found[0], found[1] or "", found[2] or "") if found else None

    def rows(self, state: str | None = None) -> list[Row]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        return [Row(*r) for r in self._all(f"SELECT {_COLUMNS}, {self.now_sql} FROM sent {where} ORDER BY key", args)]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ liveness of an owner

    def _may_take_over(self, row: Row) -> bool:
        """An expired hand-off is taken over when its owner is dead, or after `unconfirmed_seconds` of silence."""
        if row.now - (row.lease_until or 0) >= self.unconfirmed_seconds:
            return True
        return self._owner_alive(row.owner or "") is False

    def _owner_alive(self, owner: str) -> bool | None:
        """True, False, or None when this process cannot tell (an owner on another host)."""
        if owner.endswith(ABANDONED):
            return False
        host, _, rest = owner.partition("/")
        pid = rest.partition("/")[0]
        if host != HOST or not pid.isdigit():
            return None
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _not_a_zombie(int(pid))

    def _swap(self, row: Row, assignments: str, args: tuple = ()) -> bool:
        """Compare-and-set: applies only if the row is still the one read."""
        return self._write(
            f"UPDATE sent SET {assignments} WHERE key = ? AND state = ? AND owner IS NOT DISTINCT FROM ?"
            " AND lease_until IS NOT DISTINCT FROM ? AND claims = ?",
            (*args, row.key, row.state, row.owner, row.lease_until, row.claims))

    # ------------------------------------------------------------------ SQL

    def _open_sqlite(self, path: Path) -> Any:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        for attempt in range(100):  # the switch to WAL waits for no busy handler: workers starting together retry
            try:
                db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as busy:
                if "locked" not in str(busy) or attempt == 99:
                    raise
                time.sleep(0.05)
        # NORMAL: a commit survives the worker's crash without an fsync, which keeps the window between SMTP's
        # acceptance and its record short; a power cut could lose the last confirmations: resent, same Message-ID.
        db.execute("PRAGMA synchronous=NORMAL")
        # Under the write lock: the workers of a host start together on a new ledger, and two that both found the
        # columns missing would both add them (the second one died on "duplicate column name").
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, message_id TEXT, subject TEXT,"
                       " state TEXT NOT NULL, at TEXT DEFAULT CURRENT_TIMESTAMP)")
            columns = {r[1] for r in db.execute("PRAGMA table_info(sent)")}
            if "owner" not in columns:
                # A ledger of the earlier at-most-once mailer: its 'pending' rows are unconfirmed hand-offs.
                for column in ("owner TEXT", "lease_until REAL", "handoffs INTEGER NOT NULL DEFAULT 0",
                               "claims INTEGER NOT NULL DEFAULT 0", "sent_at REAL"):
                    db.execute(f"ALTER TABLE sent ADD COLUMN {column}")
                db.execute("UPDATE sent SET state = 'handing', lease_until = 0, handoffs = 1,"
                           " owner = 'earlier-version' WHERE state = 'pending'")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return db

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def _write(self, statement: str, args: tuple) -> bool:
        with self._lock:
            return self._db.execute(self._sql(statement), args).rowcount == 1

    def _one(self, statement: str, args: tuple) -> tuple | None:
        with self._lock:
            return self._db.execute(self._sql(statement), args).fetchone()

    def _all(self, statement: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(self._sql(statement), args).fetchall()


SERVER_KEEPALIVES = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}


SCHEMA_LOCK = 7_301_202_613  # the advisory lock under which a PostgreSQL ledger's table is created


class PostgresSentLedger(SentLedger):
    """One ledger for every host: PostgreSQL at `url` (RELANCE_SENT_LEDGER_URL), through psycopg 3.

    The owner token carries the worker's PostgreSQL session (backend pid and start): a session that is gone
    means a dead owner, whatever host it ran on; a paused worker keeps its session and its hand-offs."""

    placeholder = "%s"
    now_sql = "extract(epoch from clock_timestamp())::float8"

    def __init__(self, url: str, **lease) -> None:
        super().__init__(None, **lease)
        self.location = url
        self._url = url
        self._db = self._connect()
        # Workers on several hosts start together: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against
        # itself (the second may fail on the catalogue's unique index), so one creates under a lock at a time.
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, message_id TEXT, subject TEXT,"
                " state TEXT NOT NULL, owner TEXT, lease_until DOUBLE PRECISION, handoffs INTEGER NOT NULL DEFAULT 0,"
                " claims INTEGER NOT NULL DEFAULT 0, at TIMESTAMPTZ DEFAULT now(), sent_at DOUBLE PRECISION)")

    def _connect(self):
        import psycopg

        db = psycopg.connect(self._url, autocommit=True, connect_timeout=10,
                             keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        # Keepalives both ways: this side notices a server gone; the server, asked for this session (user-settable
        # parameters, set after connecting: a pooler such as PgBouncer refuses them as startup options), notices in
        # about 25 s a host that vanished without closing its connection (power, network) and ends its session: its
        # hand-offs are then known dead and taken over, not left to the lease's long wait.
        try:
            for name, seconds in SERVER_KEEPALIVES.items():
                db.execute(f"SET {name} = {int(seconds)}")
        except psycopg.Error as refused:
            log.warning("ledger.server_keepalives_refused", error=str(refused))
        pid, started = db.execute("SELECT pg_backend_pid(), extract(epoch from backend_start)::float8"
                                  " FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()
        self._session = f"pg{pid}@{started:.6f}"
        return db

    def new_owner(self) -> str:
        return f"{super().new_owner()}/{self._session}"

    def _owner_alive(self, owner: str) -> bool | None:
        session = owner.rpartition("/")[2]
        if owner.endswith(ABANDONED) or not session.startswith("pg"):
            return super()._owner_alive(owner)
        pid, _, started = session[2:].partition("@")
        alive = self._one("SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
                          " AND abs(extract(epoch from backend_start)::float8 - %s) < 0.001", (int(pid), float(started)))
        return bool(alive and alive[0])

    def _run(self, statement: str, args: tuple, fetch):
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                try:
                    cursor = self._db.execute(self._sql(statement), args)
                    return fetch(cursor)
                except psycopg.OperationalError:
                    if attempt == 2 or not self._db.closed:
                        raise
                    self._db = self._connect()  # the server restarted or the link dropped: one new session

    def _write(self, statement: str, args: tuple) -> bool:
        return self._run(statement, args, lambda c: c.rowcount == 1)

    def _one(self, statement: str, args: tuple) -> tuple | None:
        return self._run(statement, args, lambda c: c.fetchone())

    def _all(self, statement: str, args: tuple) -> list[tuple]:
        return self._run(statement, args, lambda c: c.fetchall())


def _not_a_zombie(pid: int) -> bool:
    """A SIGKILLed child not yet reaped by its parent still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def open_ledger(location: str | Path, **lease) -> SentLedger:
    """PostgreSQL for a postgresql:// URL, else a SQLite file."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresSentLedger(text, **lease)
    return SentLedger(Path(text), **lease)
