"""The relance worker: registers the case workflow and its activities on the configured task queue.

Run as many of these as the load needs, on as many hosts, against the same Temporal namespace.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import socket
import sys
import traceback

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.accounts import AccountActivities
from activities.bank_checks import BankChecks
from activities.case_activities import CaseActivities
from activities.court import PaperCourt
from activities.documents import DocumentStore
from activities.fleet import FleetActivities
from activities.sync import SyncActivities
from activities.insurer import EmailInsurer
from activities.mail import FileMailer, Mailer, SmtpMailer, open_ledger
from activities import printing
from activities.printing import WeasyPrinter
from activities.registered_mail import PostedByOps
from activities.policy_source import PolicySource
from activities.rules import RuleDirectory
from relance import logs, policies
from relance.config import Config, WorkerSettings, from_env
from relance.temporal import connect, metrics_runtime
from workflows import WORKFLOWS, shared_code

log = structlog.get_logger(__name__)


def build_activities(config: Config, mailer: Mailer | None = None) -> CaseActivities:
    if mailer is None and config.mail_transport == "file":
        mailer = FileMailer(config.var_dir / "outbox")
    mailer = mailer or SmtpMailer(config.smtp, sent_ledger(config))
    documents = DocumentStore(config.documents_dir)
    printer = WeasyPrinter()
    return CaseActivities(
        rules=RuleDirectory(config.rules_dir), mailer=mailer, documents=documents,
        court=PaperCourt(documents, printer), insurer=EmailInsurer(documents, mailer, printer), printer=printer,
        registered_mail=PostedByOps(documents), bank=BankChecks(config.bank_store_location()),
    )


def sent_ledger(config: Config):
    """SQLite on this host, or the PostgreSQL ledger every host shares when RELANCE_SENT_LEDGER_URL is set."""
    settings = config.mail_ledger
    return open_ledger(config.sent_ledger_location(), lease_seconds=settings.lease_seconds,
                       unconfirmed_seconds=settings.unconfirmed_seconds, on_unconfirmed=settings.on_unconfirmed)


# The sandbox executes a workflow's module afresh for every case it opens or brings back into the cache, so that
# cases never share module state; for `invoice_case` that is the class body and `workflow.defn` checking every
# handler's signature and type hints: about a third of the worker's CPU per case opened (py-spy, issue 18). The
# case keeps all its state on its instance, and the module holds only constants and functions, so the worker
# imports it once and shares it. The determinism guard is not lost: the replay tests (`tests/replay`) replay
# every saved history under the full sandbox, this module included.
SHARED_WORKFLOW_MODULES = ("workflows.invoice_case",)
RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(
    *SHARED_WORKFLOW_MODULES))


def build_worker(client: Client, task_queue: str, activities: CaseActivities,
                 settings: WorkerSettings = WorkerSettings()) -> Worker:
    shared_code.install()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=RUNNER,
        activities=[*activities.all(), *FleetActivities(client).all(), *SyncActivities(client).all(),
                    *AccountActivities(client).all(),
                    *PolicySource(client, task_queue, activities.rules, reader=f"worker@{socket.gethostname()}").all()],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_task_polls=settings.workflow_pollers,
        max_concurrent_activity_task_polls=settings.activity_pollers,
        max_concurrent_activities=settings.max_concurrent_activities,
    )


async def run(config: Config, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    client = await connect(config.temporal, wait_seconds=config.worker.connect_wait_seconds,
                           runtime=metrics_runtime(config.worker.metrics_address))
    activities = build_activities(config)
    printing.configure(config.worker.print_processes)
    printing.warm_up()  # the printing process loads the fonts now, not in the first letter's activity
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
    """`python -m worker`: runs until SIGINT or SIGTERM (a service manager's stop), then stops cleanly."""
    logs.configure()

    async def until_stopped() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await run(from_env(), stop)

    code = 0
    try:
        asyncio.run(until_stopped())
    except KeyboardInterrupt:
        pass
    except BaseException:  # noqa: BLE001 - said, then the process ends with its failure
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # Our verdict, not the interpreter teardown's, which may abort or hang after Temporal work (sdk-python #300): a
    # failed worker must end for its service manager to restart it. The printing process follows its parent.
    os._exit(code)


if __name__ == "__main__":
    main()
