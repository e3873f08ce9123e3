"""The processes a measurement runs: the Temporal dev server, an SMTP sink, a worker. Started, measured, stopped.

Each is a child process of the measurement, so its memory is its own (RSS is read per process) and a
Ctrl-C or a failure never leaves one behind: `stop()` is called from `finally` blocks, by process id.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil

from relance.temporal import SQLITE_PRAGMAS, binary, wait_for_port
from workflows.visibility import dev_server_flags

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, seconds: float = 20) -> None:
    """Ask `process` (and only it) to stop; kill it if it does not within `seconds`."""
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(sig)
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def descendants_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each live descendant of `pid` (a worker's printing processes), by pid."""
    seen = {}
    for child in psutil.Process(pid).children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seen[child.pid] = times.user + times.system
    return seen


class TreeCpu:
    """CPU seconds used by this process and all its descendants, sampled in a thread so that processes that
    end (or are never reaped, like the test server the SDK core starts) are still counted."""

    def __init__(self, every: float = 0.25) -> None:
        import threading

        self.every, self.seen = every, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = psutil.Process()
        for process in [me, *me.children(recursive=True)]:
            try:
                times = process.cpu_times()
                self.seen[process.pid] = times.user + times.system
            except psutil.Error:
                pass

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(self.seen.values())


def rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


class DevServer:
    """`temporal server start-dev`, in memory or on SQLite with the WAL pragmas (`make up`'s settings)."""

    def __init__(self, folder: Path, *, sqlite: bool, pragmas: list[str] | None = None) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.db = folder / "temporal.sqlite" if sqlite else None
        command = [binary("temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
                   "--headless", "--log-level", "error", "--namespace", "default", *dev_server_flags()]
        if self.db:
            command += ["--db-filename", str(self.db), *SQLITE_PRAGMAS,
                        *(arg for pragma in pragmas or [] for arg in ("--sqlite-pragma", pragma))]
        self.log = open(folder / "dev-server.log", "wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.process)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop(self.process, signal.SIGINT)  # the dev server closes SQLite cleanly on SIGINT
        self.log.close()


def sqlite_bytes(path: Path) -> int:
    """Bytes of the pages in use (WAL content included, free pages excluded), read while the server runs."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * page_size
    finally:
        connection.close()


class SmtpSink:
    """aiosmtpd with its `Sink` handler, in its own process: relance's mail goes somewhere, costs the worker
    only its SMTP conversation, and the sink's CPU is not counted in the worker."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.log = open(folder / "smtp.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}", "-c", "aiosmtpd.handlers.Sink"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        stop(self.process)
        self.log.close()


class WorkerProcess:
    """`python -m bench.workerproc`: relance's worker (`worker.build_worker`) or the bare one, same settings."""

    def __init__(self, folder: Path, *, impl: str, address: str, task_queue: str, smtp_port: int | None = None,
                 max_cached: int | None = None, start_timeout: float = 120, metrics_port: int | None = None,
                 name: str | None = None) -> None:
        env = {**os.environ, "RELANCE_VAR": str(folder / "var"), "RELANCE_LOG_FORMAT": "json",
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        if smtp_port:
            env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port))
        if max_cached is not None:
            env["RELANCE_MAX_CACHED_WORKFLOWS"] = str(max_cached)
        if metrics_port:
            env["BENCH_METRICS_PORT"] = str(metrics_port)
        self.log = open(folder / f"worker-{name or impl}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.workerproc", impl, address, task_queue],
            stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=str(ROOT), start_new_session=True)
        ready, _, _ = select.select([self.process.stdout], [], [], start_timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line.startswith(b"ready"):
            self.stop()
            raise RuntimeError(f"the {impl} worker did not start:\n{tail(Path(self.log.name))}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop(self.process, signal.SIGTERM, seconds=60)
        self.log.close()
