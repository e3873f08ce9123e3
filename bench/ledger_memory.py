"""Peak memory of reading a large ledger: `python -m bench.ledger_memory [--rows 200000] [--whole] [--fec]`.

Generates a ledger of `--rows` valid invoices in a temporary folder, then reads it in a fresh process and
prints, as JSON, the process's resident memory after the imports and at its peak (`resource.getrusage`), and
the time taken. By default the rows are consumed one by one, as `relance import` does; `--whole` keeps them all
in a list, as `read_ledger` does for previews. `--fec` writes the same invoices as a FEC (article A47 A-1 LPF:
three lines an invoice, tab-separated, with a customers file and a mapping for the emails) and reads that, to
compare with the CSV. Not a test: nothing here is timed against a bound.
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


FEC_COLUMNS = ("JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\t"
               "PieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\t"
               "Idevise\tEcheanceDate")


def write_fec(folder: Path, rows: int) -> tuple[Path, Path]:
    """The invoices of `write_ledger` as a sales journal (411 / 706 / 44571), with their customers and mapping."""
    path = folder / "732829320FEC20271231.txt"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(FEC_COLUMNS + "\r\n")
        for n in range(rows):
            issue = TODAY - dt.timedelta(days=n % 300)
            due = issue + dt.timedelta(days=45)
            customer, ht, ttc = f"CLI-{n % 5000:05d}", 1000 + n % 9000, 1200 + n % 9000
            head = f"VT\tVentes\tVT{n:07d}\t{issue:%Y%m%d}\t"
            tail = f"FA-{n:07d}\t{issue:%Y%m%d}\tFacture FA-{n:07d}\t"
            out.write(f"{head}41100000\tClients\t{customer}\tClient {n % 5000} SARL\t{tail}{ttc},00\t0,00\t\t\t"
                      f"{issue:%Y%m%d}\t\t\t{due:%Y%m%d}\r\n")
            out.write(f"{head}70600000\tPrestations\t\t\t{tail}0,00\t{ht},00\t\t\t{issue:%Y%m%d}\t\t\t\r\n")
            out.write(f"{head}44571000\tTVA collectée\t\t\t{tail}0,00\t{ttc - ht},00\t\t\t{issue:%Y%m%d}\t\t\t\r\n")
    customers = folder / "clients.csv"
    with customers.open("w", encoding="utf-8", newline="") as out:
        out.write("Code client;Email;Adresse\n")
        for c in range(min(rows, 5000)):
            out.write(f"CLI-{c:05d};compta{c}@client.example;{c % 90 + 1} rue de la Paix, 75002 Paris\n")
    mapping = folder / "fec.yaml"
    mapping.write_text("customers: clients.csv\n", encoding="utf-8")
    return path, mapping


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def read(path: Path, whole: bool, mapping_file: str | None = None) -> dict:
    """In this process: read the ledger and report memory; run it in a fresh process for a clean peak."""
    from relance.ledger import LedgerReader, read_ledger
    from relance.rules_cli import mapping_of

    mapping = mapping_of(mapping_file)
    baseline = _peak_mb()
    started = time.perf_counter()
    if whole:
        rows, errors = read_ledger(path, today=TODAY, mapping=mapping)
        count = len(rows)
    else:
        reader = LedgerReader(path, today=TODAY, mapping=mapping)
        count = sum(1 for _ in reader)
        errors = reader.errors
    return {"rows": count, "errors": len(errors), "mode": "whole" if whole else "streamed",
            "format": "fec" if mapping_file else "csv",
            "file_mb": round(path.stat().st_size / 2**20, 1), "seconds": round(time.perf_counter() - started, 1),
            "rss_after_imports_mb": round(baseline, 1), "peak_rss_mb": round(_peak_mb(), 1),
            "growth_mb": round(_peak_mb() - baseline, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--whole", action="store_true", help="keep every row in a list (read_ledger)")
    parser.add_argument("--fec", action="store_true", help="the same invoices as a FEC")
    parser.add_argument("--read", metavar="FILE", help=argparse.SUPPRESS)  # the child process's part
    parser.add_argument("--mapping", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.read:
        print(json.dumps(read(Path(args.read), args.whole, args.mapping)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        if args.fec:
            ledger, mapping = write_fec(Path(folder), args.rows)
            extra = ["--mapping", str(mapping)]
        else:
            ledger, extra = write_ledger(Path(folder) / "ledger.csv", args.rows), []
        child = [sys.executable, "-m", "bench.ledger_memory", "--read", str(ledger), *extra] + (
            ["--whole"] if args.whole else [])
        return subprocess.run(child, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
