"""One registry per policy: the versions seen, when, with which content; and the wake-up of running cases.

Every worker reports the rule files it reads; the registry keeps the first report of each version, refuses
a changed file that kept its version number, and, for a version to adopt, tells the running cases.
"""
from __future__ import annotations

import datetime as dt

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.fleet import FleetActivities
    from domain.versions import NotifyRequest, PolicySeen, PolicyVersion, RegistryState


def registry_id(task_queue: str, policy_id: str) -> str:
    """One registry per policy and deployment: two installations may share a namespace, not a task queue."""
    return f"relance-policy/{task_queue}/{policy_id}"


@workflow.defn
class PolicyRegistry:
    @workflow.init
    def __init__(self, state: RegistryState) -> None:
        self.state = state
        self._to_notify: list[PolicyVersion] = []

    @workflow.run
    async def run(self, state: RegistryState) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._to_notify) or workflow.info().is_continue_as_new_suggested())
            while self._to_notify:
                version = self._to_notify.pop(0)
                version.cases_notified = await workflow.execute_activity_method(
                    FleetActivities.notify_cases,
                    NotifyRequest(policy_id=self.state.policy_id, version=version.version),
                    start_to_close_timeout=dt.timedelta(minutes=30), heartbeat_timeout=dt.timedelta(minutes=2),
                    retry_policy=RetryPolicy(maximum_interval=dt.timedelta(minutes=5)),
                )
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)

    @workflow.update
    def observe(self, seen: PolicySeen) -> str:
        latest = self._latest()
        if latest is not None and latest.version == seen.version:
            return f"{seen.policy_id}@v{seen.version} already known"
        version = PolicyVersion(version=seen.version, content_hash=seen.content_hash, adoption=seen.adoption,
                                first_seen_at=workflow.now(), seen_by=seen.seen_by)
        self.state.versions.append(version)
        # Even the first version recorded: cases may have opened under an older file before any report.
        if seen.adoption == "adopt":
            self._to_notify.append(version)
            return f"{seen.policy_id}@v{seen.version} recorded; running cases will adopt it"
        return f"{seen.policy_id}@v{seen.version} recorded; pinned, running cases keep their version"

    @observe.validator
    def _check(self, seen: PolicySeen) -> None:
        latest = self._latest()
        if latest is None:
            return
        if seen.version < latest.version:
            raise ValueError(f"{seen.policy_id}@v{seen.version} is older than v{latest.version}, already in force")
        if seen.version == latest.version and seen.content_hash != latest.content_hash:
            raise ValueError(f"{seen.policy_id}@v{seen.version} changed (hash {seen.content_hash}, was"
                             f" {latest.content_hash}) without a new version number: raise `version`")

    @workflow.query
    def history(self) -> list[PolicyVersion]:
        return self.state.versions

    def _latest(self) -> PolicyVersion | None:
        return self.state.versions[-1] if self.state.versions else None
