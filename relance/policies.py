"""Publishing rule-file versions to their registries, from a worker's watcher or `relance rules reload`."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

import structlog
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from activities.rules import RuleDirectory
from domain.policy import Policy
from domain.versions import PolicySeen, PolicyVersion, RegistryState
from workflows.policy_registry import PolicyRegistry, registry_id

log = structlog.get_logger(__name__)
ANSWER_SECONDS = 30.0
LOAD_SECONDS = 30.0  # a rules folder that takes longer to read is reported, and read again at the next tick


async def publish(client: Client, task_queue: str, policies: Iterable[Policy], seen_by: str) -> dict[str, str]:
    """Tell each policy's registry which version this reader sees; returns what each registry answered."""
    answers = {}
    for policy in policies:
        registry = await client.start_workflow(
            PolicyRegistry.run, RegistryState(policy_id=policy.policy_id), id=registry_id(task_queue, policy.policy_id),
            task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
        seen = PolicySeen(policy_id=policy.policy_id, version=policy.version, content_hash=policy.content_hash,
                          adoption=policy.adoption, seen_by=seen_by)
        try:
            answers[policy.ref] = await asyncio.wait_for(
                registry.execute_update(PolicyRegistry.observe, seen), timeout=ANSWER_SECONDS)
        except WorkflowUpdateFailedError as refused:
            answers[policy.ref] = f"refused: {refused.cause.message if refused.cause else refused}"
        except asyncio.TimeoutError:
            raise NoWorker(f"no worker answered on task queue {task_queue!r} within {ANSWER_SECONDS:.0f}s:"
                           " is `relance worker` (or `make up`) running?") from None
    return answers


async def history(client: Client, task_queue: str, policy_id: str) -> list[PolicyVersion]:
    return await client.get_workflow_handle(registry_id(task_queue, policy_id)).query(PolicyRegistry.history)


class NoWorker(Exception):
    pass


async def watch(client: Client, task_queue: str, rules: RuleDirectory, every_seconds: float,
                stop: asyncio.Event) -> None:
    """Re-read the rule files every few seconds and publish what changed; a broken file changes nothing."""
    published: dict[str, tuple[int, str]] = {}
    reader = f"worker@{socket.gethostname()}"
    while not stop.is_set():
        try:
            loaded = await rules.load_off_loop(LOAD_SECONDS)  # off the loop: the worker's tasks keep running
            changed = [p for p in loaded.values() if published.get(p.policy_id) != (p.version, p.content_hash)]
            if changed:
                for ref, answer in (await publish(client, task_queue, changed, reader)).items():
                    log.info("rules.published", policy=ref, answer=answer)
                published.update({p.policy_id: (p.version, p.content_hash) for p in changed})
        except Exception as error:  # the watcher must outlive a transient failure
            log.error("rules.watch_failed", error=str(error))
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except asyncio.TimeoutError:
            pass
