"""Sending email through SMTP, at most once per business key.

SMTP has no idempotency, so a ledger records each key before the hand-off and confirms it after.
A retry that finds a confirmed key returns at once; one that finds a key begun but never confirmed
(the attempt died during the hand-off) does not send again either: for a dunning letter, a rare
missing email that ops can resend beats a duplicate mise en demeure.
"""
from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
import threading
from collections.abc import Callable
import re
from pathlib import Path
from typing import Protocol

import aiosmtplib
import structlog

from activities import mime
from activities.contracts import PermanentFailure, SentEmail
from activities.rendering import RenderedEmail
from activities.smtp_sessions import SmtpSessions

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    starttls: bool = False
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "relance@localhost"
    sender_name: str = "Service recouvrement"
    timeout: float = 30.0
    sessions: int = 4  # SMTP connections kept open at most, each carrying one message at a time
    session_idle_seconds: float = 60.0  # an idle connection older than this is closed rather than reused


def message_id_for(key: str) -> str:
    """A deterministic Message-ID: the same business step always carries the same id."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@relance>"


class SentLedger:
    """Which business keys were handed to SMTP. SQLite on a path every worker of a host shares."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Durable across a worker crash; a power cut could lose the last confirmation, which then reads
        # as "pending" and is not resent (the at-most-once side).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, message_id TEXT, subject TEXT,"
            " state TEXT NOT NULL, at TEXT DEFAULT CURRENT_TIMESTAMP)"
        )
        self._lock = threading.Lock()

    def begin(self, key: str, message_id: str, subject: str) -> str | None:
        """Claim `key`; returns the state already recorded (pending or sent), or None when newly claimed."""
        with self._lock:
            claimed = self._db.execute(
                "INSERT OR IGNORE INTO sent (key, message_id, subject, state) VALUES (?, ?, ?, 'pending')",
                (key, message_id, subject)).rowcount
            if claimed:
                return None
            return self._db.execute("SELECT state FROM sent WHERE key = ?", (key,)).fetchone()[0]

    def confirm(self, key: str) -> None:
        with self._lock:
            self._db.execute("UPDATE sent SET state = 'sent' WHERE key = ?", (key,))

    def release(self, key: str) -> None:
        """The hand-off certainly failed: the next attempt may send."""
        with self._lock:
            self._db.execute("DELETE FROM sent WHERE key = ? AND state = 'pending'", (key,))


class Mailer(Protocol):
    async def send(self, key: str, to: str, email: RenderedEmail) -> SentEmail: ...

    async def close(self) -> None: ...


def message_bytes(sender: str, to: str, message_id: str, key: str, email: RenderedEmail) -> bytes:
    """Text with an HTML alternative, as sent."""
    return mime.email_bytes(sender=sender, to=to, subject=email.subject, message_id=message_id, key=key,
                            text=email.text, html=email.html)


class FileMailer:
    """Writes each message as an .eml file instead of sending it: for previews, where nothing must go out."""

    def __init__(self, folder: Path, sender: str = "relance@localhost") -> None:
        self.folder = folder
        self.sender = sender
        folder.mkdir(parents=True, exist_ok=True)

    async def send(self, key: str, to: str, email: RenderedEmail) -> SentEmail:
        message_id = message_id_for(key)
        path = self.folder / (re.sub(r"[^A-Za-z0-9._+-]+", "_", key) + ".eml")
        already = path.exists()
        if not already:
            path.write_bytes(message_bytes(self.sender, to, message_id, key, email))
        return SentEmail(message_id=message_id, subject=email.subject, already_sent=already)

    async def close(self) -> None:
        pass


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, ledger: SentLedger,
                 after_handoff: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.ledger = ledger
        self._after_handoff = after_handoff  # fault injection for tests: runs between hand-off and confirm
        self.sessions = SmtpSessions(self._connection(), size=settings.sessions,
                                     idle_seconds=settings.session_idle_seconds)

    async def send(self, key: str, to: str, email: RenderedEmail) -> SentEmail:
        message_id = message_id_for(key)
        previous = self.ledger.begin(key, message_id, email.subject)
        if previous is not None:
            if previous == "pending":
                log.warning("email.unconfirmed_not_resent", key=key, message_id=message_id)
            return SentEmail(message_id=message_id, subject=email.subject, already_sent=True)
        try:
            async with self.sessions.session() as smtp:
                await smtp.sendmail(self.settings.sender, [to], self._message(message_id, key, to, email),
                                    mail_options=[] if (to + self.settings.sender).isascii() else ["SMTPUTF8"])
        except aiosmtplib.SMTPRecipientsRefused as refused:
            self.ledger.release(key)
            raise PermanentFailure(f"recipient refused: {to}: {refused}") from refused
        except BaseException:
            self.ledger.release(key)
            raise
        if self._after_handoff:
            self._after_handoff(key)
        self.ledger.confirm(key)
        log.info("email.sent", key=key, to=to, subject=email.subject, message_id=message_id)
        return SentEmail(message_id=message_id, subject=email.subject, already_sent=False)

    def _message(self, message_id: str, key: str, to: str, email: RenderedEmail) -> bytes:
        return message_bytes(mime.address(self.settings.sender_name, self.settings.sender), to, message_id, key, email)

    async def close(self) -> None:
        await self.sessions.close()

    def _connection(self) -> dict:
        s = self.settings
        return dict(hostname=s.host, port=s.port, start_tls=s.starttls, use_tls=s.use_tls,
                    username=s.username, password=s.password, timeout=s.timeout)
