"""The registry carries each version's content: every worker runs what the registry holds, whatever its own files."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
import shutil
import uuid
from pathlib import Path

from activities.policy_source import PolicySource
from activities.contracts import PolicyRequest
from activities.rules import RuleDirectory
from domain.rule_file import load_policy_file
from relance import policies
from tests.conftest import Harness
from tests.lifecycle.scenario import Case, invoice
from worker import build_activities, build_worker


def twin(folder: Path, *, j10: int) -> Path:
    """Version 1 of policy `twin`; two folders may hold different texts under that same version."""
    text = (folder / "default.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^version: \d+$", "version: 1", text.replace("policy_id: default", "policy_id: twin"))
    text = text.replace("  business_days_only: true ", "  business_days_only: false ")  # J-10 is J-10
    text = text.replace("  - id: preventive-j-10\n    offset_days: -10", f"  - id: preventive-j-10\n    offset_days: {j10}")
    path = folder / "twin.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def worker_on(env, config, task_queue):
    """A worker with `config`'s rule folder, alone on the queue while the block runs."""
    activities = build_activities(config)
    try:
        async with build_worker(env.client, task_queue, activities):
            yield
    finally:
        await activities.mailer.close()


async def test_two_workers_with_different_files_run_the_same_content_addressed_version(
        env, config, smtp, tmp_path, today):
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    mine = load_policy_file(twin(config.rules_dir, j10=-10))
    other_folder = tmp_path / "rules-b"
    shutil.copytree(config.rules_dir, other_folder)
    theirs = load_policy_file(twin(other_folder, j10=-8))
    assert mine.version == theirs.version and mine.content_hash != theirs.content_hash

    harness = Harness(env=env, task_queue=task_queue, outbox=smtp.outbox, var=tmp_path)
    opened = []

    async def open_case():
        case = await (await Case.open(harness, invoice(today=today, due_in_days=20, policy="twin"))).opened()
        opened.append((case, await case.status()))

    # One worker, then the other, alone on the queue. The registry answers its updates and queries on the first:
    # the time-skipping server keeps a stopped worker's sticky tasks (a real server hands them on after 10 s).
    async with worker_on(env, config, task_queue):
        await open_case()  # the first worker's file reaches the registry first
        # The second worker's file, reported as its watcher would: refused and recorded, nothing else changes.
        answer = (await policies.publish(env.client, task_queue, [theirs], "worker-b"))["twin@v1"]
        assert not answer.accepted and "sans nouveau numéro de version" in answer.message
        assert "twin@v1 reste en vigueur" in answer.message
        [refusal] = await policies.refusals(env.client, task_queue, "twin")
        assert refusal.seen_by == "worker-b" and refusal.kept == "twin@v1" and theirs.content_hash in refusal.reason
        assert [v.content_hash for v in await policies.history(env.client, task_queue, "twin")] == [mine.content_hash]
        await harness.end_cases()

    async with worker_on(env, dataclasses.replace(config, rules_dir=other_folder), task_queue):
        # The second worker reads the registry's content by its hash, not its own file.
        read = await PolicySource(env.client, task_queue, RuleDirectory(other_folder), "worker-b").load_policy(
            PolicyRequest(policy_id="twin"))
        assert read == mine and read.content_hash != theirs.content_hash
        await open_case()
        await harness.end_cases()
    for case, status in opened:  # both at J-10, the registry's version: the second worker's file says J-8
        assert status.policy_ref == "twin@v1" and status.next_action.step == "reminder:preventive-j-10"
        assert case.day_of(status.next_action.at) == case.invoice.due_date - dt.timedelta(days=10)
