"""`relance up`: the Temporal dev server (SQLite under var/), its codec server, a local SMTP sink, a worker and
the ops console (http://127.0.0.1:8080), stopped by Ctrl-C."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys

import structlog

import worker
from relance import smtp_sink
from relance.codec_server import CodecServer
from relance.config import Config
from relance.temporal import SQLITE_PRAGMAS, binary, wait_for_port
from workflows.visibility import dev_server_flags

log = structlog.get_logger(__name__)


def dev_server_command(config: Config, port: int, ui_port: int, codec_url: str | None = None) -> list[str]:
    return [
        binary("temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        *(["--ui-codec-endpoint", codec_url] if codec_url else []),
        "--db-filename", str(config.var_dir / "temporal.sqlite"), "--namespace", config.temporal.namespace,
        *SQLITE_PRAGMAS, "--log-level", "warn",
        *dev_server_flags(),
    ]


def ui_origins(ui_port: int) -> list[str]:
    return [f"http://{host}:{ui_port}" for host in ("127.0.0.1", "localhost")]


async def run_service(config: Config, *, port: int, ui_port: int, codec_port: int = 0, console_port: int | None = 8080) -> int:
    config.var_dir.mkdir(parents=True, exist_ok=True)
    codec = CodecServer(port=codec_port, allow_origins=ui_origins(ui_port)).start()
    server = subprocess.Popen(dev_server_command(config, port, ui_port, codec.url), stdout=sys.stderr,
                              start_new_session=True)
    sink = None
    if "SMTP_HOST" not in os.environ:
        sink = smtp_sink.start(smtp_sink.Outbox(config.var_dir / "outbox"), port=config.smtp.port)
        log.info("smtp.sink", port=config.smtp.port, outbox=str(config.var_dir / "outbox"))
    config = dataclasses.replace(config, temporal=dataclasses.replace(config.temporal, address=f"127.0.0.1:{port}"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.to_thread(wait_for_port, port, server)
        log.info("temporal.ready", address=config.temporal.address, web_ui=f"http://127.0.0.1:{ui_port}",
                 codec_server=codec.url)
        if console_port is None:
            await worker.run(config, stop)
        else:
            from console import server as console_server

            ops_console = console_server.console_for(config)
            async with console_server.running(ops_console, "127.0.0.1", console_port) as url:
                console_server.announce(ops_console, url)
                await worker.run(config, stop)
    finally:
        codec.stop()
        if sink:
            sink.stop()
        server.send_signal(signal.SIGINT)  # the dev server flushes SQLite on SIGINT
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.info("stopped", data=str(config.var_dir))
    return 0
