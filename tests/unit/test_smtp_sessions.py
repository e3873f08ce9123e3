"""Mail goes out over SMTP sessions that are reused while fresh and dropped after any failure."""
from __future__ import annotations

import asyncio

import pytest

from activities.mail import SentLedger, SmtpMailer, SmtpSettings
from activities.rendering import RenderedEmail
from relance import smtp_sink

EMAIL = RenderedEmail(subject="Facture FA-1 : rappel", text="Bonjour", html="<p>Bonjour</p>")


@pytest.fixture
def sink():
    outbox = smtp_sink.Outbox()
    controller = smtp_sink.start(outbox)
    controller.outbox = outbox
    yield controller
    controller.stop()


def mailer_for(sink, tmp_path, **settings) -> SmtpMailer:
    return SmtpMailer(SmtpSettings(host="127.0.0.1", port=sink.port, **settings), SentLedger(tmp_path / "sent.db"))


async def test_a_burst_of_letters_reuses_a_few_sessions(sink, tmp_path):
    mailer = mailer_for(sink, tmp_path, sessions=2)
    sent = await asyncio.gather(*(mailer.send(f"FA-{n}:j+2", "client@example.fr", EMAIL) for n in range(12)))
    await mailer.close()

    assert [s.already_sent for s in sent] == [False] * 12
    assert len(sink.outbox.messages) == 12
    assert mailer.sessions.opened == 2


async def test_a_stale_session_is_replaced_not_reused(sink, tmp_path):
    mailer = mailer_for(sink, tmp_path, session_idle_seconds=0.0)
    await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    await mailer.send("FA-2:j+2", "client@example.fr", EMAIL)
    await mailer.close()

    assert mailer.sessions.opened == 2
    assert len(sink.outbox.messages) == 2


async def test_a_session_the_server_dropped_is_not_reused(sink, tmp_path):
    mailer = mailer_for(sink, tmp_path)
    await mailer.send("FA-1:j+2", "client@example.fr", EMAIL)
    (smtp, _), = mailer.sessions._idle
    smtp.transport.close()  # the server or the network ended the idle connection
    await asyncio.sleep(0.05)
    await mailer.send("FA-2:j+2", "client@example.fr", EMAIL)
    await mailer.close()

    assert mailer.sessions.opened == 2
    assert len(sink.outbox.messages) == 2
