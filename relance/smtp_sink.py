"""A local SMTP server that keeps every message it receives: `make up`, the demo and the tests send to it."""
from __future__ import annotations

import email
import email.policy
import re
import socket
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


class Outbox:
    """aiosmtpd handler: each message is kept in memory and, when a folder is given, written as .eml."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.messages: list[EmailMessage] = []
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        if self.folder:
            stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", message.get("X-Relance-Key", "") or f"message-{len(self.messages)}")
            (self.folder / f"{len(self.messages):05d}-{stem}.eml").write_bytes(envelope.content)
        return "250 Message accepted for delivery"

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
