"""Full lifecycles on the time-skipping server, and the history each outcome leaves.

One run = one implementation. N cases, the outcomes of `bench.scenarios` in turn, are started at once; the
driver then lets simulated time run to each moment a debtor acts and plays every behaviour due then (relance
gets the real ops messages through `relance.cases.play`; the bare workflow one `message` update each), and
finally waits for every case to complete. Wall time from the first start to the last result gives
lifecycles per second. Then one history per class of cases (same outcome, same due date) is fetched: its
events are counted, and for relance turned into the bare operations (`bench.bare.ops_from_history`) that
the bare run of the same repeat plays.

Time skipping: the starts, the messages and the wait for results run with automatic time skipping off; only
`advance` (the test service's sleep, a week at a time) moves the clock. The time-skipping server wedges when
hundreds of results are awaited with it on, and `handle.result()` would let it jump to the run timeout while
activities run.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
import uuid
from pathlib import Path

import psutil
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client, WorkflowUpdateFailedError
from relance.payloads import DATA_CONVERTER
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from bench import procs, scenarios
from bench.bare import BareCase, BareStart, floor_events, ops_from_history
from domain.case import PlanProposal
from domain.schedule import equal_instalments
from relance import cases as relance_cases
from relance.temporal import binary
from workflows.invoice_case import InvoiceCase
from workflows.visibility import register_search_attributes

SKIP_STEP = dt.timedelta(days=7)
SKIP_TIMEOUT = dt.timedelta(minutes=15)
CONCURRENCY = 50  # messages in flight at once, like `open_cases`' import gate
RESULT_TIMEOUT = 300.0  # seconds for the last cases to complete once their closing message is in


def quiet_runtime() -> Runtime:
    """The test server lacks a capability the SDK core warns about at every start; only errors matter here."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(
        filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))


def workflow_id(impl: str, case: scenarios.Case) -> str:
    return case.invoice.workflow_id if impl == "relance" else f"bare-{case.invoice.number}"


async def play(impl: str, client: Client, case: scenarios.Case, event, today: dt.date):
    """One behaviour event, as ops would record it (relance) or as one bare message."""
    if impl == "bare":
        return await client.get_workflow_handle(workflow_id(impl, case)).execute_update(BareCase.message, str(event))
    handle = relance_cases.handle(client, case.invoice.number)
    if event.action == "plan":
        # `relance plan` asks the case what is due first; with nothing paid yet that is the invoice amount,
        # so the driver skips the query (the bare workflow has no such question to answer).
        count, every = int(event.args["count"]), int(event.args["every_days"])
        instalments = equal_instalments(case.invoice.amount_incl_tax, count, today + dt.timedelta(days=every), every)
        return await handle.execute_update(InvoiceCase.propose_plan, PlanProposal(instalments=instalments))
    return await relance_cases.play(handle, event, case.invoice, today)


async def advance(env: WorkflowEnvironment, target: dt.datetime) -> None:
    """Let simulated time run to `target`, in steps of at most SKIP_STEP with a long RPC timeout.

    `env.sleep` uses the client's default RPC timeout, which a long skip can exceed on a slow machine when a
    thousand cases have work on the way (the skip returns only once the server got there).
    """
    while (remaining := target - await env.get_current_time()) > dt.timedelta(0):
        request = SleepRequest()
        request.duration.FromTimedelta(min(remaining, SKIP_STEP))
        await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_TIMEOUT)


async def gated(items, action, concurrency: int = CONCURRENCY) -> list:
    gate = asyncio.Semaphore(concurrency)

    async def one(item):
        async with gate:
            return await action(item)

    return await asyncio.gather(*(one(item) for item in items), return_exceptions=True)


def test_server_pid() -> int | None:
    for child in psutil.Process().children(recursive=True):
        if "temporal-test-server" in child.name():
            return child.pid
    return None


async def run(params: dict, folder: Path) -> dict:
    impl, n = params["impl"], params["n"]
    plans: dict[str, list[str]] = params.get("plans") or {}
    sink = procs.SmtpSink(folder)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=DATA_CONVERTER,
        runtime=quiet_runtime())
    worker = None
    try:
        await register_search_attributes(env.client)
        task_queue = f"bench-{impl}-{uuid.uuid4().hex[:6]}"
        worker = procs.WorkerProcess(folder, impl=impl, address=env.client.service_client.config.target_host,
                                     task_queue=task_queue, smtp_port=sink.port)
        client = env.client
        now = await env.get_current_time()
        today = dt.date.fromisoformat(params["today"]) if params.get("today") else scenarios.paris_day(now)
        mix = scenarios.mix(n, today, f"L{uuid.uuid4().hex[:6]}")
        if impl == "bare":
            missing = {c.klass for c in mix} - plans.keys()
            if missing:
                raise ValueError(f"no bare plan for {sorted(missing)}")
        server_pid = test_server_pid()
        cpu_before = {"worker": procs.cpu_seconds(worker.pid),
                      "server": procs.cpu_seconds(server_pid) if server_pid else 0.0}
        printing_before = procs.descendants_cpu(worker.pid)

        began = time.perf_counter()
        with env.auto_time_skipping_disabled():
            if impl == "relance":
                report = await relance_cases.open_cases(client, task_queue, [c.invoice for c in mix],
                                                        concurrency=CONCURRENCY)
                failed = len(report.failed) + len(report.existing)
            else:
                outcomes = await gated(mix, lambda c: client.start_workflow(
                    BareCase.run, BareStart(invoice=c.invoice, ops=plans[c.klass]), id=workflow_id(impl, c),
                    task_queue=task_queue))
                failed = sum(isinstance(o, BaseException) for o in outcomes)
        if failed:
            raise RuntimeError(f"{failed} of {n} {impl} cases did not start")
        started_seconds = time.perf_counter() - began

        agenda = sorted(((scenarios.moment(c.invoice, e), i, c, e) for i, c in enumerate(mix) for e in c.outcome.events()),
                        key=lambda item: (item[0], item[1]))
        refused = errors = 0
        for at, group in itertools.groupby(agenda, key=lambda item: item[0]):
            await advance(env, at)
            today_then = scenarios.paris_day(at)
            with env.auto_time_skipping_disabled():
                outcomes = await gated(list(group), lambda item: play(impl, client, item[2], item[3], today_then))
            refused += sum(isinstance(o, WorkflowUpdateFailedError) for o in outcomes)
            errors += sum(isinstance(o, BaseException) and not isinstance(o, WorkflowUpdateFailedError) for o in outcomes)
        played_seconds = time.perf_counter() - began

        with env.auto_time_skipping_disabled():
            results = await asyncio.wait_for(gated(
                mix, lambda c: client.get_workflow_handle(workflow_id(impl, c)).result()), RESULT_TIMEOUT)
        seconds = time.perf_counter() - began
        unfinished = [r for r in results if isinstance(r, BaseException)]
        if unfinished:
            raise RuntimeError(f"{len(unfinished)} of {n} {impl} cases did not complete: {unfinished[0]!r}")
        cpu = {"worker": procs.cpu_seconds(worker.pid) - cpu_before["worker"],
               "server": (procs.cpu_seconds(server_pid) - cpu_before["server"]) if server_pid else None,
               # The worker's printing processes (relance's PDFs; the bare worker starts none): CPU the worker's
               # own figure leaves out, and that the time-skipping server waits for.
               "printing": sum(seconds - printing_before.get(pid, 0.0)
                               for pid, seconds in procs.descendants_cpu(worker.pid).items())}

        closed: dict[str, dict[str, int]] = {}
        if impl == "relance":
            for case, status in zip(mix, results):  # untyped handles: the status comes back as a dict
                reasons, reason = closed.setdefault(case.outcome.name, {}), str(status.get("closed_reason"))
                reasons[reason] = reasons.get(reason, 0) + 1

        classes = {}
        for case in mix:
            if case.klass in classes:
                continue
            history = await client.get_workflow_handle(workflow_id(impl, case)).fetch_history()
            ops = ops_from_history(history) if impl == "relance" else plans[case.klass]
            classes[case.klass] = {
                "outcome": case.outcome.name, "events": len(history.events),
                "bytes": sum(e.ByteSize() for e in history.events), "ops": ops, "floor_events": floor_events(ops),
            }
        return {
            "impl": impl, "n": n, "today": today.isoformat(), "seconds": seconds, "lifecycles_per_second": n / seconds,
            "start_seconds": started_seconds, "played_seconds": played_seconds,
            "simulated_days": (scenarios.paris_day(await env.get_current_time()) - scenarios.paris_day(now)).days,
            "messages": len(agenda), "refused": refused, "errors": errors,
            "worker_cpu_seconds": cpu["worker"], "server_cpu_seconds": cpu["server"],
            "printing_cpu_seconds": cpu["printing"],
            "closed": closed, "classes": classes,
        }
    finally:
        if worker:
            worker.stop()
        await env.shutdown()
        sink.stop()
