"""Ingest as the user waits for it: from the first start of an import until every case sleeps after its first
decision (issue 18), on the dev server with SQLite (`relance up`'s settings), with one or more worker processes.

One run = one implementation (relance's `InvoiceCase`, or `BareCase` reading its policy as a local activity and
sleeping on its first timer), N invoices falling due in the coming weeks, fresh server and workers. Every second
the run reads, without asking the server being measured: how many first workflow tasks the workers completed
(the SDK's own Prometheus counters, `bench.workerproc`), the CPU and memory of the server and of each worker,
and the size of the SQLite files. From that timeline it gives the rate per tenth of the book, so a rate that
falls as the book grows shows, and where memory levels off. At the end every case is described once to check
that none still has a task or an activity pending, and the SQLite file is weighed table by table.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
import time
import urllib.request
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from bench import procs, scenarios
from bench.ingest import start_bare, unsettled
from domain.invoice import case_workflow_id
from relance import cases
from relance.payloads import DATA_CONVERTER

COMPLETED = re.compile(r'^temporal_request_latency_count\{[^}]*operation="RespondWorkflowTaskCompleted"[^}]*\} (\S+)$',
                       re.M)
HISTOGRAM = r'^temporal_{name}_(sum|count)\{{[^}}]*\}} (\S+)$'
SLICES = 10


def scrape(port: int) -> dict:
    """A worker's completed workflow tasks, and the sums behind two latencies: how long tasks waited in the
    server's queue for a worker (schedule to start), and how long the worker took over one (execution)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {"completed": sum(float(v) for v in COMPLETED.findall(text))}
    for name in ("workflow_task_schedule_to_start_latency", "workflow_task_execution_latency"):
        for kind, value in re.findall(HISTOGRAM.format(name=name), text, re.M):
            out[f"{name}_{kind}"] = out.get(f"{name}_{kind}", 0.0) + float(value)
    return out


def file_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())


class Timeline:
    """One sample a second of the whole process tree being measured."""

    def __init__(self, server: procs.DevServer, workers: list[tuple[procs.WorkerProcess, int]], began: float) -> None:
        self.server, self.workers, self.began = server, workers, began
        self.samples: list[dict] = []
        self.started = 0  # cases the import has started so far

    def sample(self) -> dict:
        scraped = [scrape(port) for _, port in self.workers]
        row = {"t": time.perf_counter() - self.began, "started": self.started,
               "completed": sum(s["completed"] for s in scraped),
               "server_cpu": procs.cpu_seconds(self.server.pid), "server_rss": procs.rss(self.server.pid),
               "worker_cpu": sum(procs.cpu_seconds(w.pid) for w, _ in self.workers),
               "worker_rss": sum(procs.rss(w.pid) for w, _ in self.workers),
               "sqlite_file_bytes": file_bytes(self.server.db)}
        for key in scraped[0]:
            if key != "completed":
                row[key] = sum(s.get(key, 0.0) for s in scraped)
        self.samples.append(row)
        return row

    async def run(self, stop: asyncio.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), every)
            except asyncio.TimeoutError:
                pass


def moment(samples: list[dict], target: float) -> float | None:
    """When the count of completed first tasks reached `target`, interpolated between two samples."""
    previous = {"t": 0.0, "completed": 0.0}
    for row in samples:
        if row["completed"] >= target:
            span = row["completed"] - previous["completed"]
            share = (target - previous["completed"]) / span if span else 1.0
            return previous["t"] + share * (row["t"] - previous["t"])
        previous = row
    return None


def slices(samples: list[dict], n: int, baseline: dict) -> list[dict]:
    """Per tenth of the book: when it was reached, its rate, and the CPU and memory of the processes then."""
    out, last_t = [], 0.0
    for k in range(1, SLICES + 1):
        at = moment(samples, baseline["completed"] + n * k / SLICES)
        if at is None:
            break
        row = min(samples, key=lambda r: abs(r["t"] - at))
        before = min(samples, key=lambda r: abs(r["t"] - last_t)) if k > 1 else baseline
        seconds = max(row["t"] - before["t"], 1e-9)
        opened = max(row["completed"] - before["completed"], 1)
        out.append({"slice": k, "at_seconds": at, "cases_per_second": n / SLICES / max(at - last_t, 1e-9),
                    "started_by_then": row["started"],
                    "worker_cpu_share": (row["worker_cpu"] - before["worker_cpu"]) / seconds,
                    "server_cpu_share": (row["server_cpu"] - before["server_cpu"]) / seconds,
                    # CPU per case opened in this tenth: unlike the rate, it does not depend on who else shares
                    # the machine, so a cost that grows with the book shows here
                    "worker_cpu_ms_per_case": (row["worker_cpu"] - before["worker_cpu"]) * 1000 / opened,
                    "server_cpu_ms_per_case": (row["server_cpu"] - before["server_cpu"]) * 1000 / opened,
                    "worker_rss": row["worker_rss"], "server_rss": row["server_rss"],
                    "sqlite_file_bytes": row["sqlite_file_bytes"]})
        last_t = at
    return out


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
        return True
    except RPCError:
        return False


def tables(db: Path) -> dict[str, int]:
    """Bytes per table (its indexes included) of the server's SQLite file, read while the server runs."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        owner = dict(connection.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        sizes: dict[str, int] = {}
        for name, size in connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            sizes[table] = sizes.get(table, 0) + size
        return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))
    finally:
        connection.close()


async def run(params: dict, folder: Path) -> dict:
    impl, n, worker_count = params["impl"], params["n"], params.get("workers", 1)
    concurrency = params.get("concurrency", 50)
    server = procs.DevServer(folder, sqlite=True, pragmas=params.get("pragmas"))  # more pragmas: an experiment
    workers: list[tuple[procs.WorkerProcess, int]] = []
    try:
        task_queue = f"bench-{impl}-{uuid.uuid4().hex[:6]}"
        for i in range(worker_count):
            port = procs.free_port()
            workers.append((procs.WorkerProcess(folder, impl=impl, address=server.address, task_queue=task_queue,
                                                metrics_port=port, name=f"{impl}-{i}",
                                                max_cached=params.get("max_cached")), port))
        client = await Client.connect(server.address, data_converter=DATA_CONVERTER)
        await asyncio.sleep(params.get("pause", 1.0))  # both processes done starting before the baseline

        today = scenarios.paris_day(dt.datetime.now(dt.timezone.utc))
        invoices = [c.invoice for c in scenarios.mix(n, today, f"I{uuid.uuid4().hex[:6]}")]
        timeline = Timeline(server, workers, time.perf_counter())
        baseline = timeline.sample()
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(timeline.run(stop))

        def advance(k: int = 1) -> None:
            timeline.started += k

        failed: list[str] = []
        if impl == "relance":
            report = await cases.open_cases(client, task_queue, invoices, concurrency=concurrency, progress=advance)
            # a start the SDK retried after the server had taken it comes back "already open": it is ours too
            failed = [number for number, _ in report.failed]
            ids = [i.workflow_id for i in invoices if i.number not in set(failed)]
        else:
            await start_bare(client, task_queue, invoices, concurrency, progress=advance,
                             visibility=params.get("floor", False))
            ids = [f"bare-{i.number}" for i in invoices]
        import_seconds = time.perf_counter() - timeline.began
        if failed:  # a start refused under load (the server's deadline): the run goes on with the cases started
            ids += [w for w in (case_workflow_id(number) for number in failed) if await exists(client, w)]
        n_asked, n = n, len(ids)

        deadline = time.monotonic() + params.get("timeout", 3600)
        while timeline.samples[-1]["completed"] - baseline["completed"] < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{impl}: {timeline.samples[-1]['completed']:.0f} of {n} first tasks done")
            await asyncio.sleep(0.25)
        stop.set()
        await sampler
        last = timeline.sample()
        asleep_seconds = moment(timeline.samples, baseline["completed"] + n)
        busy = await unsettled(client, ids)  # every case, once: none may still have a task or an activity pending
        while busy:  # a first task that heartbeated (a slow local activity) counts twice: wait for the rest
            if time.monotonic() > deadline:
                raise TimeoutError(f"{impl}: {len(busy)} cases still busy")
            await asyncio.sleep(1.0)
            busy = await unsettled(client, busy)
            asleep_seconds = time.perf_counter() - timeline.began
        history = await client.get_workflow_handle(ids[0]).fetch_history()
        await asyncio.sleep(2.0)  # let the server write what it buffered before weighing its file
        weighed = timeline.sample()
        by_table = tables(server.db)

        def per_case(key: str, row: dict = last) -> float:
            return (row[key] - baseline[key]) / n

        completed = last["completed"] - baseline["completed"]
        return {
            "impl": impl, "n": n_asked, "opened": n, "failed_starts": n_asked - n, "workers": worker_count,
            "concurrency": concurrency,
            "import_seconds": import_seconds, "starts_per_second": n / import_seconds,
            "asleep_seconds": asleep_seconds, "asleep_per_second": n / asleep_seconds,
            "after_import_seconds": asleep_seconds - import_seconds,
            "first_tasks_completed": completed,
            "worker_cpu_ms_per_case": per_case("worker_cpu") * 1000,
            "server_cpu_ms_per_case": per_case("server_cpu") * 1000,
            "schedule_to_start_ms_mean": (last.get("workflow_task_schedule_to_start_latency_sum", 0)
                                          - baseline.get("workflow_task_schedule_to_start_latency_sum", 0)) / completed,
            "task_execution_ms_mean": (last.get("workflow_task_execution_latency_sum", 0)
                                       - baseline.get("workflow_task_execution_latency_sum", 0)) / completed,
            "history_events_asleep": len(history.events),
            "history_bytes_asleep": sum(e.ByteSize() for e in history.events),
            "worker_rss_max": max(r["worker_rss"] for r in timeline.samples),
            "server_rss_max": max(r["server_rss"] for r in timeline.samples),
            "worker_rss_before": baseline["worker_rss"], "server_rss_before": baseline["server_rss"],
            "sqlite_file_bytes_per_case": per_case("sqlite_file_bytes", weighed),
            "sqlite_bytes_in_use_per_case": sum(by_table.values()) / n,
            "sqlite_tables_bytes_per_case": {name: size / n for name, size in by_table.items() if size / n >= 10},
            "slices": slices(timeline.samples, n, baseline),
            "timeline": timeline.samples[:: max(1, len(timeline.samples) // 400)],
        }
    finally:
        for worker, _ in workers:
            worker.stop()
        server.stop()
