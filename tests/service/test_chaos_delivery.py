"""While a message cannot go out, the case says so (step, attempt, last error), and delivery resumes within
seconds of the relay coming back. On the dev server: its clock is the real one, so the invoice is made overdue
against it (chaos.run.overdue_invoices), not against a pinned day."""
from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid

from chaos.run import overdue_invoices, send_any_time
from relance import cases, delivery, smtp_sink
from tests.service.conftest import eventually, relance
from worker import build_activities, build_worker


async def test_a_relay_down_shows_on_the_case_and_delivery_resumes_once_it_is_back(dev_server, config):
    send_any_time(config.rules_dir / "default.yaml")
    port = smtp_sink.free_port()  # nothing listens there yet: the relay is down
    config = dataclasses.replace(config, smtp=dataclasses.replace(config.smtp, port=port))
    client, task_queue = dev_server.client, f"outage-{uuid.uuid4().hex[:8]}"
    activities = build_activities(config)
    invoice, = overdue_invoices(1, "outage")
    environ = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host,
               "TEMPORAL_TASK_QUEUE": task_queue, "RELANCE_LOG_FORMAT": "json"}
    sink = None
    async with build_worker(client, task_queue, activities):
        try:
            await cases.open_case(client, task_queue, invoice)

            async def failing():
                found = [d for d in await delivery.for_case(client, invoice.number) if d.attempt >= 3]
                return found and found[0].last_error and found[0]
            seen = await eventually(failing, 20)
            assert seen.activity == "send_email"
            assert seen.step.endswith("reminder:amicable-j+45")
            assert seen.phase == "waiting for an SMTP session"
            assert "refused" in seen.last_error.lower() or "connect" in seen.last_error.lower()

            shown = await relance(environ, "status", invoice.number)
            assert shown.returncode == 0, shown.stderr
            assert "Envoi en échec" in shown.stdout and "reminder:amicable-j+45" in shown.stdout
            assert "tentative" in shown.stdout and "dernière erreur" in shown.stdout
            as_json = json.loads((await relance(environ, "status", invoice.number, "--json")).stdout)
            assert as_json["delivery"][0]["attempt"] >= 3

            outbox = smtp_sink.Outbox()
            sink = smtp_sink.start(outbox, port=port)
            back = time.monotonic()

            async def delivered():
                return bool(outbox.messages)
            assert await eventually(delivered, 40)
            assert time.monotonic() - back < 25, "retries are at most 20 s apart"

            async def nothing_failing():
                return not any(d.failing for d in await delivery.for_case(client, invoice.number))
            assert await eventually(nothing_failing, 10)
        finally:
            await cases.handle(client, invoice.number).terminate("test over")
            if sink:
                sink.stop()
    await activities.mailer.close()
