"""Publishing rule-file versions to their registries, from a worker's watcher or `relance rules reload`.

A valid file is reported with its content; a file that does not validate is reported as refused, with why:
the registry keeps the version in force and records the refusal (`relance rules history`).
"""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Iterable

import structlog
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.policy_source import report, report_refused
from activities.rules import RuleDirectory
from domain.policy import Policy
from domain.versions import Observed, PolicyRefusal, PolicyVersion, RefusedFile
from workflows.policy_registry import PolicyRegistry, registry_id

log = structlog.get_logger(__name__)
ANSWER_SECONDS = 30.0
LOAD_SECONDS = 30.0  # a rules folder that takes longer to read is reported, and read again at the next tick


async def publish(client: Client, task_queue: str, policies: Iterable[Policy], seen_by: str) -> dict[str, Observed]:
    """Tell each policy's registry which version this reader sees; what each registry answered, by version."""
    return {policy.ref: await _answer(task_queue, report(client, task_queue, policy, seen_by))
            for policy in policies}


async def publish_refused(client: Client, task_queue: str, refused: Iterable[RefusedFile]) -> dict[str, Observed]:
    """Tell each policy's registry of a rule file it will not get; the registry's answer, by file."""
    return {file.source: await _answer(task_queue, report_refused(client, task_queue, file)) for file in refused}


async def _answer(task_queue: str, update: Awaitable[Observed]) -> Observed:
    try:
        return await asyncio.wait_for(update, timeout=ANSWER_SECONDS)
    except WorkflowUpdateFailedError as refused:  # the registry's validator: nothing was recorded
        return Observed(accepted=False, message=f"refusé : {refused.cause.message if refused.cause else refused}")
    except asyncio.TimeoutError:
        raise NoWorker(f"aucun worker n'a répondu sur la file {task_queue!r} en {ANSWER_SECONDS:.0f} s :"
                       " `relance worker` (ou `make up`) tourne-t-il ?") from None


async def history(client: Client, task_queue: str, policy_id: str) -> list[PolicyVersion]:
    return await client.get_workflow_handle(registry_id(task_queue, policy_id)).query(PolicyRegistry.history)


async def refusals(client: Client, task_queue: str, policy_id: str) -> list[PolicyRefusal]:
    return await client.get_workflow_handle(registry_id(task_queue, policy_id)).query(PolicyRegistry.refusals)


class NoWorker(Exception):
    pass


async def watch(client: Client, task_queue: str, rules: RuleDirectory, every_seconds: float,
                stop: asyncio.Event) -> None:
    """Re-read the rule files every few seconds and publish what changed; a broken file changes nothing but is
    reported once to its policy's registry."""
    published: dict[str, tuple[int, str]] = {}
    reported: set[tuple[str, tuple[str, ...]]] = set()
    reader = f"worker@{socket.gethostname()}"
    while not stop.is_set():
        try:
            loaded = await rules.load_off_loop(LOAD_SECONDS)  # off the loop: the worker's tasks keep running
            changed = [p for p in loaded.values() if published.get(p.policy_id) != (p.version, p.content_hash)]
            if changed:
                for ref, answer in (await publish(client, task_queue, changed, reader)).items():
                    log.info("rules.published", policy=ref, answer=answer.message, accepted=answer.accepted)
                published.update({p.policy_id: (p.version, p.content_hash) for p in changed})
            refused = [r.model_copy(update={"seen_by": reader}) for r in rules.refused()
                       if (r.source, tuple(r.problems)) not in reported]
            if refused:
                for source, answer in (await publish_refused(client, task_queue, refused)).items():
                    log.info("rules.refusal_reported", file=source, answer=answer.message)
                reported.update((r.source, tuple(r.problems)) for r in refused)
        except Exception as error:  # the watcher must outlive a transient failure
            log.error("rules.watch_failed", error=str(error))
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except asyncio.TimeoutError:
            pass
