"""The fast preview against the workflow preview, side by side in one run: invoices per second of each.

    python -m bench.preview [--invoices 10000] [--large 50000] [--workflow-invoices 200]

A generated ledger (the debtor behaviours of bench/scenarios.py, due dates over two months) is played by
`rules simulate --fast` (the decision core in memory) and, on a slice of it, by the real workflows on the
time-skipping server; the ratio of their rates per invoice is the figure that counts.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from bench.procs import ROOT

BEHAVIOURS = ["", "-4 pay full", "+8 pay full", "+35 pay 50%; +50 pay rest", "+10 dispute livraison review +20; +25 resolve",
              "+33 plan 3 every 30; +34 pay instalment; +64 pay instalment", "+5 dispute prix; +40 resolve credit 100.00",
              "+80 court order_issued; +90 court served", ""]
HEADER = ("number;issue_date;due_date;debtor_id;debtor_name;debtor_email;debtor_address;amount_incl_tax;insured;"
          "amount_excl_tax;script\n")


def write_ledger(path: Path, count: int, first_due: dt.date) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(count):
            insured = n % 7 == 0
            amount = ("480,00", "3 600,00", "7 200,00", "14 400,00")[n % 4]
            excl = ("400,00", "3 000,00", "6 000,00", "12 000,00")[n % 4] if insured else ""
            due = first_due + dt.timedelta(days=n % 60)
            out.write(f"B-{n};{due - dt.timedelta(days=30):%d/%m/%Y};{due:%d/%m/%Y};D{n % 5000};Client {n % 5000};"
                      f"c{n % 5000}@client.example;{n % 90 + 1} rue des Lilas, 75011 Paris;{amount};{'oui' if insured else 'non'};{excl};"
                      f"\"{BEHAVIOURS[n % len(BEHAVIOURS)]}\"\n")
    return path


async def measure(invoices: int, large: int, workflow_invoices: int) -> dict:
    from relance import rules_cli
    from relance.config import from_env

    start = dt.datetime.now(dt.timezone.utc)
    first_due = (start + dt.timedelta(days=15)).date()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="relance-bench-preview-") as scratch:
        folder = Path(scratch)
        config = dataclasses.replace(from_env(), var_dir=folder)
        for label, count in (("fast", invoices), ("fast_large", large)):
            if not count:
                continue
            ledger = write_ledger(folder / f"{label}.csv", count, first_due)
            began = time.perf_counter()
            result = await rules_cli.run_simulation(ledger, ROOT / "rules", config, None, fast=True, start=start)
            seconds = time.perf_counter() - began
            results[label] = {"invoices": count, "seconds": round(seconds, 2), "per_second": round(count / seconds, 1),
                              "actions": sum(len(s.audit) for s in result.statuses)}
        ledger = write_ledger(folder / "workflow.csv", workflow_invoices, first_due)
        began = time.perf_counter()
        await rules_cli.run_simulation(ledger, ROOT / "rules", config, None)
        seconds = time.perf_counter() - began
        results["workflow"] = {"invoices": workflow_invoices, "seconds": round(seconds, 2),
                               "per_second": round(workflow_invoices / seconds, 2)}
    results["ratio_fast_over_workflow"] = round(results["fast"]["per_second"] / results["workflow"]["per_second"], 1)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.preview", description=__doc__.splitlines()[0])
    p.add_argument("--invoices", type=int, default=10_000)
    p.add_argument("--large", type=int, default=50_000, help="a second, larger fast run (0 to skip)")
    p.add_argument("--workflow-invoices", type=int, default=200)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results-preview.json")
    args = p.parse_args(argv)
    results = asyncio.run(measure(args.invoices, args.large, args.workflow_invoices))
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for label in ("fast", "fast_large", "workflow"):
        if label in results:
            r = results[label]
            print(f"{label:<11} {r['invoices']:>7} invoices  {r['seconds']:>8.2f} s  {r['per_second']:>9.1f} invoices/s")
    print(f"fast / workflow, per invoice: {results['ratio_fast_over_workflow']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
