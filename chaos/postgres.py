"""A throw-away PostgreSQL server in a temporary folder (Debian's `postgresql` package), for the ledger's tests
and `make chaos`. PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from relance.smtp_sink import free_port


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise FileNotFoundError(f"{name} not found: install Debian's postgresql package (tools/system-packages.txt)")
    return path


class PostgresServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="relance-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> "PostgresServer":
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale", "C")
        # fsync off: a test server dies with its data; the ledger's statements are the same either way.
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
                  "-w", "-t", "60", "start")
        return self

    def new_database(self, name: str) -> str:
        """An empty database on this server; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        try:
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self._as_postgres, *command], capture_output=True, text=True, cwd=self.folder)
        if result.returncode:
            raise subprocess.CalledProcessError(result.returncode, command, result.stdout,
                                                f"{result.stderr}\n{self.log()}")

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
