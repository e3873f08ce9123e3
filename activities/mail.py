"""Sending email through SMTP exactly once per business key, as far as SMTP allows.

SMTP has no idempotency, so a ledger (`activities/sent_ledger.py`) holds each key under a lease. A worker claims
the key only once it holds an SMTP session and is about to talk; right before the message's final dot it checks, in
one statement, that the lease is still its own (a worker that was paused or cut off past its lease stops there, and
the server drops a message without its dot); the lease is
renewed while the send runs; the key is recorded as sent only once SMTP answered 250. A claim never confirmed is
never reported as sent: once its lease has run out and its owner is gone, the message is sent again with the
same Message-ID (RELANCE_MAIL_UNCONFIRMED=resend) or waits for ops (review, the default). The one window left is
from the final dot to the ledger's commit of SMTP's answer (README, "Exactly once").
"""
from __future__ import annotations

import asyncio
import contextlib
import email.utils
import dataclasses
import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import aiosmtplib
import structlog
from temporalio import activity

from activities import mime, smtp_data
from activities.contracts import PermanentFailure, SentEmail, SentFound
from domain.decisions import held_for_review
from activities.rendering import RenderedEmail
from activities.sent_ledger import Claim, Outcome, PostgresSentLedger, SentLedger, open_ledger
from activities.smtp_sessions import SmtpSessions

__all__ = ["SentLedger", "PostgresSentLedger", "open_ledger", "SmtpMailer", "FileMailer", "SmtpSettings",
           "MessageInFlight", "PossibleDuplicate", "LeaseLost", "message_id_for"]

log = structlog.get_logger(__name__)
PARIS = ZoneInfo("Europe/Paris")  # the Date: header's zone: the one the policies' sending hours are written in

HEARTBEAT_SECONDS = 1.0  # well inside the activity's heartbeat timeout (activities/contracts.py)
BUSY_PATIENCE_SECONDS = 30.0  # how long an attempt waits for a key another attempt holds, within start_to_close
BUSY_POLL_SECONDS = 0.5


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


async def _ledger(call, *args):
    """A ledger call in a thread, carried to its end even when the attempt is cancelled meanwhile (a cancelled
    `to_thread` still queued would be dropped: a confirmation lost, a hand-off left for others to wait on)."""
    task = asyncio.ensure_future(asyncio.to_thread(call, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


class MessageInFlight(Exception):
    """Another attempt holds this key's lease (a worker sending it, or paused while sending it): retried later."""


class PossibleDuplicate(Exception):
    """An earlier hand-off of this key was never confirmed and the policy asks ops to review it before resending."""


class LeaseLost(Exception):
    """This attempt's lease ran out or was taken over before the final dot: it sends nothing; a retry sorts it out."""


class Mailer(Protocol):
    async def send(self, key: str, to: str, email: RenderedEmail) -> SentEmail: ...

    async def find(self, key: str) -> SentFound:
        """What became of the message under `key`, without sending anything."""

    async def close(self) -> None: ...


def message_bytes(sender: str, to: str, message_id: str, key: str, email: RenderedEmail) -> bytes:
    """Text with an HTML alternative, and the attachments, as sent."""
    return mime.email_bytes(sender=sender, to=to, subject=email.subject, message_id=message_id, key=key,
                            text=email.text, html=email.html, date=_date_header(),
                            attachments=tuple((a.filename, a.content_type, a.data) for a in email.attachments))


def _date_header() -> str | None:
    """The Date: of a message sent by an activity is its attempt's time on the Temporal server's clock: the moment
    it goes out in production, and its simulated moment in a preview or the demo (whose server skips time), so that
    a reader can count messages per customer per day. Outside an activity, the machine's clock."""
    if not activity.in_activity():
        return None
    moment = activity.info().current_attempt_scheduled_time
    return email.utils.format_datetime(moment.astimezone(PARIS)) if moment else None


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

    async def find(self, key: str) -> SentFound:
        path = self.folder / (re.sub(r"[^A-Za-z0-9._+-]+", "_", key) + ".eml")
        return SentFound(state="sent", message_id=message_id_for(key)) if path.exists() else SentFound()

    async def close(self) -> None:
        pass


def _nothing_went(error: BaseException) -> bool:
    """After the fence: the server refused the message with a reply code (4xx, 5xx), or the final dot was never
    written. A reply that could not be read (aiosmtplib says -1) or a lost connection leaves the outcome unknown."""
    if isinstance(error, smtp_data.DotNotWritten):
        return True
    return isinstance(error, aiosmtplib.SMTPResponseException) and 400 <= error.code < 600


class SmtpMailer:
    """Sends over reused SMTP sessions, each key under a lease of `ledger`.

    `fault(point, key)`, for tests and `make chaos`, runs at each point of a send: "claimed", "before_data",
    "before_dot" (the message written, not its final dot), "accepted" (SMTP answered 250, not yet recorded) and "confirmed"; raising there plays a failure at that point.
    """

    def __init__(self, settings: SmtpSettings, ledger: SentLedger,
                 fault: Callable[[str, str], None] | None = None) -> None:
        self.settings = settings
        self.ledger = ledger
        self._fault = fault or (lambda point, key: None)
        self.sessions = SmtpSessions(self._connection(), size=settings.sessions,
                                     idle_seconds=settings.session_idle_seconds)

    async def send(self, key: str, to: str, email: RenderedEmail) -> SentEmail:
        message_id = message_id_for(key)
        done = SentEmail(message_id=message_id, subject=email.subject, already_sent=True)
        known = await _ledger(self.ledger.lookup, key)
        if known is not None and known.state == "sent":
            return done
        owner = self.ledger.new_owner()
        held: list[str] = []  # the key, while this attempt holds its lease
        progress = {"key": key, "phase": "waiting for an SMTP session"}  # heartbeat details: `relance status`
        async with self._keep_alive(held, owner, progress):
            patience = time.monotonic() + BUSY_PATIENCE_SECONDS
            while True:
                async with self.sessions.session() as smtp:  # heartbeating while every session is busy
                    progress["phase"] = "claiming"
                    try:
                        claim = await _ledger(self.ledger.claim, key, owner, message_id, email.subject)
                    except asyncio.CancelledError:  # the claim may have been taken: give it back
                        await _ledger(self.ledger.release, key, owner)
                        raise
                    if claim.outcome is Outcome.SENT:
                        return done
                    if claim.outcome is Outcome.CLAIMED:
                        held.append(key)
                        progress["phase"] = "sending"
                        accepted, handed = await self._hand_off(smtp, key, owner, to,
                                                                self._message(message_id, key, to, email))
                        answered = time.perf_counter()
                        break
                if claim.outcome is not Outcome.BUSY or time.monotonic() >= patience:
                    self._refuse_unless_claimed(key, claim)
                # Another attempt holds the key (a retry racing a worker that is slow, paused or just dead):
                # look again shortly rather than fail this attempt and wait for Temporal's backoff.
                progress["phase"] = "waiting for another attempt"
                await asyncio.sleep(min(BUSY_POLL_SECONDS, max(0.05, claim.lease_left)))
            progress["phase"] = "recording"
            self._fault("accepted", key)
            # On the event loop, not in a thread: a thread hop (and a queue behind other ledger calls) would widen
            # the window between SMTP's acceptance and its record, where a crash means a resend.
            confirmed = self.ledger.confirm(key, owner)
            recorded = time.perf_counter()
            held.clear()
        if not confirmed:
            # Our copy went out, and the key was taken over meanwhile (this worker was paused past its lease):
            # the other owner may send it too. Same Message-ID, so a mailbox can keep one.
            log.warning("email.confirmed_too_late", key=key, message_id=message_id, owner=owner)
        self._fault("confirmed", key)
        # window_ms: from SMTP's 250 to the ledger's commit, the window where a crash means a resend (README).
        log.info("email.sent", key=key, to=to, subject=email.subject, message_id=message_id,
                 resent=claim.resend, smtp=accepted, handoff_ms=round((answered - handed) * 1000, 2),
                 window_ms=round((recorded - answered) * 1000, 2), recorded_at=round(time.time(), 6))
        return SentEmail(message_id=message_id, subject=email.subject, already_sent=False)

    async def find(self, key: str) -> SentFound:
        found = await _ledger(self.ledger.message, key)
        return SentFound() if found is None else SentFound(state=found[0], message_id=found[1], subject=found[2])

    def _refuse_unless_claimed(self, key: str, claim: Claim) -> None:
        if claim.outcome is Outcome.BUSY:
            raise MessageInFlight(f"{key}: another attempt holds it ({claim.owner}) for {claim.lease_left:.0f}s more")
        if claim.outcome is Outcome.REVIEW:
            raise PossibleDuplicate(held_for_review(key, message_id_for(key)))

    async def _hand_off(self, smtp: aiosmtplib.SMTP, key: str, owner: str, to: str, message: bytes
                        ) -> tuple[str, float]:
        """The envelope and the message, the fence, then the final dot (activities/smtp_data.py). Returns SMTP's
        answer once it accepted the message, and the moment the dot went out."""
        utf8 = not (to + self.settings.sender).isascii()
        try:
            self._fault("claimed", key)
            if smtp.is_ehlo_or_helo_needed:
                await smtp.ehlo()
            await smtp.mail(self.settings.sender, options=["SMTPUTF8"] if utf8 else [],
                            encoding="utf-8" if utf8 else "ascii")
            await smtp.rcpt(to, encoding="utf-8" if utf8 else "ascii")
            self._fault("before_data", key)
            await smtp_data.send_body(smtp, message, self.settings.timeout)
            self._fault("before_dot", key)
            # A worker stopped between the fence and the dot for longer than its lease (and `unconfirmed_seconds`)
            # may find its hand-off answered by ops meanwhile: past one lease, the dot is not written.
            dot_before = time.monotonic() + self.ledger.lease_seconds
            fenced = await _ledger(self.ledger.fence, key, owner)
        except BaseException as error:  # no final dot went out: the server holds nothing, the next attempt may send
            await _ledger(self.ledger.release, key, owner)
            if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 500:
                raise PermanentFailure(f"recipient refused: {to}: {error.code} {error.message}") from error
            raise
        if not fenced:
            smtp.close()  # without its final dot the message is dropped by the server
            raise LeaseLost(f"{key}: this attempt's lease ran out or was taken over before the final dot ({owner})")
        # From here the outcome may be unknown: the row stays 'handing' unless SMTP answers.
        data = asyncio.ensure_future(smtp_data.end_data(smtp, dot_before))  # timed below, pauses not counted
        dot = time.perf_counter()
        try:
            response = await self._answer(data)
        except asyncio.CancelledError:
            # The attempt was cancelled (its heartbeat timed out while this worker was paused): let SMTP
            # answer, so that an accepted message is recorded rather than resent; then give up the attempt.
            try:
                await asyncio.wait_for(data, self.settings.timeout)
                await _ledger(self.ledger.confirm, key, owner)
            except BaseException as error:
                with contextlib.suppress(BaseException):
                    await _ledger(self.ledger.release if _nothing_went(error) else self.ledger.abandon, key, owner)
            raise
        except BaseException as error:
            if not _nothing_went(error):
                # The connection failed (or timed out) before SMTP answered: it may or may not have the message.
                # Not ours to wait on any more: the next attempt resends it (or holds it for review) at once.
                await _ledger(self.ledger.abandon, key, owner)
                raise
            await _ledger(self.ledger.release, key, owner)  # refused, or the dot never left: nothing went out
            raise
        return f"{response.code} {response.message}"[:120], dot

    async def _answer(self, data: asyncio.Future) -> aiosmtplib.SMTPResponse:
        """SMTP's answer to DATA, within `timeout` seconds of this process running. A worker stopped for a while
        (SIGSTOP, a VM paused) finds the 250 waiting in its socket when it resumes: a plain timeout would have
        fired first and the accepted message been resent. Cancelling this wait leaves `data` running."""
        waited = 0.0
        while True:
            before = time.monotonic()
            done, _ = await asyncio.wait({data}, timeout=1.0)
            if done:
                return data.result()
            waited += min(time.monotonic() - before, 2.0)  # a stop counts as one step, not its length
            if waited >= self.settings.timeout:
                data.cancel()
                raise aiosmtplib.SMTPReadTimeoutError(f"no answer to DATA within {self.settings.timeout:.0f}s")

    @contextlib.asynccontextmanager
    async def _keep_alive(self, held: list[str], owner: str, progress: dict):
        """Heartbeats the activity while waiting for a session and while sending, and renews the lease held."""
        def heartbeat() -> None:
            if activity.in_activity():
                activity.heartbeat(dict(progress))

        async def beat() -> None:
            renewed = time.monotonic()
            while True:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                heartbeat()
                if held and time.monotonic() - renewed >= self.ledger.lease_seconds / 3:
                    renewed = time.monotonic()
                    if not await _ledger(self.ledger.renew, held[0], owner):
                        log.warning("email.lease_lost", key=held[0], owner=owner)

        # A retry says at once where it is (`relance status` shows which step fails, and why); a first attempt
        # does not: a heartbeat is a write to the server's store, and most sends end well inside the first second.
        if activity.in_activity() and activity.info().attempt > 1:
            heartbeat()
        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    def _message(self, message_id: str, key: str, to: str, email: RenderedEmail) -> bytes:
        return message_bytes(mime.address(self.settings.sender_name, self.settings.sender), to, message_id, key, email)

    async def close(self) -> None:
        await self.sessions.close()

    def _connection(self) -> dict:
        s = self.settings
        return dict(hostname=s.host, port=s.port, start_tls=s.starttls, use_tls=s.use_tls,
                    username=s.username, password=s.password, timeout=s.timeout)
