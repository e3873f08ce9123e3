"""Page latency of the ops console over a large open book (issue 17's benchmark; not a timed test).

    python -m bench.console [--cases 50000] [--debtors 5000] [--repeat 5] [--read-model var/bench-read.sqlite3]

The read model is filled with the statuses of `--cases` invoices played in memory by the decision core
(domain.playback: the same statuses a case answers), due dates spread from 150 days late to 40 days ahead, one in
five paid in part this month; then the worklist, the customer list (whole, searched, one customer) and the
dashboard are asked `--repeat` times each through the ASGI app with a signed-in user (rendering included, no
network): wall time, and the process's CPU time (what the page costs when the machine is not shared). Writes bench/results-console.json. Feeding the read model from Temporal is another cost: one query
per case, measured separately by `--rebuild` when a server is at hand (not here).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from console.app import Console, Settings, create_app
from domain import transitions
from domain.case import Payment
from domain.decisions import status_of
from domain.invoice import Debtor, Invoice
from domain.playback import Playback
from domain.rule_file import load_policy_file
from relance.cases import PARIS
from relance.config import ROOT

PASSWORD = "un mot de passe de banc d'essai"
PAGES = ["/", "/?kind=call", "/customers", "/customers?q=Client 42", "/customers/D42", "/dashboard"]


def book(count: int, debtors: int, today: dt.date) -> list[Invoice]:
    out = []
    for n in range(count):
        d = n % debtors
        due = today + dt.timedelta(days=40 - n % 190)
        out.append(Invoice(
            number=f"P-{n}", issue_date=due - dt.timedelta(days=30), due_date=due,
            amount_incl_tax=Decimal(("480.00", "3600.00", "7200.00", "14400.00")[n % 4]),
            amount_excl_tax=Decimal(("400.00", "3000.00", "6000.00", "12000.00")[n % 4]),
            debtor=Debtor(debtor_id=f"D{d}", name=f"Client {d}", email=f"c{d}@client.example", siren=f"{d:09d}",
                          insured=d % 7 == 0, credit_limit=Decimal("20000.00") if d % 3 == 0 else None)))
    return out


def statuses(invoices: list[Invoice], now: dt.datetime):
    policy = load_policy_file(ROOT / "rules" / "default.yaml")
    for n, invoice in enumerate(invoices):
        opened = dt.datetime.combine(invoice.issue_date, dt.time(8), tzinfo=PARIS)
        case = Playback(invoice, policy, opened)
        case.advance(now)
        if n % 5 == 0 and case.s.stage != "closed":
            payment = Payment(amount=invoice.amount_incl_tax / 4)
            case.message(now, lambda s, p, at: (None, transitions.record_payment(s, p, payment, at)[0]))
        yield status_of(case.s, case.policy, now)


async def measure(console: Console, repeat: int) -> dict:
    app = create_app(console, refresher=False)
    timings = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        assert (await client.post("/login", data={"login": "bench", "password": PASSWORD})).status_code == 303
        for path in PAGES:
            samples, cpu = [], []
            for _ in range(repeat):
                started, used = time.perf_counter(), time.process_time()
                answer = await client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - used) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            timings[path] = {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1),
                             "cpu_median_ms": round(statistics.median(cpu), 1), "bytes": len(answer.content)}
            print(f"{path:<28} median {timings[path]['median_ms']:>8.1f} ms   max {timings[path]['max_ms']:>8.1f} ms"
                  f"   cpu {timings[path]['cpu_median_ms']:>7.1f} ms   {timings[path]['bytes'] // 1024} KB", flush=True)
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--debtors", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--read-model", type=Path, help="keep the filled read model there, or reuse it if it exists")
    args = parser.parse_args()
    today = dt.date(2027, 3, 10)
    now = dt.datetime.combine(today, dt.time(12), tzinfo=PARIS)
    with tempfile.TemporaryDirectory(prefix="relance-console-bench-") as scratch:
        folder = Path(scratch)

        async def no_temporal():
            raise AssertionError("the bench reads the read model only")

        console = Console(Settings(store_path=folder / "c.sqlite3", read_model_path=folder / "r.sqlite3",
                                   refresh_seconds=0, rules_dir=ROOT / "rules"), client=no_temporal, today=lambda: today)
        console.store.add_user("bench", "Bench", "ops", PASSWORD, now)
        put_s = None
        if args.read_model and args.read_model.exists():  # the book of an earlier run: only the pages are timed
            shutil.copyfile(args.read_model, console.read_model.path)
            console = Console(console.settings, client=no_temporal, today=lambda: today)
        else:
            started = time.perf_counter()
            played = list(statuses(book(args.cases, args.debtors, today), now))
            play_s = time.perf_counter() - started
            started = time.perf_counter()
            for status in played:
                console.read_model.put(status, now)
            put_s = time.perf_counter() - started
            print(f"{args.cases} cases played in {play_s:.1f} s, written to the read model in {put_s:.1f} s"
                  f" ({args.cases / put_s:.0f}/s)", flush=True)
            if args.read_model:
                console.read_model.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the whole book in the file
                shutil.copyfile(console.read_model.path, args.read_model)
        cases = console.read_model.count()
        tasks = console.read_model.rows("SELECT count(*) FROM tasks")[0][0]
        print(f"{cases} cases, {tasks} tasks, read model {console.read_model.path.stat().st_size // 2**20} MB", flush=True)
        timings = await measure(console, args.repeat)
    result = {"cases": cases, "debtors": args.debtors, "open_tasks": tasks, "repeat": args.repeat,
              "read_model_writes_per_second": round(cases / put_s) if put_s else None, "pages": timings,
              "machine": f"2 cores shared with other jobs, load average {os.getloadavg()[0]:.0f} at the end"}
    (ROOT / "bench" / "results-console.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
