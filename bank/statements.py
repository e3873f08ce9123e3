"""Which parser a statement file needs: ISO 20022 XML (camt.053) or CFONB 120 fixed-width text."""
from __future__ import annotations

from pathlib import Path

from bank import camt053, cfonb120
from bank.entries import BankEntry, StatementError

MAX_BYTES = 64 * 1024 * 1024  # a month of a busy account is a few MB; more is not a statement


def read_statement(path: Path) -> list[BankEntry]:
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            head = file.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as error:
        raise StatementError(f"{path}: {error.strerror or error}") from error
    if size > MAX_BYTES:
        raise StatementError(f"{path.name}: {size} octets, au-delà de {MAX_BYTES} pour un relevé")
    if head.startswith(b"<"):
        return camt053.read(path)
    if head[:2] in (b"01", b"04", b"05", b"07"):
        return cfonb120.read(path)
    raise StatementError(f"{path.name}: ni un relevé CAMT.053 (XML) ni un relevé CFONB 120")
