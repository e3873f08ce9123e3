"""The real processes a chaos scenario starts, kills, pauses and restarts: the Temporal dev server (on its SQLite
file), the SMTP sink, and `relance worker`s. Each runs in its own session, so a signal reaches it alone."""
from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from relance.config import ROOT
from relance.smtp_sink import free_port
from relance.temporal import SQLITE_PRAGMAS, binary, wait_for_port
from workflows.visibility import dev_server_flags


class Process:
    name = "process"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> "Process":
        self.starts += 1
        log = (self.folder / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                        env=self.environment(), start_new_session=True)
        log.close()
        return self

    killed: dict[int, float] = {}  # pid SIGKILLed → when (epoch seconds), of every process

    def kill(self) -> None:
        """SIGKILL, then reap: the process is gone, as after a crash."""
        if self.alive():
            Process.killed[self.process.pid] = time.time()
            self.process.send_signal(signal.SIGKILL)
        if self.process:
            self.process.wait()

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 10) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class DevServer(Process):
    name = "temporal"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.port = free_port()
        self.db = folder / "temporal.sqlite"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [binary("temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
                "--headless", "--db-filename", str(self.db), *SQLITE_PRAGMAS, "--log-level", "error",
                *dev_server_flags()]

    def start(self) -> "DevServer":
        super().start()
        wait_for_port(self.port, self.process)
        return self

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGINT)  # flushes SQLite
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class Sink(Process):
    """The SMTP sink: every message accepted is a line of `record` (X-Relance-Key, Message-ID)."""

    name = "smtp"

    def __init__(self, folder: Path, delay: float = 0.0) -> None:
        super().__init__(folder)
        self.port = free_port()
        self.delay = delay
        self.record = folder / "received.tsv"
        self.record.touch()
        self.delay_file = folder / "smtp-delay"
        self.set_delay(delay)

    def set_delay(self, seconds: float) -> None:
        """How long the sink takes to answer DATA from its next message on (it need not restart)."""
        self.delay = seconds
        self.delay_file.write_text(str(seconds))

    def command(self) -> list[str]:
        return [sys.executable, "-m", "relance.smtp_sink", "--port", str(self.port), "--record", str(self.record),
                "--delay-file", str(self.delay_file)]

    def start(self) -> "Sink":
        super().start()
        wait_for_port(self.port, self.process)
        return self

    def accepted_at(self) -> dict[str, list[float]]:
        """When the sink accepted each copy of each key (epoch seconds)."""
        times: dict[str, list[float]] = {}
        for line in self.record.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 3:
                times.setdefault(fields[0], []).append(float(fields[2]))
        return times

    def received(self) -> collections.Counter:
        """Messages per X-Relance-Key so far."""
        counts: collections.Counter = collections.Counter()
        for line in self.record.read_text().splitlines():
            if "\t" in line:
                counts[line.split("\t", 1)[0]] += 1
        return counts


class Worker(Process):
    """`relance worker`, with JSON logs in its own file."""

    def __init__(self, folder: Path, number: int, server: DevServer, sink: Sink, task_queue: str, rules: Path,
                 ledger: str, **settings: str) -> None:
        super().__init__(folder)
        self.name = f"worker-{number}"
        self.server, self.sink = server, sink
        self.task_queue, self.rules, self.ledger = task_queue, rules, ledger
        self.settings = settings

    def command(self) -> list[str]:
        relance = Path(sys.executable).parent / "relance"
        return [str(relance) if relance.exists() else shutil.which("relance") or "relance", "worker"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RELANCE_", "SMTP_", "TEMPORAL_"))}
        var = self.folder / self.name
        env.update(
            TEMPORAL_ADDRESS=self.server.address, TEMPORAL_TASK_QUEUE=self.task_queue,
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(self.sink.port), RELANCE_RULES_DIR=str(self.rules),
            RELANCE_VAR=str(var), RELANCE_LOG_FORMAT="json", RELANCE_RULES_POLL_SECONDS="0",
            RELANCE_WORKER_CONNECT_WAIT_SECONDS="60", RELANCE_HARD_EXIT="1",
        )
        if self.ledger.startswith("postgresql://"):
            env["RELANCE_SENT_LEDGER_URL"] = self.ledger
        else:
            env["RELANCE_SENT_LEDGER"] = self.ledger
        env.update(self.settings)
        return env

    def log_lines(self) -> list[str]:
        path = self.folder / f"{self.name}.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []


def wait_until(condition, seconds: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
