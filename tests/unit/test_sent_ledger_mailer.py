"""The mailer on its ledger: what a failed hand-off leaves for the next attempt."""
from __future__ import annotations

import asyncio
import time

import aiosmtplib
import pytest

from activities.mail import LeaseLost, PossibleDuplicate, SentLedger, SmtpMailer, SmtpSettings
from activities.rendering import RenderedEmail
from activities.smtp_data import DotNotWritten
from relance import smtp_sink

EMAIL = RenderedEmail(subject="Facture FA-1 : rappel", text="Bonjour", html="<p>Bonjour</p>")


class DropsFirstData(smtp_sink.Outbox):
    """A relay that loses the connection in the middle of the first DATA, before it answers."""

    dropped = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if not self.dropped:
            self.dropped += 1
            server.transport.close()
            return "421 going away"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def relay():
    outbox = DropsFirstData()
    controller = smtp_sink.start(outbox)
    controller.outbox = outbox
    yield controller
    controller.stop()


async def test_a_connection_lost_during_data_is_resent_by_the_next_attempt_without_waiting(relay, tmp_path):
    ledger = SentLedger(tmp_path / "sent.db", lease_seconds=60, unconfirmed_seconds=600, on_unconfirmed="resend")
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=relay.port), ledger)

    with pytest.raises(aiosmtplib.SMTPException):
        await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    assert ledger.lookup("FA-1:j+2").state == "handing", "never reported as sent"
    sent = await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    again = await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    await mailer.close()

    assert not sent.already_sent and again.already_sent
    assert len(relay.outbox.messages) == 1
    assert ledger.lookup("FA-1:j+2").state == "sent"


async def test_with_review_a_connection_lost_during_data_waits_for_ops(relay, tmp_path):
    ledger = SentLedger(tmp_path / "sent.db")  # review: the default
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=relay.port), ledger)

    with pytest.raises(aiosmtplib.SMTPException):
        await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    with pytest.raises(PossibleDuplicate, match="jamais été confirmé"):
        await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    assert ledger.resolve("FA-1:j+2", sent=False)
    assert not (await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)).already_sent
    await mailer.close()
    assert len(relay.outbox.messages) == 1


def dies_before_the_dot(point: str, key: str) -> None:
    if point == "before_dot":
        raise ConnectionError("worker lost with the message written, not its final dot")


@pytest.fixture
def plain_relay():
    outbox = smtp_sink.Outbox()
    controller = smtp_sink.start(outbox)
    controller.outbox = outbox
    controller.settings = SmtpSettings(host="127.0.0.1", port=controller.port)
    yield controller
    controller.stop()


async def given_back_then_sent_once(relay, ledger: SentLedger) -> None:
    """The key was given back (not left for review) and the next attempt sends it: one message in all."""
    assert ledger.lookup("FA-1:j+2").state == "claimed", "given back, not left for review"
    mailer = SmtpMailer(relay.settings, ledger)
    assert not (await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)).already_sent
    await mailer.close()
    assert len(relay.outbox.messages) == 1


async def test_a_worker_lost_before_the_final_dot_is_resent_at_once_even_under_review(plain_relay, tmp_path):
    """The server drops a message whose final dot never came: nothing for ops to check, nothing twice."""
    ledger = SentLedger(tmp_path / "sent.db")
    dying = SmtpMailer(plain_relay.settings, ledger, fault=dies_before_the_dot)
    with pytest.raises(ConnectionError):
        await dying.send("FA-1:j+2", "client@example.fr", EMAIL)
    await dying.close()
    await given_back_then_sent_once(plain_relay, ledger)


async def test_a_lease_lost_before_the_final_dot_sends_nothing(plain_relay, tmp_path):
    """A worker that comes back after its lease was taken over has written its message but not the dot: the fence
    refuses it, the connection closes, and the server holds nothing of it."""
    ledger = SentLedger(tmp_path / "sent.db")

    def taken_over(point: str, key: str) -> None:
        if point == "before_dot":
            ledger._write("UPDATE sent SET owner = 'another-host/1/x' WHERE key = ?", (key,))

    mailer = SmtpMailer(plain_relay.settings, ledger, fault=taken_over)
    with pytest.raises(LeaseLost):
        await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    await mailer.close()
    await asyncio.sleep(0.2)  # what the server would have done with the message, it has done by now
    assert plain_relay.outbox.messages == []


class SlowAfterTheFence(SentLedger):
    """A worker stopped between the fence's commit and the final dot (longer than its lease)."""

    def fence(self, key: str, owner: str) -> bool:
        fenced = super().fence(key, owner)
        time.sleep(self.lease_seconds * 1.5)
        return fenced


async def test_a_worker_stopped_between_the_fence_and_the_dot_writes_no_dot(plain_relay, tmp_path):
    """Its lease may have passed on, and ops may have answered `resend` meanwhile: it drops the message (no dot) and
    gives the key back; the next attempt sends it once."""
    late = SmtpMailer(plain_relay.settings, SlowAfterTheFence(tmp_path / "sent.db", lease_seconds=0.3))
    with pytest.raises(DotNotWritten):
        await late.send("FA-1:j+2", "client@example.fr", EMAIL)
    await late.close()
    await asyncio.sleep(0.2)
    assert plain_relay.outbox.messages == [], "the server dropped the message without its dot"
    await given_back_then_sent_once(plain_relay, SentLedger(tmp_path / "sent.db", lease_seconds=0.3))


class GarbledAnswer(smtp_sink.Outbox):
    """A relay that takes the message and answers DATA with something that is not an SMTP reply."""

    async def handle_DATA(self, server, session, envelope) -> str:
        await super().handle_DATA(server, session, envelope)
        server.transport.write(b"garbage without a code\r\n")
        server.transport.close()
        return "250 never read"


async def test_an_answer_that_cannot_be_read_after_the_dot_is_not_taken_for_a_refusal(tmp_path):
    """aiosmtplib reports an unreadable reply with the code -1: the relay may have the message, so it is held for
    ops, not given back and sent again."""
    outbox = GarbledAnswer()
    controller = smtp_sink.start(outbox)
    ledger = SentLedger(tmp_path / "sent.db")
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=controller.port), ledger)
    try:
        with pytest.raises(aiosmtplib.SMTPException):
            await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
        with pytest.raises(PossibleDuplicate):
            await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
        await mailer.close()
    finally:
        controller.stop()
    assert len(outbox.messages) == 1
