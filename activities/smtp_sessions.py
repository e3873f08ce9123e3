"""SMTP sessions kept open between messages.

A run of reminders goes out in bursts: opening a connection per message costs a TCP handshake, an EHLO (and
TLS and login on a real relay) and a QUIT, about half the CPU of sending a reminder, and relays throttle
clients that reconnect for every message. Sessions are reused while fresh; a session that failed in any way
is closed, never reused, so a half-finished SMTP transaction cannot leak into the next message.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiosmtplib


class SmtpSessions:
    def __init__(self, connect: dict, *, size: int, idle_seconds: float) -> None:
        self._connect = connect
        self._size = size
        # Servers drop idle clients (RFC 5321 asks them to wait at least 5 minutes); well inside that, reuse.
        self._idle_seconds = idle_seconds
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._free: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.opened = 0  # sessions opened so far, for tests and logs

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        async with self._gate():
            smtp = self._fresh_idle() or await self._open()
            try:
                yield smtp
            except BaseException:
                smtp.close()
                raise
            self._idle.append((smtp, time.monotonic()))

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for smtp, _ in idle:
            with contextlib.suppress(Exception):
                await smtp.quit()
            smtp.close()

    def _gate(self) -> asyncio.Semaphore:
        # Sessions belong to one event loop; a mailer reused on a new loop (tests, a restarted worker) starts over.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            for smtp, _ in self._idle:
                smtp.close()
            self._idle, self._loop, self._free = [], loop, asyncio.Semaphore(self._size)
        return self._free

    def _fresh_idle(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self._idle:
            smtp, since = self._idle.pop()
            if smtp.is_connected and now - since < self._idle_seconds:
                return smtp
            smtp.close()
        return None

    async def _open(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(**self._connect)
        await smtp.connect()
        self.opened += 1
        return smtp
