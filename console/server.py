"""Running the console: its settings from the environment, and a uvicorn server on the caller's event loop
(`relance console` alone, or beside the worker in `relance up`)."""
from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import uvicorn

from console import auth, store
from console.app import Console, Settings, create_app
from relance.config import Config, _flag
from relance.temporal import connect

DEFAULT_PORT = 8080


def settings_from_env(config: Config) -> Settings:
    env = os.environ.get
    store_path = store.default_path(config.var_dir)
    return Settings(
        store_path=store_path,
        read_model_path=Path(env("RELANCE_CONSOLE_READ_MODEL") or store_path.with_name("console-read.sqlite3")),
        idle_minutes=int(env("RELANCE_CONSOLE_IDLE_MINUTES", "60")),
        session_max_hours=int(env("RELANCE_CONSOLE_SESSION_HOURS", "12")),
        secure_cookies=_flag("RELANCE_CONSOLE_SECURE_COOKIES"),
        refresh_seconds=float(env("RELANCE_CONSOLE_REFRESH_SECONDS", "60")),
        rules_dir=config.rules_dir,
        oidc=auth.OidcSettings.from_env(),
        bank_store=config.bank_store_location(),
        documents_dir=config.documents_dir,
    )


def console_for(config: Config, **overrides) -> Console:
    return Console(settings_from_env(config), client=lambda: connect(config.temporal),
                   task_queue=config.temporal.task_queue, **overrides)


@contextlib.asynccontextmanager
async def running(console: Console, host: str, port: int):
    """The console served on the caller's event loop while the block runs; yields its address (port 0: any)."""
    server = uvicorn.Server(uvicorn.Config(create_app(console), host=host, port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start (the port is taken...)
            raise RuntimeError(f"the console stopped before listening on {host}:{port}")
        await asyncio.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task


def announce(console: Console, url: str) -> None:
    """The address on stdout once it listens, and how to make the first admin when there is no user yet."""
    print(f"console: {url}", flush=True)
    if not console.store.users():
        print("console: no user yet; make the first admin with: relance console adduser LOGIN --role admin",
              flush=True)


async def serve(console: Console, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (or forever); the address is printed once it listens."""
    async with running(console, host, port) as url:
        announce(console, url)
        await (stop or asyncio.Event()).wait()
