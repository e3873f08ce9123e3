"""A local SMTP server that keeps every message it receives: `make up`, the demo and the tests send to it.

`python -m relance.smtp_sink --port P --record FILE [--delay S]` runs one in its own process (for `make chaos`):
one line per message accepted, `X-Relance-Key`, `Message-ID` and the time, written before the 250 answer; `--delay`
plays a slow relay that takes S seconds to answer DATA.
"""
from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import re
import socket
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

_KEY = re.compile(rb"^X-Relance-Key: (\S+)", re.MULTILINE)
_MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)", re.MULTILINE | re.IGNORECASE)


class Outbox:
    """aiosmtpd handler: each message is kept in memory and, when a folder is given, written as .eml."""

    def __init__(self, folder: Path | None = None, *, record: Path | None = None, delay: float = 0.0,
                 delay_file: Path | None = None) -> None:
        self.folder = folder
        self.delay = delay
        self.delay_file = delay_file  # when given, the delay is read from it at each message (chaos changes it)
        self._record = record.open("a", buffering=1) if record else None
        self._raw: list[bytes] = []
        self._parsed: list[EmailMessage] = []
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay_file is not None:
            try:
                self.delay = float(self.delay_file.read_text() or 0)
            except (OSError, ValueError):
                pass
        if self.delay:
            await asyncio.sleep(self.delay)
        # Kept raw: parsing is slow and most runs never read the messages back.
        self._raw.append(envelope.content)
        if self._record:
            key = _KEY.search(envelope.content)
            message_id = _MESSAGE_ID.search(envelope.content)
            self._record.write(f"{key.group(1).decode() if key else '-'}\t"
                               f"{message_id.group(1).decode() if message_id else '-'}\t{time.time():.6f}\n")
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m relance.smtp_sink", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, help="one line per message: X-Relance-Key, Message-ID, time (tab-separated)")
    parser.add_argument("--folder", type=Path, help="also write each message there as .eml")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering DATA")
    parser.add_argument("--delay-file", type=Path, help="a file holding the delay, read at each message")
    args = parser.parse_args()
    controller = start(Outbox(args.folder, record=args.record, delay=args.delay, delay_file=args.delay_file),
                       port=args.port)
    print(f"smtp sink on 127.0.0.1:{controller.port}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
