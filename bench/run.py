"""`make bench`: what one case costs in relance, against a bare workflow doing the same Temporal work.

Every run is a child process (`bench.child`) with its own servers and worker process, started from here, so
the whole benchmark is one process tree and one command. Relance and bare runs alternate (their order flips
each repeat), figures are medians over the repeats with min-max, and the ratios relance/bare are the figures
that count: they carry over to another machine, the absolute numbers do not.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.bare import plain_floor
from bench.procs import ROOT
from bench.scenarios import OUTCOMES

TARGETS = {  # ratio relance/bare: ">=" for throughput, "<=" for costs
    "ingest": (">=", 0.9), "lifecycle": (">=", 0.8), "history": ("<=", 1.2), "sleeping": ("<=", 1.2),
    "asleep": (">=", 0.9),
}
FLAT = 0.9  # the rate to all-asleep of the largest book, at least this share of the smallest's (issue 18)
KB = 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--invoices", type=int, default=2000, help="cases started per ingest and sleeping run (2000)")
    p.add_argument("--lifecycles", type=int, default=1000, help="cases played to the end per lifecycle run (1000)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each measurement; medians are reported (3)")
    p.add_argument("--sleeping-repeats", type=int, default=None,
                   help="how many of the repeats also weigh the sleeping cases (all of them): waiting for 2 x N"
                        " cases to fall asleep is the slowest part, and the server's memory is the noisiest figure")
    p.add_argument("--bounded-cache", type=int, default=100,
                   help="RELANCE_MAX_CACHED_WORKFLOWS of the bounded-cache sleeping runs (100)")
    p.add_argument("--only", default="asleep,ingest,sleeping,lifecycle,decision",
                   help="comma-separated subset of asleep,ingest,sleeping,lifecycle,decision (history comes with"
                        " lifecycle)")
    p.add_argument("--asleep-sizes", default="2000,20000",
                   help="books imported until every case sleeps after its first decision (2000,20000)")
    p.add_argument("--big", action="store_true", help="add a 50,000-invoice book to --asleep-sizes")
    p.add_argument("--asleep-floor", action="store_true",
                   help="all asleep: the bare case also publishes relance's search attributes (at its start and in"
                        " its first task), so the ratio is relance's own cost apart from visibility")
    p.add_argument("--one-at-a-time", dest="side_by_side", action="store_false",
                   help="run the all-asleep runs of relance and bare one after the other (default: both at once,"
                        " each on its own server and workers, so that they share the same machine and the same"
                        " noise: the ratio is the figure, each rate is that of half the machine)")
    p.add_argument("--worker-processes", default="1,2",
                   help="worker processes of the all-asleep runs at the smallest size (1,2); larger sizes run one")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json", help="results file")
    p.add_argument("--no-full-floor", action="store_true",
                   help="skip the third lifecycle run, the full floor: bare with relance's search attribute upserts"
                        " and one SMTP transaction per email relance sends, which sizes what any engine must do"
                        " beside relance's own cost; it is informative, not a target")
    p.add_argument("--stub-email", action="store_true",
                   help="diagnostic: relance's send_email answers at once (no rendering, MIME, sent ledger, SMTP),"
                        " to size its email work apart from the rest")
    p.add_argument("--no-bytecode-cache", action="store_true",
                   help="run workers as PYTHONDONTWRITEBYTECODE=1 leaves them: the sandbox recompiles workflow "
                        "modules for every new workflow (default: a private bytecode cache, as an installed app has)")
    p.add_argument("--pause", type=float, default=1.0,
                   help="seconds to let processes settle before the memory readings (twice that after)")
    p.add_argument("--decision-budget", type=float, default=0.2, help="seconds per timeit repeat (0.2)")
    p.add_argument("--noise", type=float, default=0.15,
                   help="share of the CPUs other processes may use during a run before it is run again (0.15)")
    p.add_argument("--no-retry-noisy", dest="retry_noisy", action="store_false",
                   help="keep a run even if other processes loaded the machine meanwhile")
    p.add_argument("--quiet-wait", type=float, default=120,
                   help="seconds to wait at most for a quiet machine before each run (120)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed to one run before it is stopped")
    args = p.parse_args(argv)
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = args.only - {"asleep", "ingest", "sleeping", "lifecycle", "decision", "history"}
    if unknown:
        p.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    if "history" in args.only:
        args.only.add("lifecycle")
    args.asleep_sizes = sorted({int(n) for n in args.asleep_sizes.split(",") if n.strip()} | ({50000} if args.big else set()))
    args.worker_processes = sorted({int(w) for w in args.worker_processes.split(",") if w.strip()})
    return args


class RunFailed(Exception):
    pass


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.began = time.monotonic()
        self.work = Path(tempfile.mkdtemp(prefix="relance-bench-"))
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if args.no_bytecode_cache:
            self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            self.env["PYTHONPYCACHEPREFIX"] = str(self.work / "pycache")
        self.env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
        if args.stub_email:
            self.env["RELANCE_BENCH_STUB_EMAIL"] = "1"
        self.runs: list[dict] = []
        self.count = 0
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.began:6.1f}s] {text}", flush=True)

    def child(self, task: str, params: dict, label: str, retry_noisy: bool = True) -> dict:
        """Run one measurement; once more if it failed or other processes took much of the machine meanwhile
        (unless `retry_noisy` is False: a long run is kept, with the share other processes took, and the
        relance/bare pair is the figure, not either's absolute time)."""
        try:
            result = self._child(task, params, label)
        except RunFailed as failure:
            self.say(f"{failure}; running it again")
            result = self._child(task, params, label)
            result["retried"] = True
        if result["foreign_cpu_share"] > self.args.noise and self.args.retry_noisy and retry_noisy:
            self.say(f"{label}: other processes used {result['foreign_cpu_share']:.0%} of the CPUs; running it again")
            again = self._child(task, params, label)
            again["retried"] = True
            result = min(result, again, key=lambda r: r["foreign_cpu_share"])
        return result

    def _child(self, task: str, params: dict, label: str) -> dict:
        with self.lock:  # two runs side by side start from two threads
            self.count += 1
            count = self.count
        params_file, result_file = self.work / f"{count}-params.json", self.work / f"{count}-result.json"
        params_file.write_text(json.dumps(params))
        waited = wait_for_quiet(self.args.noise, self.args.quiet_wait)
        busy_before, ours_before, began = busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "bench.child", task, str(params_file), str(result_file)],
                                   cwd=str(ROOT), env=self.env)
        try:
            process.wait(timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            interrupt(process)
            raise RunFailed(f"bench: {label} took more than {self.args.timeout:.0f}s; stopped") from None
        except KeyboardInterrupt:
            interrupt(process, signalled=True)  # Ctrl-C reached the child too: it stops its servers and worker
            raise
        wall = time.monotonic() - began
        busy, ours = busy_cpu_seconds() - busy_before, children_cpu_seconds() - ours_before
        if process.returncode != 0 or not result_file.exists():
            raise RunFailed(f"bench: {label} failed (exit status {process.returncode}); its error is above")
        result = json.loads(result_file.read_text())
        foreign = busy - max(ours, result.get("tree_cpu_seconds", 0.0))
        result.update(label=label, wall_seconds=wall, waited_for_quiet_seconds=waited,
                      foreign_cpu_share=max(0.0, foreign) / (wall * (os.cpu_count() or 1)))
        return result

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def interrupt(process: subprocess.Popen, signalled: bool = False) -> None:
    """SIGINT a run: it stops its own servers and worker on the way out; killed only if it will not end."""
    if process.poll() is None and not signalled:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot, all processes."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.system + getattr(t, "nice", 0) + getattr(t, "irq", 0) + getattr(t, "softirq", 0)


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children and their reaped descendants: the benchmark's runs."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(threshold: float, patience: float) -> float:
    """Wait (at most `patience` seconds) until other processes use under `threshold` of the CPUs for a second."""
    import psutil

    began = time.monotonic()
    while time.monotonic() - began < patience:
        if psutil.cpu_percent(interval=1.0) / 100 < threshold:
            break
    return time.monotonic() - began


def noise(out: dict) -> str:
    share = out.get("foreign_cpu_share", 0.0)
    return f" [other processes: {share:.0%} CPU]" if share >= 0.05 else ""


def order(repeat: int) -> list[str]:
    return ["relance", "bare"] if repeat % 2 == 0 else ["bare", "relance"]


def measure(args: argparse.Namespace) -> dict:
    bench = Bench(args)
    runs = {"ingest_memory": [], "sqlite_default": [], "sqlite_bounded": [], "lifecycle": [], "lifecycle_full_floor": [],
            "asleep": []}
    decision = None
    try:
        if "asleep" in args.only:
            asleep_runs(bench, args, runs["asleep"])
        bench.say(f"relance bench: {args.invoices} invoices (ingest, sleeping), {args.lifecycles} lifecycles,"
                  f" {args.repeats} repeat(s); scratch space {bench.work}")
        n = args.invoices
        for r in range(args.repeats):
            tag = f"{r + 1}/{args.repeats}"
            if "ingest" in args.only:
                for impl in order(r):
                    out = bench.child("ingest", {"impl": impl, "store": "memory", "n": n, "pause": args.pause},
                                      f"ingest memory {impl} {tag}")
                    runs["ingest_memory"].append(out)
                    bench.say(f"ingest, in memory, {impl:7} {tag}: {out['starts_per_second']:7.1f} starts/s"
                              f" ({out['import_seconds']:.1f}s for {n})" + noise(out))
            sleeping = "sleeping" in args.only and r < (args.sleeping_repeats or args.repeats)
            if "ingest" in args.only or sleeping:
                for impl in order(r):
                    out = bench.child("ingest", {"impl": impl, "store": "sqlite", "n": n, "settle": sleeping,
                                              "pause": args.pause},
                                      f"ingest sqlite {impl} {tag}")
                    runs["sqlite_default"].append(out)
                    bench.say(f"ingest, SQLite WAL, {impl:7} {tag}: {out['starts_per_second']:7.1f} starts/s"
                              + (f"; asleep after {out['asleep_seconds']:.1f}s: worker"
                                 f" {out['worker_rss_per_1000'] / 1000 / KB:.0f} KB/case,"
                                 f" SQLite {out['sqlite_bytes_per_1000'] / 1000 / KB:.1f} KB/case" if sleeping else "")
                              + noise(out))
            if sleeping:
                for impl in order(r):
                    out = bench.child("ingest", {"impl": impl, "store": "sqlite", "n": n, "settle": True,
                                                 "max_cached": args.bounded_cache, "pause": args.pause},
                                      f"sleeping bounded cache {impl} {tag}")
                    runs["sqlite_bounded"].append(out)
                    bench.say(f"sleeping, cache {args.bounded_cache}, {impl:7} {tag}: worker"
                              f" {out['worker_rss_per_1000'] / 1000 / KB:.0f} KB/case,"
                              f" server {out['server_rss_per_1000'] / 1000 / KB:.0f} KB/case,"
                              f" SQLite {out['sqlite_bytes_per_1000'] / 1000 / KB:.1f} KB/case" + noise(out))
            if "lifecycle" in args.only:
                rel = bench.child("lifecycle", {"impl": "relance", "n": args.lifecycles}, f"lifecycle relance {tag}")
                bench.say(f"lifecycles, relance {tag}: {rel['lifecycles_per_second']:7.1f} /s ({rel['seconds']:.1f}s,"
                          f" {rel['messages']} messages, {rel['simulated_days']} simulated days, {rel['refused']} refused)"
                          + noise(rel))
                plans = {klass: c["ops"] for klass, c in rel["classes"].items()}
                bare = bench.child("lifecycle", {"impl": "bare", "n": args.lifecycles, "today": rel["today"],
                                                 "plans": {k: plain_floor(ops) for k, ops in plans.items()}},
                                   f"lifecycle bare {tag}")
                bench.say(f"lifecycles, bare    {tag}: {bare['lifecycles_per_second']:7.1f} /s ({bare['seconds']:.1f}s)"
                          + noise(bare))
                runs["lifecycle"] += [rel, bare]
                if not args.no_full_floor:
                    full = bench.child("lifecycle", {"impl": "bare", "n": args.lifecycles, "today": rel["today"],
                                                     "plans": plans}, f"lifecycle full floor {tag}")
                    bench.say(f"lifecycles, bare with upserts and email {tag}: {full['lifecycles_per_second']:7.1f} /s"
                              f" ({full['seconds']:.1f}s)" + noise(full))
                    runs["lifecycle_full_floor"].append(full)
        if "decision" in args.only:
            decision = bench.child("decision", {"repeats": max(3, args.repeats), "budget": args.decision_budget}, "decision")
            decision = {name: d for name, d in decision.items() if isinstance(d, dict)}
            bench.say("decision cost: " + ", ".join(f"{k} {v['us_median']:.1f} µs" for k, v in decision.items()))
    finally:
        bench.close()
    return {"runs": runs, "decision": decision, "seconds": time.monotonic() - bench.began}


def asleep_runs(bench: Bench, args: argparse.Namespace, out: list[dict]) -> None:
    """Import until every case sleeps after its first decision, relance and bare side by side at each size;
    at the smallest size once per number of worker processes."""
    smallest = args.asleep_sizes[0]
    plan = [(n, w) for n in args.asleep_sizes for w in (args.worker_processes if n == smallest else [1])]
    def one(impl: str, n: int, workers: int) -> dict:
        params = {"impl": impl, "n": n, "workers": workers, "pause": args.pause, "side_by_side": args.side_by_side,
                  "floor": args.asleep_floor}
        # side by side, the other run is the "other processes": the pair, not the machine's quiet, is the control
        return bench.child("asleep", params, f"asleep {impl} {n} x{workers}",
                           retry_noisy=n <= 5000 and not args.side_by_side)

    for i, (n, workers) in enumerate(plan):
        if args.side_by_side:
            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(lambda impl: one(impl, n, workers), order(i)))
        else:
            results = [one(impl, n, workers) for impl in order(i)]
        for result in results:
            impl = result["impl"]
            out.append(result)
            partial = args.out.with_suffix(".partial.json")  # a long run's figures survive an interruption
            partial.write_text(json.dumps(out, indent=1, default=str) + "\n", encoding="utf-8")
            bench.say(f"all asleep, {n} invoices, {workers} worker(s), {impl:7}: {result['asleep_seconds']:.1f}s"
                      f" ({result['asleep_per_second']:.1f} cases/s; import returned after"
                      f" {result['import_seconds']:.1f}s, {result['starts_per_second']:.0f} starts/s); per tenth: "
                      + " ".join(f"{s['cases_per_second']:.0f}" for s in result["slices"]) + noise(result))


def asleep_rows(args: argparse.Namespace, runs: list[dict]) -> list[dict]:
    """Per size and worker count: time to all asleep (the target), the accepted starts beside it, and the
    rate's flatness: the largest book's rate against the smallest's, for each implementation."""
    rows = []
    for n in args.asleep_sizes:
        for workers in sorted({r["workers"] for r in runs if r["n"] == n}):
            these = [r for r in runs if r["n"] == n and r["workers"] == workers]
            tag = f"{n}, {workers} worker{'s' if workers > 1 else ''}"
            for row in (compare(f"all asleep {tag}", "cases/s", these, lambda r: r["asleep_per_second"], "asleep",
                                note="import start -> every case asleep after its first decision"),
                        compare(f"  accepted starts {tag}", "starts/s", these, lambda r: r["starts_per_second"], None,
                                note="the old ingest figure: the import returns"),
                        compare("  CPU per case opened, worker+server", "ms", these,
                                lambda r: r["worker_cpu_ms_per_case"] + r["server_cpu_ms_per_case"], None,
                                note="what the rate is on a machine of one's own: it does not depend on others"),
                        compare("  worker CPU per first decision", "ms", these,
                                lambda r: r["worker_cpu_ms_per_case"], None),
                        compare("  server CPU per case opened", "ms", these, lambda r: r["server_cpu_ms_per_case"],
                                None),
                        compare("  SQLite per case opened", "KB", these, lambda r: r["sqlite_bytes_in_use_per_case"],
                                None, 1 / KB)):
                if row:
                    rows.append(row)
    single = [r for r in runs if r["workers"] == 1]
    sizes = sorted({r["n"] for r in single})
    if len(sizes) > 1:
        for impl in ("relance", "bare"):
            small = [r for r in single if r["impl"] == impl and r["n"] == sizes[0]]
            large = [r for r in single if r["impl"] == impl and r["n"] == sizes[-1]]
            if small and large:
                ratio = large[0]["asleep_per_second"] / small[0]["asleep_per_second"]
                rows.append({"name": f"flat: {impl} rate {sizes[-1]} / {sizes[0]}", "unit": "ratio",
                             "relance": stats([large[0]["asleep_per_second"]]),
                             "bare": stats([small[0]["asleep_per_second"]]), "ratio": stats([ratio]),
                             "target": f">= {FLAT}", "passed": ratio >= FLAT,
                             "note": f"left: cases/s at {sizes[-1]}, right: at {sizes[0]} (both {impl})"})
    return rows


def slices_table(runs: list[dict]) -> str:
    lines = ["", "per tenth of the book: cases/s, and CPU ms per case opened in that tenth (worker+server):"]
    for r in sorted(runs, key=lambda r: (r["n"], r["workers"], r["impl"])):
        lines.append(f"  {r['impl']:7} {r['n']:>6} x{r['workers']}: " + "  ".join(
            f"{s['cases_per_second']:.0f} ({s['worker_cpu_ms_per_case']:.0f}+{s['server_cpu_ms_per_case']:.0f})"
            for s in r["slices"]))
        lines.append(f"  {'':7} {'':>6}     memory: worker {r['worker_rss_max'] / 2**20:.0f} MB max,"
                     f" server {r['server_rss_max'] / 2**20:.0f} MB max; at each tenth, server MB "
                     + " ".join(f"{s['server_rss'] / 2**20:.0f}" for s in r["slices"]))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- figures


def stats(values: list[float]) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def compare(name: str, unit: str, runs: list[dict], key, kind: str | None, scale: float = 1.0,
            note: str = "") -> dict | None:
    """One row: relance and bare over the repeats, and their ratio paired repeat by repeat."""
    relance = [key(r) * scale for r in runs if r["impl"] == "relance"]
    bare = [key(r) * scale for r in runs if r["impl"] == "bare"]
    if not relance or not bare:
        return None
    ratios = [a / b for a, b in zip(relance, bare) if b]
    row = {"name": name, "unit": unit, "relance": stats(relance), "bare": stats(bare), "ratio": stats(ratios),
           "note": note}
    if kind:
        op, target = TARGETS[kind]
        value = row["ratio"]["median"]
        row.update(target=f"{op} {target}", passed=value >= target if op == ">=" else value <= target)
    return row


def figures(args: argparse.Namespace, measured: dict) -> dict:
    runs, rows = measured["runs"], []
    n = args.invoices

    def add(row):
        if row:
            rows.append(row)

    for row in asleep_rows(args, runs["asleep"]):
        add(row)
    add(compare("ingest, dev server in memory", "starts/s", runs["ingest_memory"], lambda r: r["starts_per_second"],
                "ingest"))
    add(compare("ingest, dev server SQLite (WAL)", "starts/s", runs["sqlite_default"],
                lambda r: r["starts_per_second"], "ingest"))
    settled = [r for r in runs["sqlite_default"] if "asleep_seconds" in r]
    if settled:
        add(compare("ingest to asleep, SQLite (WAL)", "cases/s", settled,
                    lambda r: r["n"] / r["asleep_seconds"], None, note="first activity done, asleep on first timer"))
        add(compare("  worker CPU per case opened", "ms", settled, lambda r: r["worker_cpu_ms_per_case"], None))
        add(compare("  server CPU per case opened", "ms", settled, lambda r: r["server_cpu_ms_per_case"], None))
        add(compare("  history of a sleeping case", "bytes", settled, lambda r: r["history_bytes_asleep"], None,
                    note="events: relance {}, bare {}".format(*(
                        next(r["history_events_asleep"] for r in settled if r["impl"] == i) for i in ("relance", "bare")))))
    lifecycles = runs["lifecycle"]
    add(compare("lifecycles, time-skipping server", "lifecycles/s", lifecycles, lambda r: r["lifecycles_per_second"],
                "lifecycle"))
    add(compare("  worker CPU per lifecycle", "ms", lifecycles, lambda r: r["worker_cpu_seconds"] / r["n"], None, 1000))
    add(compare("  server CPU per lifecycle", "ms", lifecycles, lambda r: (r["server_cpu_seconds"] or 0) / r["n"],
                None, 1000))
    # Runs recorded before the printing processes were counted have no figure: they are left out of these rows.
    printed = [r for r in lifecycles if "printing_cpu_seconds" in r]
    add(compare("  printing CPU per lifecycle", "ms", printed, lambda r: r["printing_cpu_seconds"] / r["n"], None, 1000,
                note="relance's PDFs in the worker's printing process; the bare workflow prints nothing"))
    add(compare("  all CPU per lifecycle", "ms", printed,
                lambda r: (r["worker_cpu_seconds"] + (r["server_cpu_seconds"] or 0) + r["printing_cpu_seconds"]) / r["n"],
                None, 1000, note="worker, printing and server; where they share the cores, bare's / relance's is "
                                 "about the best lifecycle ratio relance's cost allows"))
    # Not a target: how much of the gap is work any engine must do, the search attribute upserts relance makes
    # and an SMTP transaction per email, against relance's own cost on top of it.
    full_floor = runs["lifecycle_full_floor"]
    relance_runs = [r for r in lifecycles if r["impl"] == "relance"]
    add(compare("  vs bare with upserts and email", "lifecycles/s", relance_runs + full_floor,
                lambda r: r["lifecycles_per_second"], None,
                note="bare also upserts relance's search attributes and sends one fixed email per relance email"))
    floors = [r | {"impl": "relance"} for r in full_floor] + [r for r in lifecycles if r["impl"] == "bare"]
    add(compare("  bare with upserts and email vs bare", "lifecycles/s", floors, lambda r: r["lifecycles_per_second"],
                None, note="the cost of that work alone (left column: the full floor)"))
    for label, key, cache in (("default cache", "sqlite_default", "default"),
                              (f"cache {args.bounded_cache}", "sqlite_bounded", args.bounded_cache)):
        sleeping = [r for r in runs[key] if "worker_rss_per_1000" in r]
        note = f"{n} cases asleep, worker max_cached_workflows {cache}"
        add(compare(f"sleeping, {label}: worker RSS", "KB/case", sleeping, lambda r: r["worker_rss_per_1000"],
                    "sleeping", 1 / 1000 / KB, note))
        add(compare(f"sleeping, {label}: server RSS", "KB/case", sleeping, lambda r: r["server_rss_per_1000"],
                    "sleeping", 1 / 1000 / KB, note))
        add(compare(f"sleeping, {label}: SQLite", "KB/case", sleeping, lambda r: r["sqlite_bytes_per_1000"],
                    "sleeping", 1 / 1000 / KB, note))

    history = {}
    if lifecycles:
        rel = [r for r in lifecycles if r["impl"] == "relance"]
        bare = [r for r in lifecycles if r["impl"] == "bare"]
        for outcome in OUTCOMES:
            klass = f"{outcome.name}@0"
            rel_events = [r["classes"][klass]["events"] for r in rel]
            bare_events = [r["classes"][klass]["events"] for r in bare]
            rel_bytes = [r["classes"][klass]["bytes"] for r in rel]
            bare_bytes = [r["classes"][klass]["bytes"] for r in bare]
            ratio = statistics.median(rel_events) / statistics.median(bare_events)
            history[outcome.name] = {
                "script": outcome.script, "relance_events": stats(rel_events), "bare_events": stats(bare_events),
                "ratio": ratio, "target": f"<= {TARGETS['history'][1]}", "passed": ratio <= TARGETS["history"][1],
                "relance_bytes": stats(rel_bytes), "bare_bytes": stats(bare_bytes),
                "bytes_ratio": statistics.median(rel_bytes) / statistics.median(bare_bytes),
                "bare_ops": bare[0]["classes"][klass]["ops"] if bare else None,
                "full_floor_ops": rel[0]["classes"][klass]["ops"],  # what the full floor plays: relance's own
                "floor_events": bare[0]["classes"][klass]["floor_events"] if bare else None,
            }
        for outcome in OUTCOMES:
            h = history[outcome.name]
            rows.append({"name": f"history: {outcome.name}", "unit": "events", "relance": h["relance_events"],
                         "bare": h["bare_events"], "ratio": stats([h["ratio"]]), "target": h["target"],
                         "passed": h["passed"], "note": f"{h['relance_bytes']['median'] / KB:.1f} KB vs"
                                                        f" {h['bare_bytes']['median'] / KB:.1f} KB of history"})
    closed = {}
    for r in lifecycles:
        for outcome, reasons in (r.get("closed") or {}).items():
            for reason, count in reasons.items():
                closed.setdefault(outcome, {}).setdefault(reason, 0)
                closed[outcome][reason] += count
    return {
        "meta": meta(args, measured["seconds"]),
        "rows": rows,
        "history": history,
        "decision": measured["decision"],
        "lifecycle_mix": {o.name: o.script for o in OUTCOMES},
        "lifecycle_closed_reasons": closed,
        "runs": {k: [{kk: vv for kk, vv in r.items() if kk not in ("classes", "timeline")} | (
            {"classes": {c: {x: y for x, y in v.items() if x != "ops"} for c, v in r["classes"].items()}}
            if "classes" in r else {}) for r in v] for k, v in runs.items()},
        "passed": all(row.get("passed", True) for row in rows),
    }


def meta(args: argparse.Namespace, seconds: float) -> dict:
    import psutil
    import temporalio

    def git(*command: str) -> str:
        try:
            return subprocess.run(["git", *command], cwd=str(ROOT), capture_output=True, text=True).stdout
        except OSError:
            return ""

    dirty = [line[3:] for line in git("status", "--porcelain").splitlines()
             if line[3:] and not line[3:].startswith("bench/")]
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "HEAD").strip(), "uncommitted_changes": dirty,
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "platform": platform.platform(), "python": platform.python_version()},
        "temporalio": temporalio.__version__,
        "invoices": args.invoices, "lifecycles": args.lifecycles, "asleep_sizes": args.asleep_sizes,
        "worker_processes": args.worker_processes, "side_by_side": args.side_by_side,
        "asleep_floor": args.asleep_floor, "only": sorted(args.only), "repeats": args.repeats,
        "sleeping_repeats": min(args.sleeping_repeats or args.repeats, args.repeats), "bounded_cache": args.bounded_cache, "bytecode_cache": not args.no_bytecode_cache,
        "email_work": "stubbed (diagnostic)" if args.stub_email else "real",
        "seconds": round(seconds, 1),
    }


# ---------------------------------------------------------------------------------------------- output


def number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(s: dict | None) -> str:
    if not s:
        return "-"
    if len(s["runs"]) == 1 or s["min"] == s["max"]:
        return number(s["median"])
    return f"{number(s['median'])} [{number(s['min'])}-{number(s['max'])}]"


def table(results: dict) -> str:
    m = results["meta"]
    lines = [f"relance bench, {m['date']}: {m['invoices']} invoices (ingest, sleeping), {m['lifecycles']} lifecycles,"
             f" {m['repeats']} repeat(s); all asleep at {', '.join(map(str, m.get('asleep_sizes', [])))}"
             f"{' (relance and bare side by side)' if m.get('side_by_side') else ''};"
             f" median [min-max]; ratio = relance / bare",
             *(["DIAGNOSTIC RUN: relance's send_email stubbed (--stub-email); not relance's cost"]
               if m.get("email_work", "real") != "real" else []),
             ""]
    head = f"{'measure':40} {'unit':13} {'relance':>22} {'bare':>22} {'ratio':>18} {'target':>7}"
    lines += [head, "-" * len(head)]
    for row in results["rows"]:
        verdict = "" if "passed" not in row else ("pass" if row["passed"] else "FAIL")
        lines.append(f"{row['name'][:40]:40} {row['unit']:13} {cell(row['relance']):>22} {cell(row['bare']):>22}"
                     f" {cell(row['ratio']):>18} {row.get('target', ''):>7} {verdict}")
    asleep = results["runs"].get("asleep")
    if asleep:
        lines.append(slices_table(asleep))
    if results["decision"]:
        lines += ["", "decision cost (pure functions, timeit), microseconds per call:"]
        for name, d in results["decision"].items():
            lines.append(f"  {name:26} {d['us_median']:8.2f} [{d['us_min']:.2f}-{d['us_max']:.2f}]  {d['what']}")
    failed = [row["name"] for row in results["rows"] if row.get("passed") is False]
    lines += ["", f"targets: {'all met' if not failed else 'missed by ' + ', '.join(failed)}"
                  f"  ({m['seconds']:.0f}s)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        measured = measure(args)
    except RunFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; every server and worker it started is stopped", file=sys.stderr)
        return 130
    results = figures(args, measured)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print()
    print(table(results))
    print(f"\nwritten to {args.out}")
    return 0
