"""The real Temporal dev server (visibility, search attributes) and a worker against it."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest_asyncio
from relance.payloads import DATA_CONVERTER
from temporalio.testing import WorkflowEnvironment

from relance.temporal import binary
from worker import build_activities, build_worker
from workflows.visibility import dev_server_flags

RELANCE = str(Path(sys.executable).parent / "relance")


@pytest_asyncio.fixture(scope="session")
async def dev_server():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"), dev_server_extra_args=dev_server_flags(),
        data_converter=DATA_CONVERTER, ui=False)
    yield env
    await env.shutdown()


class Service(dict):
    """The environment a CLI subprocess needs to reach the test's server and task queue, plus the worker's parts."""

    activities = None
    task_queue = ""


@pytest_asyncio.fixture
async def service(dev_server, config):
    task_queue = f"svc-{uuid.uuid4().hex[:8]}"
    activities = build_activities(config)
    async with build_worker(dev_server.client, task_queue, activities):
        environ = Service({**os.environ, "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
                           "TEMPORAL_TASK_QUEUE": task_queue, "RELANCE_LOG_FORMAT": "json",
                           "RELANCE_RULES_DIR": str(config.rules_dir), "RELANCE_VAR": str(config.var_dir)})
        environ.activities, environ.task_queue = activities, task_queue
        yield environ


async def relance(env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI without blocking the event loop: the worker answering its queries lives on it."""
    process = await asyncio.create_subprocess_exec(RELANCE, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    return subprocess.CompletedProcess(args, process.returncode, out.decode(), err.decode())


async def eventually(check, seconds: float = 20):
    """Visibility and signals take a moment on a real server: ask again until the answer is true."""
    for _ in range(int(seconds * 4)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.25)
    return await check()
