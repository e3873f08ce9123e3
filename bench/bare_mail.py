"""The full floor's email: one SMTP transaction per "e" operation, and nothing relance adds around it.

Kept out of `bench.bare` so that the bare workflow module, which the sandbox runs afresh for every case,
stays as small as the floor needs.
"""
from __future__ import annotations

from temporalio import activity

from activities.smtp_sessions import SmtpSessions

BARE_EMAIL_BYTES = 5000  # about a rendered reminder, text and HTML (tests/unit/test_bare_ops.py checks it)
BARE_RECIPIENT = "ap@client.example"


def bare_message(sender: str) -> bytes:
    head = (f"From: {sender}\r\nTo: {BARE_RECIPIENT}\r\nSubject: Relance\r\n"
            "Message-ID: <bare@relance>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n").encode()
    line = b"Facture impayee, merci de regulariser." + b" " * 39 + b"\r\n"  # 79 bytes, inside SMTP's line limit
    return head + line * ((BARE_EMAIL_BYTES - len(head)) // len(line))


class BareMail:
    """The SMTP side of an email and nothing else: no rendering, no sent ledger; sessions reused as relance's are."""

    def __init__(self, settings) -> None:
        self.sender = settings.sender
        self.message = bare_message(settings.sender)
        self.sessions = SmtpSessions(dict(hostname=settings.host, port=settings.port, timeout=settings.timeout),
                                     size=settings.sessions, idle_seconds=settings.session_idle_seconds)

    @activity.defn(name="bare_email")
    async def send(self, key: str) -> str:
        async with self.sessions.session() as smtp:
            await smtp.sendmail(self.sender, [BARE_RECIPIENT], self.message)
        return key

    async def close(self) -> None:
        await self.sessions.close()
