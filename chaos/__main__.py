"""`make chaos` (python -m chaos): issue 13's fault table against real processes. Exit 1 if any scenario lost or
duplicated a message, or did not resume delivery within a minute of its last fault."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys

from chaos import report
from chaos.postgres import PostgresServer
from chaos.run import Run
from chaos.scenarios import full, resend, small


async def run_all(scenarios, cases: int, postgres: PostgresServer | None, progress=print) -> list:
    results = []
    for scenario in scenarios:
        progress(f"chaos: {scenario.name}: {scenario.what} ...")
        run = Run(scenario.name, scenario.cases or cases, workers=scenario.workers, ledger=scenario.ledger,
                  sink_delay=scenario.sink_delay, postgres=postgres, worker_settings=dict(scenario.worker_settings),
                  unconfirmed=scenario.unconfirmed)
        result = await run.execute(scenario.faults)
        result.notes.insert(0, scenario.what)
        progress("  " + report.line(result))
        results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--cases", type=int, default=300, help="overdue invoices per scenario (one message each)")
    parser.add_argument("--small", action="store_true", help="the small set that make test runs")
    parser.add_argument("--only", nargs="*", help="scenario names")
    args = parser.parse_args()
    scenarios = small() if args.small else full()
    if args.only:
        scenarios = [s for s in full() + resend() + small() if s.name in args.only]
        unknown = set(args.only) - {s.name for s in scenarios}
        if unknown:
            parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    postgres = PostgresServer().start() if any(s.ledger == "postgresql" for s in scenarios) else None
    try:
        results = asyncio.run(run_all(scenarios, args.cases, postgres, progress=lambda m: print(m, flush=True)))
    finally:
        if postgres:
            postgres.stop()
    print()
    print(report.table(results))
    sys.stdout.flush()
    # The Temporal core may abort at interpreter exit (sdk-python #300): leave with our own verdict.
    os._exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
