"""Ingest and sleeping cases, on the dev server: start N cases, time it, let them fall asleep, weigh them.

One run = one implementation (relance or bare), one store (in memory, or SQLite with the WAL pragmas), one
worker cache size, on a fresh dev server with a fresh worker process. The importing client is this process,
the worker another, the server a third, as with `relance import` against `make up`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from relance.payloads import DATA_CONVERTER
from temporalio.exceptions import WorkflowAlreadyStartedError

from bench import procs, scenarios
from bench.bare import BareCase, BareStart, sleeping_ops
from domain.invoice import Invoice
from relance import cases
from workflows.visibility import start_search_attributes

PAUSE = 1.0  # seconds before the baseline readings; twice that between falling asleep and the last readings


async def start_bare(client: Client, task_queue: str, invoices: list[Invoice], concurrency: int,
                     progress=None, visibility: bool = False) -> int:
    """`relance.cases.open_cases`, move for move (same gate, same id policies), starting `BareCase`; with
    `visibility`, with relance's start search attributes and its first decision's upsert (the floor any engine
    that lists its cases pays)."""
    gate, started = asyncio.Semaphore(concurrency), 0

    async def one(invoice: Invoice) -> None:
        nonlocal started
        async with gate:
            first_step = dt.datetime.combine(invoice.due_date - dt.timedelta(days=10), dt.time(9),
                                             tzinfo=scenarios.PARIS)
            try:
                await client.start_workflow(
                    BareCase.run, BareStart(invoice=invoice, ops=sleeping_ops(first_step, visibility)),
                    id=f"bare-{invoice.number}", task_queue=task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    search_attributes=start_search_attributes(invoice) if visibility else None,
                )
                started += 1
            except WorkflowAlreadyStartedError:
                pass
            if progress:
                progress(1)

    await asyncio.gather(*(one(invoice) for invoice in invoices))
    return started


async def unsettled(client: Client, workflow_ids: list[str], concurrency: int = 50) -> list[str]:
    """The cases that still have a workflow task or an activity pending: the others are asleep on a timer."""
    gate = asyncio.Semaphore(concurrency)

    async def busy(workflow_id: str) -> bool:
        async with gate:
            d = await client.get_workflow_handle(workflow_id).describe()
            raw = d.raw_description
            return raw.HasField("pending_workflow_task") or len(raw.pending_activities) > 0

    flags = await asyncio.gather(*(busy(w) for w in workflow_ids))
    return [w for w, flag in zip(workflow_ids, flags) if flag]


async def run(params: dict, folder: Path) -> dict:
    impl, n, sqlite = params["impl"], params["n"], params["store"] == "sqlite"
    concurrency = params.get("concurrency", 50)
    server = procs.DevServer(folder, sqlite=sqlite)
    worker = None
    try:
        task_queue = f"bench-{impl}-{uuid.uuid4().hex[:6]}"
        worker = procs.WorkerProcess(folder, impl=impl, address=server.address, task_queue=task_queue,
                                     max_cached=params.get("max_cached"))
        client = await Client.connect(server.address, data_converter=DATA_CONVERTER)
        pause = params.get("pause", PAUSE) if params.get("settle") else 0
        await asyncio.sleep(pause)  # let both processes finish starting before the baseline readings
        before = readings(server, worker)

        today = scenarios.paris_day(dt.datetime.now(dt.timezone.utc))
        invoices = [c.invoice for c in scenarios.mix(n, today, f"I{uuid.uuid4().hex[:6]}")]
        began = time.perf_counter()
        if impl == "relance":
            report = await cases.open_cases(client, task_queue, invoices, concurrency=concurrency)
            started, failed = len(report.started), len(report.failed)
            ids = [i.workflow_id for i in invoices]
        else:
            started, failed = await start_bare(client, task_queue, invoices, concurrency), 0
            ids = [f"bare-{i.number}" for i in invoices]
        import_seconds = time.perf_counter() - began
        if started != n:
            raise RuntimeError(f"{impl}: {started} of {n} cases started ({failed} failed)")

        result = {"impl": impl, "store": params["store"], "n": n, "max_cached": params.get("max_cached"),
                  "import_seconds": import_seconds, "starts_per_second": n / import_seconds}
        if params.get("settle"):
            result["asleep_seconds"] = await wait_asleep(client, ids, worker, began, params.get("settle_timeout", 900))
            await asyncio.sleep(2 * pause)
            after = readings(server, worker)
            per_thousand = 1000 / n
            history = await client.get_workflow_handle(ids[0]).fetch_history()
            result.update({
                "worker_cpu_ms_per_case": (after["worker_cpu"] - before["worker_cpu"]) * 1000 / n,
                "server_cpu_ms_per_case": (after["server_cpu"] - before["server_cpu"]) * 1000 / n,
                "history_events_asleep": len(history.events),
                "history_bytes_asleep": sum(e.ByteSize() for e in history.events),
                "worker_rss_before": before["worker_rss"], "worker_rss_after": after["worker_rss"],
                "server_rss_before": before["server_rss"], "server_rss_after": after["server_rss"],
                "worker_rss_per_1000": (after["worker_rss"] - before["worker_rss"]) * per_thousand,
                "server_rss_per_1000": (after["server_rss"] - before["server_rss"]) * per_thousand,
            })
            if sqlite:
                result.update({
                    "sqlite_bytes_before": before["sqlite_bytes"], "sqlite_bytes_after": after["sqlite_bytes"],
                    "sqlite_bytes_per_1000": (after["sqlite_bytes"] - before["sqlite_bytes"]) * per_thousand,
                })
        return result
    finally:
        if worker:
            worker.stop()
        server.stop()


async def wait_asleep(client: Client, ids: list[str], worker: procs.WorkerProcess, began: float,
                     timeout: float) -> float:
    """Seconds from the first start until every case sleeps on its timer.

    Describing every case in a loop would load the server being measured, so this watches the worker's CPU
    time instead, and describes the cases only once it has been idle for a second (again if some are busy).
    Returns the moment the worker went idle for good.
    """
    deadline, last_cpu, idle_since = time.monotonic() + timeout, procs.cpu_seconds(worker.pid), None
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        cpu = procs.cpu_seconds(worker.pid)
        if cpu - last_cpu > 0.02:
            last_cpu, idle_since = cpu, None
            continue
        if idle_since is None:
            idle_since = time.perf_counter()
            continue
        if time.perf_counter() - idle_since < 1.0:
            continue
        busy = await unsettled(client, ids)
        if not busy:
            return idle_since - began
        ids, idle_since, last_cpu = busy, None, procs.cpu_seconds(worker.pid)
    raise TimeoutError(f"{len(ids)} cases still busy after {timeout:.0f}s")


def readings(server: procs.DevServer, worker: procs.WorkerProcess) -> dict:
    out = {"worker_rss": procs.rss(worker.pid), "server_rss": procs.rss(server.pid),
           "worker_cpu": procs.cpu_seconds(worker.pid), "server_cpu": procs.cpu_seconds(server.pid)}
    if server.db:
        out["sqlite_bytes"] = procs.sqlite_bytes(server.db)
    return out
