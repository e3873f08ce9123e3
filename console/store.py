"""The console's own data, in one SQLite file: its users, the worklist's marks, and the key that signs sessions.

Nothing here is a case's truth (that lives in Temporal): only who may use the console and what ops noted about
their worklist. The file path comes from RELANCE_CONSOLE_DB (default var/console.sqlite3).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["read", "ops", "admin"]
ROLES: tuple[Role, ...] = ("read", "ops", "admin")  # each role may do what the ones before it may
MIN_PASSWORD_LENGTH = 12

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    login TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('read', 'ops', 'admin')),
    password_hash TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS marks (
    invoice TEXT NOT NULL, item TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('done', 'postponed')),
    until TEXT, note TEXT NOT NULL, by TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (invoice, item));
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes (
    debtor_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notes_debtor ON notes (debtor_id, at);
"""
NOTE_MAX = 2000  # characters: a call's summary, not a document

_hasher = PasswordHasher()  # argon2id with the library's current parameters


class StoreError(ValueError):
    """A refused change to the store, said in French."""


@dataclasses.dataclass(frozen=True)
class Note:
    """What ops wrote about a customer (a call, a promise to pay, who to ask for): kept with who and when."""

    debtor_id: str
    at: dt.datetime
    by: str
    text: str


@dataclasses.dataclass(frozen=True)
class User:
    login: str
    name: str
    role: Role

    def may(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclasses.dataclass(frozen=True)
class Mark:
    invoice: str
    item: str
    state: Literal["done", "postponed"]
    until: dt.date | None
    note: str
    by: str
    at: dt.datetime


def default_path(var_dir: Path) -> Path:
    return Path(os.environ.get("RELANCE_CONSOLE_DB") or var_dir / "console.sqlite3")


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if fresh:
            os.chmod(path, 0o600)  # password hashes and the session key
        self.db.executescript(_SCHEMA)

    # ------------------------------------------------------------------ users

    def add_user(self, login: str, name: str, role: Role, password: str | None, now: dt.datetime) -> User:
        """A user who signs in with a password (argon2id hash only), or through OpenID Connect (no password)."""
        login = login.strip()
        if not login or len(login) > 200:
            raise StoreError("identifiant vide ou trop long")
        if role not in ROLES:
            raise StoreError(f"rôle inconnu {role!r}: read, ops ou admin")
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            raise StoreError(f"mot de passe trop court: {MIN_PASSWORD_LENGTH} caractères au moins")
        digest = _hasher.hash(password) if password is not None else None
        try:
            self.db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                            (login, name or login, role, digest, now.isoformat()))
        except sqlite3.IntegrityError as error:
            raise StoreError(f"l'utilisateur {login!r} existe déjà") from error
        return User(login, name or login, role)

    def user(self, login: str) -> User | None:
        row = self.db.execute("SELECT login, name, role FROM users WHERE login = ?", (login,)).fetchone()
        return User(*row) if row else None

    def users(self) -> list[User]:
        return [User(*row) for row in self.db.execute("SELECT login, name, role FROM users ORDER BY login")]

    def authenticate(self, login: str, password: str) -> User | None:
        row = self.db.execute("SELECT password_hash FROM users WHERE login = ?", (login,)).fetchone()
        if row is None or row[0] is None:
            _hasher.hash(password)  # as slow as a wrong password: timing does not tell which logins exist
            return None
        try:
            _hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(row[0]):
            self.db.execute("UPDATE users SET password_hash = ? WHERE login = ?", (_hasher.hash(password), login))
        return self.user(login)

    # ------------------------------------------------------------------ the worklist's marks

    def mark(self, mark: Mark) -> None:
        self.db.execute("INSERT OR REPLACE INTO marks VALUES (?, ?, ?, ?, ?, ?, ?)", (
            mark.invoice, mark.item, mark.state, mark.until.isoformat() if mark.until else None, mark.note, mark.by,
            mark.at.isoformat()))

    def marks(self) -> dict[tuple[str, str], Mark]:
        return {(row[0], row[1]): Mark(row[0], row[1], row[2], dt.date.fromisoformat(row[3]) if row[3] else None,
                                       row[4], row[5], dt.datetime.fromisoformat(row[6]))
                for row in self.db.execute("SELECT * FROM marks")}

    # ------------------------------------------------------------------ notes on customers

    def add_note(self, note: "Note") -> None:
        text = note.text.strip()
        if not text:
            raise StoreError("note vide")
        if len(text) > NOTE_MAX:
            raise StoreError(f"note trop longue ({len(text)} caractères, {NOTE_MAX} au plus)")
        self.db.execute("INSERT INTO notes VALUES (?, ?, ?, ?)", (note.debtor_id, note.at.isoformat(), note.by, text))

    def notes(self, debtor_id: str) -> list["Note"]:
        """A customer's notes, newest first."""
        return [Note(row[0], dt.datetime.fromisoformat(row[1]), row[2], row[3]) for row in self.db.execute(
            "SELECT debtor_id, at, by, text FROM notes WHERE debtor_id = ? ORDER BY at DESC", (debtor_id,))]

    # ------------------------------------------------------------------ the session key

    def secret(self) -> str:
        """RELANCE_CONSOLE_SECRET if set (several console processes), else one made on first use and kept here."""
        if os.environ.get("RELANCE_CONSOLE_SECRET"):
            return os.environ["RELANCE_CONSOLE_SECRET"]
        self.db.execute("INSERT OR IGNORE INTO settings VALUES ('session_secret', ?)", (secrets.token_urlsafe(48),))
        return self.db.execute("SELECT value FROM settings WHERE name = 'session_secret'").fetchone()[0]
