"""`make bench` at toy sizes: every measurement is produced and is a positive number. Nothing is timed here."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from relance.config import ROOT

SIZES = ["--invoices", "20", "--lifecycles", "20", "--repeats", "1", "--bounded-cache", "5", "--pause", "0.2",
         "--decision-budget", "0.01", "--quiet-wait", "0", "--no-retry-noisy", "--asleep-sizes", "20,30",
         "--worker-processes", "1,2"]
ROWS = [
    "ingest, dev server in memory", "ingest, dev server SQLite (WAL)", "ingest to asleep, SQLite (WAL)",
    "  worker CPU per case opened", "  server CPU per case opened", "  history of a sleeping case",
    "lifecycles, time-skipping server", "  worker CPU per lifecycle", "  server CPU per lifecycle",
    "  printing CPU per lifecycle", "  all CPU per lifecycle",
    "  vs bare with upserts and email", "  bare with upserts and email vs bare",
    *(f"sleeping, {cache}: {what}" for cache in ("default cache", "cache 5") for what in ("worker RSS", "server RSS", "SQLite")),
    "all asleep 20, 1 worker", "all asleep 20, 2 workers", "all asleep 30, 1 worker", "  accepted starts 20, 1 worker",
    "  CPU per case opened, worker+server", "  SQLite per case opened", "flat: relance rate 30 / 20",
]
OUTCOMES = ["paid_preventive", "paid_amicable", "paid_firm", "paid_last", "paid_notice", "dispute", "plan", "insurer",
            "injonction", "small_claims"]
DECISIONS = ["choose_escalation", "sending_moment", "step_day", "penalty_lines"]


@pytest.mark.timeout(300)
def test_bench_at_toy_sizes_writes_every_measurement(tmp_path: Path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench", *SIZES, "--out", str(out)], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ratio = relance / bare" in done.stdout and "targets:" in done.stdout

    results = json.loads(out.read_text())
    rows = {row["name"]: row for row in results["rows"]}
    assert set(ROWS + [f"history: {o}" for o in OUTCOMES]) <= rows.keys()
    printing = rows.pop("  printing CPU per lifecycle")  # the letters relance prints, in its printing process
    assert printing["relance"]["min"] > 0 and printing["bare"]["max"] == 0 and printing["ratio"] is None
    for name, row in rows.items():
        for side in ("relance", "bare", "ratio"):
            assert row[side]["median"] > 0 and row[side]["min"] > 0, (name, side, row[side])
        if name.startswith(("ingest, dev", "lifecycles", "sleeping", "history", "all asleep", "flat")):
            assert isinstance(row["passed"], bool) and row["target"], name

    for outcome in OUTCOMES:
        history = results["history"][outcome]
        assert history["relance_bytes"]["median"] > 0 and history["bare_bytes"]["median"] > 0
        assert history["bare_ops"] and history["floor_events"] > 0
    # The third lifecycle run, the full floor, adds exactly relance's upserts and emails: the same events as relance.
    (full_floor,) = results["runs"]["lifecycle_full_floor"]
    (relance,) = [run for run in results["runs"]["lifecycle"] if run["impl"] == "relance"]
    assert {c: v["events"] for c, v in full_floor["classes"].items()} == {c: v["events"] for c, v in relance["classes"].items()}
    assert all("e" in h["full_floor_ops"] and "e" not in h["bare_ops"] for h in results["history"].values())
    # The debtor scripts still do what they claim: every message accepted, every case closed as scripted.
    for run in results["runs"]["lifecycle"]:
        assert run["refused"] == 0 and run["errors"] == 0, run
    assert all(reasons == {"indemnified": 2} if outcome == "insurer" else reasons == {"paid": 2}
               for outcome, reasons in results["lifecycle_closed_reasons"].items()), results["lifecycle_closed_reasons"]
    for name in DECISIONS:
        assert results["decision"][name]["us_median"] > 0
    assert results["meta"]["invoices"] == 20 and results["meta"]["commit"]
    # All asleep: every case's first task counted, every tenth of the book timed, relance and bare side by side.
    asleep = results["runs"]["asleep"]
    assert sorted((r["impl"], r["n"], r["workers"]) for r in asleep) == sorted(
        (impl, n, w) for impl in ("relance", "bare") for n, w in ((20, 1), (20, 2), (30, 1)))
    for run in asleep:
        assert run["first_tasks_completed"] >= run["n"] and len(run["slices"]) == 10, run
        assert run["history_events_asleep"] == (7 if run["impl"] == "relance" else 6)
        assert run["sqlite_tables_bytes_per_case"]["executions_visibility"] > 0
