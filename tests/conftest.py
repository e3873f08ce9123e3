"""Shared fixtures: the real Temporal time-skipping server, a real SMTP server on loopback, a worker per test."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings
from relance.payloads import DATA_CONVERTER
from temporalio.testing import WorkflowEnvironment

from activities.mail import SentLedger, SmtpMailer
from relance import smtp_sink
from relance.config import ROOT, from_env
from tests import clock
from workflows import visibility
from worker import build_activities, build_worker

# Properties are about correctness; speed is `make bench`'s business. Hypothesis's default 200 ms deadline per
# example failed them on a loaded machine.
settings.register_profile("relance", deadline=None)
settings.load_profile("relance")


def pytest_configure(config):
    config.addinivalue_line("markers", "today(date): the test's pinned day, ISO (default: tests.clock.DEFAULT_TODAY)")


@pytest.fixture
def today(request) -> dt.date:
    """The test's day: pinned, never read from the machine's clock (tests/clock.py)."""
    return clock.pinned_today(request.node.get_closest_marker("today"))


@pytest.fixture
def test_server(today, tmp_path_factory) -> Path:
    """The time-skipping server, its clock starting on `today`; previews started by the test use it too."""
    return clock.test_server_starting_at(clock.start_moment(today), tmp_path_factory.mktemp("clock"))


@pytest_asyncio.fixture
async def env(test_server):
    """A time-skipping server per test, starting on the test's pinned day (0.1 s to start)."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(test_server), data_converter=DATA_CONVERTER)
    await visibility.register_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
def smtp():
    outbox = smtp_sink.Outbox()
    controller = smtp_sink.start(outbox)
    yield dataclasses.make_dataclass("Smtp", ["outbox", "port"])(outbox, controller.port)
    controller.stop()


@dataclasses.dataclass
class Harness:
    env: WorkflowEnvironment
    task_queue: str
    outbox: smtp_sink.Outbox
    var: Path

    started: list = dataclasses.field(default_factory=list)

    def sent_to(self, address: str):
        return self.outbox.to(address)

    async def end_cases(self) -> None:
        """A case left running would fire timers on a task queue nobody polls any more, and the
        time-skipping server would hold its clock for it: every later test would hang."""
        for handle in self.started:
            try:
                await handle.terminate("test over")
            except Exception:
                pass  # already closed


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    """The shipped rules plus the test policies of tests/rules, in a folder a test may edit."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for source in [*(ROOT / "rules").glob("*.yaml"), *(ROOT / "tests" / "rules").glob("*.yaml")]:
        shutil.copy(source, folder / source.name)
    return folder


@pytest.fixture
def config(tmp_path, smtp, rules_dir, test_server, monkeypatch):
    monkeypatch.setenv("RELANCE_VAR", str(tmp_path))
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("RELANCE_RULES_DIR", str(rules_dir))
    monkeypatch.setenv("RELANCE_TEST_SERVER", str(test_server))  # previews run at the test's pinned day
    return from_env()


@pytest_asyncio.fixture
async def harness(env, smtp, config, tmp_path):
    """A worker on its own task queue: tests never see each other's cases."""
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    activities = build_activities(config)
    harness = Harness(env=env, task_queue=task_queue, outbox=smtp.outbox, var=tmp_path)
    async with build_worker(env.client, task_queue, activities):
        yield harness
        await harness.end_cases()
    await activities.mailer.close()


def pytest_unconfigure(config):
    """Leave with pytest's own verdict: the Temporal core can abort at interpreter exit (sdk-python #300)."""
    if os.environ.get("RELANCE_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config._relance_exitstatus if hasattr(config, "_relance_exitstatus") else 0)


def pytest_sessionfinish(session, exitstatus):
    session.config._relance_exitstatus = int(exitstatus)
