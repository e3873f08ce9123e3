"""A local SMTP server that keeps every message it receives: `make up`, the demo and the tests send to it."""
from __future__ import annotations

import email
import email.policy
import re
import socket
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

_KEY = re.compile(rb"^X-Relance-Key: (\S+)", re.MULTILINE)


class Outbox:
    """aiosmtpd handler: each message is kept in memory and, when a folder is given, written as .eml."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._raw: list[bytes] = []
        self._parsed: list[EmailMessage] = []
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        # Kept raw: parsing is slow and most runs never read the messages back.
        self._raw.append(envelope.content)
        if self.folder:
            key = _KEY.search(envelope.content)
            stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", key.group(1).decode() if key else f"message-{len(self._raw)}")
            (self.folder / f"{len(self._raw):05d}-{stem}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        for raw in self._raw[len(self._parsed):]:
            self._parsed.append(email.message_from_bytes(raw, policy=email.policy.default))
        return self._parsed

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(outbox: Outbox, port: int = 0, host: str = "127.0.0.1") -> Controller:
    controller = Controller(outbox, hostname=host, port=port or free_port())
    controller.start()
    return controller
