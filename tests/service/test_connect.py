"""A worker started before its server waits for it; a command against no server fails at once, saying where."""
from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from relance.config import TemporalSettings
from relance.smtp_sink import free_port
from relance.temporal import TemporalUnreachable, connect


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def forwarder(port: int, target: str):
    """The dev server reachable on another port: a server that "starts" when the forwarder does."""
    host, target_port = target.rsplit(":", 1)

    async def forward(reader, writer):
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(target_port))
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_a_worker_waits_for_a_server_that_is_still_starting(dev_server):
    port = free_port()
    settings = TemporalSettings(address=f"127.0.0.1:{port}")
    waiting = asyncio.create_task(connect(settings, wait_seconds=30))
    await asyncio.sleep(1.5)
    assert not waiting.done(), "nothing listens yet: the worker is still waiting"
    async with forwarder(port, dev_server.client.service_client.config.target_host):
        client = await asyncio.wait_for(waiting, timeout=20)
        assert (await client.service_client.check_health()) is True


@pytest.mark.parametrize("wait_seconds", [0, 1])
async def test_no_server_is_a_clear_error_once_the_wait_is_over(wait_seconds):
    port = free_port()
    started = time.monotonic()
    with pytest.raises(TemporalUnreachable, match=f"127.0.0.1:{port}"):
        await connect(TemporalSettings(address=f"127.0.0.1:{port}"), wait_seconds=wait_seconds)
    assert wait_seconds <= time.monotonic() - started < wait_seconds + 10
