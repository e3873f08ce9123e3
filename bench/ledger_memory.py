"""Peak memory of reading a large CSV ledger: `python -m bench.ledger_memory [--rows 200000] [--whole]`.

Generates a ledger of `--rows` valid invoices in a temporary folder, then reads it in a fresh process and
prints, as JSON, the process's resident memory after the imports and at its peak (`resource.getrusage`), and
the time taken. By default the rows are consumed one by one, as `relance import` does; `--whole` keeps them all
in a list, as `read_ledger` does for previews. Not a test: nothing here is timed against a bound.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TODAY = dt.date(2027, 3, 15)  # fixed, so the generated dates always fall inside the ledger's window
HEADER = ("number;debtor_id;debtor_name;debtor_email;debtor_address;issue_date;due_date;amount_excl_tax;"
          "amount_incl_tax;policy;purchase_order")


def write_ledger(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for n in range(rows):
            issue = TODAY - dt.timedelta(days=n % 300)
            due = issue + dt.timedelta(days=45)
            out.write(f"FA-{n:07d};CLI-{n % 5000:05d};Client {n % 5000} SARL;compta{n % 5000}@client.example;"
                      f"{n % 90 + 1} rue de la Paix, 75002 Paris;{issue:%d/%m/%Y};{due:%d/%m/%Y};"
                      f"{1000 + n % 9000},00;{1200 + n % 9000},00;default;BC-{n:07d}\n")
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def read(path: Path, whole: bool) -> dict:
    """In this process: read the ledger and report memory; run it in a fresh process for a clean peak."""
    from relance.ledger import LedgerReader, read_ledger

    baseline = _peak_mb()
    started = time.perf_counter()
    if whole:
        rows, errors = read_ledger(path, today=TODAY)
        count = len(rows)
    else:
        reader = LedgerReader(path, today=TODAY)
        count = sum(1 for _ in reader)
        errors = reader.errors
    return {"rows": count, "errors": len(errors), "mode": "whole" if whole else "streamed",
            "file_mb": round(path.stat().st_size / 2**20, 1), "seconds": round(time.perf_counter() - started, 1),
            "rss_after_imports_mb": round(baseline, 1), "peak_rss_mb": round(_peak_mb(), 1),
            "growth_mb": round(_peak_mb() - baseline, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--whole", action="store_true", help="keep every row in a list (read_ledger)")
    parser.add_argument("--read", metavar="CSV", help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args(argv)
    if args.read:
        print(json.dumps(read(Path(args.read), args.whole)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        ledger = write_ledger(Path(folder) / "ledger.csv", args.rows)
        child = [sys.executable, "-m", "bench.ledger_memory", "--read", str(ledger)] + (["--whole"] if args.whole else [])
        return subprocess.run(child, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
