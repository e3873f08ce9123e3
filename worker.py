"""The relance worker: registers the case workflow and its activities on the configured task queue.

Run as many of these as the load needs, on as many hosts, against the same Temporal namespace.
"""
from __future__ import annotations

import asyncio
import concurrent.futures

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.bank_checks import BankChecks
from activities.case_activities import CaseActivities
from activities.court import PaperCourt
from activities.documents import DocumentStore
from activities.fleet import FleetActivities
from activities.sync import SyncActivities
from activities.insurer import EmailInsurer
from activities.mail import FileMailer, Mailer, SmtpMailer, open_ledger
from activities.rules import RuleDirectory
from relance import logs, policies
from relance.config import Config, WorkerSettings, from_env
from relance.temporal import connect
from workflows import WORKFLOWS, shared_code

log = structlog.get_logger(__name__)


def build_activities(config: Config, mailer: Mailer | None = None) -> CaseActivities:
    if mailer is None and config.mail_transport == "file":
        mailer = FileMailer(config.var_dir / "outbox")
    mailer = mailer or SmtpMailer(config.smtp, sent_ledger(config))
    documents = DocumentStore(config.documents_dir)
    return CaseActivities(
        rules=RuleDirectory(config.rules_dir), mailer=mailer, documents=documents,
        court=PaperCourt(documents), insurer=EmailInsurer(documents, mailer),
        bank=BankChecks(config.bank_store_location()),
    )


def sent_ledger(config: Config):
    """SQLite on this host, or the PostgreSQL ledger every host shares when RELANCE_SENT_LEDGER_URL is set."""
    settings = config.mail_ledger
    return open_ledger(config.sent_ledger_location(), lease_seconds=settings.lease_seconds,
                       unconfirmed_seconds=settings.unconfirmed_seconds, on_unconfirmed=settings.on_unconfirmed)


def build_worker(client: Client, task_queue: str, activities: CaseActivities,
                 settings: WorkerSettings = WorkerSettings()) -> Worker:
    shared_code.install()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*activities.all(), *FleetActivities(client).all(), *SyncActivities(client).all()],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_task_polls=settings.workflow_pollers,
        max_concurrent_activity_task_polls=settings.activity_pollers,
        max_concurrent_activities=settings.max_concurrent_activities,
    )


async def run(config: Config, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    client = await connect(config.temporal, wait_seconds=config.worker.connect_wait_seconds)
    activities = build_activities(config)
    worker = build_worker(client, config.temporal.task_queue, activities, config.worker)
    log.info("worker.started", address=config.temporal.address, namespace=config.temporal.namespace,
             task_queue=config.temporal.task_queue, rules=str(config.rules_dir))
    try:
        async with worker:
            if config.rules_poll_seconds > 0:
                await policies.watch(client, config.temporal.task_queue, activities.rules, config.rules_poll_seconds,
                                     stop)
            else:
                await stop.wait()
    finally:
        await activities.mailer.close()


def main() -> None:
    logs.configure()
    try:
        asyncio.run(run(from_env()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
