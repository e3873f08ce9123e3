"""Where a case reads its policy: the registry's validated content, by reference, not this worker's rule files.

The registry shows the version in force and its content in its memo, which the server answers without a worker
(a describe). This worker keeps each content it has read under its hash: content-addressed, it never goes stale,
so a describe that names a known hash costs no decoding. The worker's own rule files are read only when the
registry has nothing yet (a fresh deployment, a preview on its own server, a registry recorded before it carried
content): they are reported to the registry first, and what the registry then holds is what the case gets.
"""
from __future__ import annotations

import asyncio

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import PolicyRequest
from activities.rules import RuleDirectory
from domain.policy import Policy, shared
from domain.versions import Observed, PolicyVersion, RefusedFile, RegistryState, seen
from workflows.policy_registry import MEMO_CONTENT, MEMO_REF, PolicyRegistry, registry_id

log = structlog.get_logger(__name__)
REPORT_PATIENCE_SECONDS = 5.0


async def registry(client: Client, task_queue: str, policy_id: str):
    """The policy's registry, started if it is not running yet."""
    return await client.start_workflow(
        PolicyRegistry.run, RegistryState(policy_id=policy_id), id=registry_id(task_queue, policy_id),
        task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


async def report(client: Client, task_queue: str, policy: Policy, seen_by: str) -> Observed:
    """Tell the policy's registry which version (with its content) a reader has; the registry's answer."""
    handle = await registry(client, task_queue, policy.policy_id)
    return await handle.execute_update(PolicyRegistry.observe, seen(policy, seen_by))


async def report_refused(client: Client, task_queue: str, refused: RefusedFile) -> Observed:
    handle = await registry(client, task_queue, refused.policy_id)
    return await handle.execute_update(PolicyRegistry.refuse_file, refused)


class PolicySource:
    def __init__(self, client: Client, task_queue: str, rules: RuleDirectory, reader: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.rules = rules
        self.reader = reader
        self._contents: dict[str, Policy] = {}  # content hash -> content, as the registry carried it
        # Cases opening together share one describe, and one report of this worker's file: a preview opening
        # thousands of cases at once would otherwise send the registry thousands of updates.
        self._pending: dict[tuple[str, str], asyncio.Future] = {}

    @activity.defn(name="load_policy")
    async def load_policy(self, request: PolicyRequest) -> Policy:
        policy = await self.in_force(request.policy_id)
        if policy is None or policy.version < request.at_least_version:
            # Nothing in the registry yet, or a version announced that it does not hold (a notice sent by hand):
            # this worker's own file, if it has one, goes to the registry first, which takes it or says why not.
            policy = await self._shared("report", request.policy_id, self._report_own_file)
        if policy.version < request.at_least_version:
            # Retried by Temporal, until the registry holds the version announced.
            raise LookupError(f"{policy.ref} en vigueur au registre ; la v{request.at_least_version} annoncée"
                              " n'y est pas encore visible")
        return policy

    async def in_force(self, policy_id: str) -> Policy | None:
        """The registry's version in force, with its content; None if the registry holds no content yet."""
        return await self._shared("describe", policy_id, self._describe)

    async def _shared(self, what: str, policy_id: str, call):
        """`call(policy_id)`, or the same call already under way for another case."""
        pending = self._pending.get((what, policy_id))
        if pending is None or pending.done():
            pending = self._pending[(what, policy_id)] = asyncio.ensure_future(call(policy_id))
        return await asyncio.shield(pending)

    async def _describe(self, policy_id: str) -> Policy | None:
        try:
            description = await self.client.get_workflow_handle(
                registry_id(self.task_queue, policy_id)).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        ref = await description.memo_value(MEMO_REF, None, type_hint=PolicyVersion | None)
        if ref is None:
            return None
        if ref.content_hash not in self._contents:
            content = await description.memo_value(MEMO_CONTENT, None, type_hint=Policy | None)
            if content is None or content.content_hash != ref.content_hash:
                return None
            self._contents[ref.content_hash] = shared(content)
        return self._contents[ref.content_hash]

    async def _report_own_file(self, policy_id: str) -> Policy:
        own = await self.rules.get_off_loop(policy_id)  # LookupError (retried) if this worker has none either
        reported = asyncio.ensure_future(report(self.client, self.task_queue, own, self.reader))
        try:
            answer = await asyncio.wait_for(asyncio.shield(reported), REPORT_PATIENCE_SECONDS)
        except asyncio.TimeoutError:
            # The registry runs on this task queue: when every cached workflow is a case waiting here for its
            # policy (a fresh deployment opening a big book), it cannot run until they go on. They take this
            # worker's validated file; the report still reaches the registry once a case gives way.
            log.warning("policy.registry_busy", policy=own.ref, waited_s=REPORT_PATIENCE_SECONDS)
            return own
        log.info("policy.reported_own_file", policy=own.ref, answer=answer.message)
        policy = await self._describe(policy_id)  # not a describe that may have started before the report
        if policy is None:
            raise LookupError(f"le registre de {policy_id!r} n'a pas de contenu en vigueur ({answer.message})")
        return policy

    def all(self) -> list:
        return [self.load_policy]

