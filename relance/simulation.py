"""Run a ledger through the real workflows on the time-skipping Temporal server.

Each invoice's behaviour script (pays on day N, disputes, agrees a plan...) is played at its simulated
date, as ops would record it; months pass in seconds. The demo and rule previews use this.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gc
import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog

from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from relance.payloads import DATA_CONVERTER
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from domain.case import CaseStatus
from domain.decisions import next_step, status_of
from domain.playback import invalid_message, play_event, talking_through_accounts
from domain.policy import Policy
from domain.invoice import Invoice
from domain.script import ScriptEvent, parse_script
from relance import cases, smtp_sink
from relance.config import Config
from relance.go_live import Planned, planned_starts
from relance.ledger import LedgerRow
from relance.temporal import time_skipping_server
from activities import printing
from worker import build_activities, build_worker
from workflows.invoice_case import InvoiceCase
from workflows.visibility import register_search_attributes

log = structlog.get_logger(__name__)
PARIS = ZoneInfo("Europe/Paris")
EVENT_HOUR = 12  # debtors act at noon, after the morning's reminders went out
QUIET_STEP = dt.timedelta(days=30)
QUERY_CONCURRENCY = 32
EVENT_CONCURRENCY = 32  # messages in flight at once when several cases have an event at the same moment
MAX_SLEEP = dt.timedelta(days=1)
SETTLE_ROUNDS = 600


@dataclasses.dataclass
class Played:
    day: dt.date
    invoice: str
    event: str
    outcome: str


@dataclasses.dataclass
class SimulationResult:
    statuses: list[CaseStatus]
    played: list[Played]
    started_on: dt.date
    ended_on: dt.date
    due_dates: dict[str, dt.date]  # as simulated, after any rebase


def quiet_runtime() -> Runtime:
    """The test server lacks a capability the SDK core warns about at every start; only errors matter here."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(
        filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))


def rebase(rows: list[LedgerRow], first_due: dt.date) -> list[LedgerRow]:
    """Move every date of the ledger, its invoices' history included, by the same number of days so the earliest
    due date is `first_due`."""
    delta = first_due - min(row.invoice.due_date for row in rows)
    return [row.model_copy(update={
        "invoice": row.invoice.model_copy(update={
            "issue_date": row.invoice.issue_date + delta, "due_date": row.invoice.due_date + delta}),
        "prior": row.prior.model_copy(update={name: day + delta for name, day in row.prior.dates().items()})
        if row.prior else None}) for row in rows]


def opened(rows: list[LedgerRow], policies: Mapping[str, Policy], now: dt.datetime) -> tuple[list[LedgerRow], list[Planned]]:
    """The rows that open a case and their starts, as `relance import` would open them at `now`: each where its
    history puts it, its first message on the day the catch-up's daily cap gives it. An invoice paid in full before
    relance opens none."""
    plans = list(planned_starts(rows, policies, now))
    numbers = {plan.start.invoice.number for plan in plans}
    return [row for row in rows if row.invoice.number in numbers], plans


async def simulate(rows: list[LedgerRow], config: Config, policies: Mapping[str, Policy], *, horizon_days: int = 730,
                   lead_days: int | None = None, send_mail: bool = True, extra_workers: int = 0,
                   progress: Callable[[str], None] | None = None) -> SimulationResult:
    """Play `rows` to the end. With `lead_days`, dates are rebased so the first due date is that far ahead.

    With `send_mail`, messages go through a local SMTP server into var/outbox; without, a preview writes
    them there as files and nothing is sent anywhere.
    """
    controller = None
    if send_mail:
        controller = smtp_sink.start(smtp_sink.Outbox(config.var_dir / "outbox"))
        config = dataclasses.replace(config, smtp=dataclasses.replace(config.smtp, host="127.0.0.1", port=controller.port))
    else:
        config = dataclasses.replace(config, mail_transport="file")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server(), data_converter=DATA_CONVERTER,
        runtime=quiet_runtime())
    task_queue = f"simulation-{uuid.uuid4().hex[:8]}"
    # The worker is the bottleneck of a simulation (one Python process, one core): more share the queue.
    helpers = [_helper_worker(env, task_queue, config) for _ in range(max(0, extra_workers))]
    activities = build_activities(config)
    printing.warm_up()  # loads WeasyPrint's fonts while the cases open, not in the first letter's activity
    try:
        await register_search_attributes(env.client)
        async with build_worker(env.client, task_queue, activities):
            return await _play(env, task_queue, rows, policies, horizon_days, lead_days, progress or (lambda _: None))
    finally:
        await activities.mailer.close()
        for helper in helpers:
            helper.send_signal(signal.SIGINT)
        for helper in helpers:
            _stopped(helper)
        await env.shutdown()
        if controller:
            controller.stop()


def _helper_worker(env: WorkflowEnvironment, task_queue: str, config: Config) -> subprocess.Popen:
    environ = {**os.environ, "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
               "TEMPORAL_NAMESPACE": env.client.namespace, "TEMPORAL_TASK_QUEUE": task_queue,
               "RELANCE_RULES_DIR": str(config.rules_dir), "RELANCE_VAR": str(config.var_dir),
               "RELANCE_DOCUMENTS_DIR": str(config.documents_dir), "RELANCE_SENT_LEDGER": str(config.sent_ledger),
               "RELANCE_MAIL_TRANSPORT": config.mail_transport, "SMTP_HOST": config.smtp.host,
               "SMTP_PORT": str(config.smtp.port), "RELANCE_RULES_POLL_SECONDS": "0",
               "RELANCE_LOG_LEVEL": "ERROR"}
    return subprocess.Popen([sys.executable, "-m", "worker"], env=environ, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _stopped(helper: subprocess.Popen, seconds: float = 5) -> None:
    """A helper worker asked to stop: one still there after `seconds` is killed. Its graceful stop can wait a
    minute for its long polls to end (the time-skipping server does not cut them short), and it holds nothing of
    the preview's: its cases live on the test server, its ledger is scratch."""
    try:
        helper.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        log.info("simulation.helper_killed", pid=helper.pid, after_seconds=seconds)
        helper.kill()
        helper.wait()


async def _play(env: WorkflowEnvironment, task_queue: str, rows: list[LedgerRow], policies: Mapping[str, Policy],
                horizon_days: int, lead_days: int | None, progress: Callable[[str], None]) -> SimulationResult:
    now = await env.get_current_time()
    started_on = _paris_day(now)
    if lead_days is not None:
        rows = rebase(rows, started_on + dt.timedelta(days=lead_days))
    rows, plans = opened(rows, policies, now)
    with env.auto_time_skipping_disabled():
        report = await cases.open_cases(env.client, task_queue, [plan.start for plan in plans])
    progress(f"{len(report.started)} cases opened")
    await _settle(env, rows, progress)

    agenda = sorted(((_moment(row.invoice, event), row.invoice, event)
                     for row in rows for event in parse_script(row.script)), key=lambda item: item[0])
    played: list[Played] = []
    for moment, group in itertools.groupby(agenda, key=lambda item: item[0]):
        await _sleep_until(env, moment)
        today = _paris_day(await env.get_current_time())
        played += await _play_at_once(env, [(invoice, event) for _, invoice, event in group], today)
        last = played[-1]
        progress(f"{today:%d/%m/%Y} event {len(played)}/{len(agenda)} {last.invoice}: {last.event} -> {last.outcome}")

    end = _paris_day(await env.get_current_time()) + dt.timedelta(days=horizon_days)
    statuses = await _statuses(env, rows)
    while any(s.next_action for s in statuses) and _paris_day(await env.get_current_time()) < end:
        await _sleep_until(env, await env.get_current_time() + QUIET_STEP)
        statuses = await _statuses(env, rows)
        progress(f"{_paris_day(await env.get_current_time()):%d/%m/%Y}: {sum(1 for s in statuses if s.next_action)}"
                 f" case(s) still have a step ahead")
    return SimulationResult(statuses, played, started_on, _paris_day(await env.get_current_time()),
                            {row.invoice.number: row.invoice.due_date for row in rows})


async def _play_at_once(env: WorkflowEnvironment, events: list[tuple[Invoice, ScriptEvent]],
                        today: dt.date) -> list[Played]:
    """Events falling at the same moment: different cases at once (the worker is busy, not waiting), one
    case's events in their ledger order. Results come back in the agenda's order."""
    gate, outcomes = asyncio.Semaphore(EVENT_CONCURRENCY), [""] * len(events)
    by_case: dict[str, list[int]] = {}
    for index, (invoice, _) in enumerate(events):
        by_case.setdefault(invoice.number, []).append(index)

    async def one_case(indexes: list[int]) -> None:
        async with gate:
            for index in indexes:
                outcomes[index] = await _try(env, *events[index], today)

    with env.auto_time_skipping_disabled():
        await asyncio.gather(*(one_case(indexes) for indexes in by_case.values()))
    return [Played(today, invoice.number, str(event), outcome) for (invoice, event), outcome in zip(events, outcomes)]


async def _try(env: WorkflowEnvironment, invoice: Invoice, event: ScriptEvent, today: dt.date) -> str:
    try:
        result = await cases.play(cases.handle(env.client, invoice.number), event, invoice, today)
    except WorkflowUpdateFailedError as refused:
        return f"refused: {refused.cause.message if refused.cause else refused}"
    except ValueError as invalid:  # refused before reaching the case, as the fast preview says it
        return invalid_message(invalid)
    return "accepted" if getattr(result, "accepted", True) else f"refused: {result.reason}"


async def _statuses(env: WorkflowEnvironment, rows: list[LedgerRow]) -> list[CaseStatus]:
    today, gate = _paris_day(await env.get_current_time()), asyncio.Semaphore(QUERY_CONCURRENCY)

    async def one(number: str) -> CaseStatus:
        async with gate:
            return await cases.handle(env.client, number).query(InvoiceCase.status, today)

    with env.auto_time_skipping_disabled():
        return list(await asyncio.gather(*(one(row.invoice.number) for row in rows)))


async def _settle(env: WorkflowEnvironment, rows: list[LedgerRow], progress: Callable[[str], None]) -> None:
    """Let every case load its policy with the clock held: a first sleep would otherwise carry all of it.
    A busy worker may answer late; that only means the cases are still opening."""
    waiting = [row for row in rows]
    for _ in range(SETTLE_ROUNDS):
        try:
            statuses = await _statuses(env, waiting)
        except RPCError as error:
            progress(f"worker busy ({error.message}); cases still opening")
            continue
        waiting = [row for row, status in zip(waiting, statuses) if not status.policy_ref]
        if not waiting:
            return
        progress(f"{len(waiting)} case(s) still opening")
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{len(waiting)} case(s) did not open: is the machine overloaded?")


async def _sleep_until(env: WorkflowEnvironment, moment: dt.datetime) -> None:
    """Advance the clock a day at most per call, so that no single call waits on unbounded work."""
    while (remaining := moment - await env.get_current_time()) > dt.timedelta(0):
        await env.sleep(min(remaining, MAX_SLEEP))


def _moment(invoice: Invoice, event: ScriptEvent) -> dt.datetime:
    day = invoice.due_date + dt.timedelta(days=event.day)
    return dt.datetime.combine(day, dt.time(EVENT_HOUR), tzinfo=PARIS).astimezone(dt.timezone.utc)


def _paris_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(PARIS).date()


def simulate_fast(rows: list[LedgerRow], policies: dict[str, Policy], start: dt.datetime, *, horizon_days: int = 730,
                  lead_days: int | None = None) -> SimulationResult:
    """The same play as `simulate`, through the decision core in memory (`domain.playback`), without Temporal:
    a ledger of tens of thousands of invoices previews in seconds. The workflow stays the truth; a test checks
    both give the same timelines."""
    # Tens of thousands of cases hold millions of small objects and make no garbage cycles worth chasing: the
    # collector's full passes over them cost a third of the time at 10,000 invoices, more as the book grows.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _simulate_fast(rows, policies, start, horizon_days, lead_days)
    finally:
        if collecting:
            gc.enable()


def _simulate_fast(rows: list[LedgerRow], policies: dict[str, Policy], start: dt.datetime, horizon_days: int,
                   lead_days: int | None) -> SimulationResult:
    started_on = _paris_day(start)
    if lead_days is not None:
        rows = rebase(rows, started_on + dt.timedelta(days=lead_days))
    rows, plans = opened(rows, policies, start)
    cases = {plan.start.invoice.number: plan.case for plan in plans}
    customers = talking_through_accounts(cases.values())
    agenda = sorted(((_moment(row.invoice, event), row.invoice, event)
                     for row in rows for event in parse_script(row.script)), key=lambda item: item[0])
    played, now = [], start
    for moment, invoice, event in agenda:
        now = max(now, moment)  # an event dated before the preview starts plays at its start, as on the server
        outcome = play_event(cases[invoice.number], event, now)
        played.append(Played(_paris_day(now), invoice.number, str(event), outcome))
    alone = [case for case in cases.values() if case.customer is None]
    for unit in [*alone, *customers]:
        unit.advance(now)
    end = _paris_day(now) + dt.timedelta(days=horizon_days)

    def pending() -> bool:
        return any(case.waiting is not None or next_step(case.s, case.policy, now) for case in cases.values())

    while _paris_day(now) < end and pending():
        now += QUIET_STEP
        for unit in [*alone, *customers]:
            unit.advance(now)
    current = [status_of(case.s, case.policy, now) for case in cases.values()]
    return SimulationResult(current, played, started_on, _paris_day(now),
                            {row.invoice.number: row.invoice.due_date for row in rows})


def write_outputs(result: SimulationResult, folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timelines.txt").write_text(text, encoding="utf-8")
    (folder / "timelines.json").write_text(
        "[" + ",\n".join(s.model_dump_json(indent=2) for s in result.statuses) + "]\n", encoding="utf-8")
