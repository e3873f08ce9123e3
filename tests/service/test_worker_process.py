"""`python -m worker` as a service manager runs it: SIGTERM stops it cleanly, and it ends with its own verdict."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from relance.config import ROOT


async def test_sigterm_stops_a_worker_cleanly_and_it_exits_0(dev_server, config):
    env = {**os.environ, "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
           "TEMPORAL_TASK_QUEUE": f"term-{uuid.uuid4().hex[:8]}", "RELANCE_RULES_DIR": str(config.rules_dir),
           "RELANCE_VAR": str(config.var_dir), "RELANCE_LOG_FORMAT": "json", "RELANCE_RULES_POLL_SECONDS": "0"}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "worker", cwd=ROOT, env=env,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        seen = b""
        while b"worker.started" not in seen:
            line = await asyncio.wait_for(worker.stdout.readline(), timeout=60)
            assert line, f"the worker ended before starting: {seen.decode()[-2000:]}"
            seen += line
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(worker.wait(), timeout=30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert code == 0
