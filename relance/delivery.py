"""What a case is waiting on while a message cannot go out: its pending activities, read from Temporal.

`relance status INV` shows them (the step, the attempt, the last error, the next try), so that an SMTP relay
that refuses or is down is seen on the case rather than only in the workers' logs. The step and the phase come
from the send's heartbeats (activities/mail.py).

`python -m relance.delivery resolve KEY sent|resend` answers a message held for review
(RELANCE_MAIL_UNCONFIRMED=review): it is in the mailbox, or it goes again.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import datetime as dt
import sys

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from domain.invoice import case_workflow_id
from relance.cases import PARIS
from relance.config import from_env


@dataclasses.dataclass(frozen=True)
class PendingDelivery:
    activity: str
    step: str | None  # the business key, from the attempt's heartbeat
    phase: str | None  # waiting for an SMTP session, claiming, sending, recording
    attempt: int
    state: str  # scheduled (waiting for its next try), started, ...
    last_error: str | None
    next_attempt_at: dt.datetime | None
    last_heartbeat_at: dt.datetime | None
    worker: str | None

    @property
    def failing(self) -> bool:
        return self.attempt > 1 or self.last_error is not None


async def pending(client: Client, workflow_id: str) -> list[PendingDelivery]:
    description = await client.get_workflow_handle(workflow_id).describe()
    found = []
    for info in description.raw_description.pending_activities:
        details: dict = {}
        if info.HasField("heartbeat_details") and info.heartbeat_details.payloads:
            try:
                decoded = await client.data_converter.decode(info.heartbeat_details.payloads)
                details = decoded[0] if decoded and isinstance(decoded[0], dict) else {}
            except Exception:  # details of another shape: the activity's type says enough
                details = {}
        failure = info.last_failure if info.HasField("last_failure") else None
        error = None
        if failure is not None and failure.message:
            kind = failure.application_failure_info.type if failure.HasField("application_failure_info") else ""
            error = f"{kind}: {failure.message}" if kind else failure.message
        found.append(PendingDelivery(
            activity=info.activity_type.name, step=details.get("key"), phase=details.get("phase"),
            attempt=info.attempt, state=PendingActivityState.Name(info.state).removeprefix("PENDING_ACTIVITY_STATE_").lower(),
            last_error=error,
            next_attempt_at=_time(info, "next_attempt_schedule_time"),
            last_heartbeat_at=_time(info, "last_heartbeat_time"),
            worker=info.last_worker_identity or None,
        ))
    return found


async def for_case(client: Client, invoice_number: str) -> list[PendingDelivery]:
    """For `relance status`: never fails the command (a server that cannot describe says nothing here)."""
    try:
        return await pending(client, case_workflow_id(invoice_number))
    except Exception:
        return []


def status_json(status, deliveries: list[PendingDelivery]) -> str:
    return json.dumps({**status.model_dump(mode="json"), "delivery": as_json(deliveries)}, indent=2)


def _time(info, field: str) -> dt.datetime | None:
    if not info.HasField(field):
        return None
    return getattr(info, field).ToDatetime(tzinfo=dt.timezone.utc)


PHASES = {"waiting for an SMTP session": "attente d'une session SMTP", "claiming": "réservation",
          "sending": "envoi en cours", "recording": "enregistrement",
          "waiting for another attempt": "attente d'une autre tentative"}


def text(deliveries: list[PendingDelivery]) -> str:
    """The lines `relance status` prints, in its words; empty when nothing is failing."""
    lines = []
    for d in deliveries:
        if not d.failing:
            continue
        line = f"  {d.step or d.activity} : non remis, tentative {d.attempt}"
        if d.phase:
            line += f" ({PHASES.get(d.phase, d.phase)})"
        if d.last_error:
            line += f"\n    dernière erreur : {d.last_error}"
        if d.next_attempt_at:
            line += f"\n    prochain essai  : {d.next_attempt_at.astimezone(PARIS):%d/%m/%Y %H:%M:%S}"
        lines.append(line)
    return ("\n  Envoi en échec :\n" + "\n".join(lines)) if lines else ""


def as_json(deliveries: list[PendingDelivery]) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in dataclasses.asdict(d).items()}
            for d in deliveries]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relance.delivery", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    resolve = sub.add_parser("resolve", help="answer a message held for review (RELANCE_MAIL_UNCONFIRMED=review)")
    resolve.add_argument("key")
    resolve.add_argument("answer", choices=["sent", "resend"])
    sub.add_parser("review", help="list the messages held for review")
    args = parser.parse_args(argv)

    import worker

    ledger = worker.sent_ledger(from_env())
    if args.command == "review":
        for row in ledger.rows("review"):
            print(f"{row.key}\t{row.message_id}\tlast owner {row.owner}")
        return 0
    if not ledger.resolve(args.key, sent=args.answer == "sent"):
        print(f"relance: {args.key} is not held for review", file=sys.stderr)
        return 1
    print(f"{args.key}: {'recorded as sent' if args.answer == 'sent' else 'will be sent again at the next retry'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
