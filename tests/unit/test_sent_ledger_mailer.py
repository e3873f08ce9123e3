"""The mailer on its ledger: what a failed hand-off leaves for the next attempt."""
from __future__ import annotations

import aiosmtplib
import pytest

from activities.mail import PossibleDuplicate, SentLedger, SmtpMailer, SmtpSettings
from activities.rendering import RenderedEmail
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
    ledger = SentLedger(tmp_path / "sent.db", lease_seconds=60, unconfirmed_seconds=600)
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
    ledger = SentLedger(tmp_path / "sent.db", on_unconfirmed="review")
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=relay.port), ledger)

    with pytest.raises(aiosmtplib.SMTPException):
        await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    with pytest.raises(PossibleDuplicate, match="jamais été confirmé"):
        await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    assert ledger.resolve("FA-1:j+2", sent=False)
    assert not (await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)).already_sent
    await mailer.close()
    assert len(relay.outbox.messages) == 1
