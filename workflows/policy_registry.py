"""One registry per policy: the versions in force, their validated content, the reports it refused, and the
wake-up of running cases.

Content-addressed: each version names its content by the hash of its rule text, and the registry carries that
parsed, validated content under the hash. Workers read the policy from here (`activities.policy_source`), never
from their own rule files, so two workers whose files differ still run the same version, and a version published
from a folder no worker has is read like any other. What the registry refuses (an older version, a changed
file that kept its version number, a rule file that does not validate) changes nothing: the version in force
stays, and the refusal is recorded with its reason, in French, for `relance rules history`.
"""
from __future__ import annotations

import datetime as dt

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.fleet import FleetActivities
    from domain.policy import Policy
    from domain.versions import (
        NotifyRequest, Observed, PolicyRefusal, PolicySeen, PolicyVersion, RefusedFile, RegistryState,
    )

# What the registry carries across continue-as-new: cases keep the content they run under in their own state, so
# only recent versions' content is read from here (new cases read the latest).
KEPT_CONTENTS = 10
KEPT_REFUSALS = 50
# The version in force and its content, in the registry's memo: the server answers a describe of it without any
# worker, so a worker whose every workflow-task slot holds a case waiting for its policy still reads it.
MEMO_REF, MEMO_CONTENT = "in_force", "in_force_content"
CARRIES_CONTENT = "registry-carries-content"  # patch id: registries recorded before the memo existed


def registry_id(task_queue: str, policy_id: str) -> str:
    """One registry per policy and deployment: two installations may share a namespace, not a task queue."""
    return f"relance-policy/{task_queue}/{policy_id}"


@workflow.defn
class PolicyRegistry:
    @workflow.init
    def __init__(self, state: RegistryState) -> None:
        self.state = state
        self._to_notify: list[PolicyVersion] = []
        self._memo_behind = self._in_force_content() is not None  # a new run (continue-as-new) shows it again

    @workflow.run
    async def run(self, state: RegistryState) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._to_notify) or self._memo_behind or workflow.info().is_continue_as_new_suggested())
            if self._memo_behind:
                # Only content sets this flag: histories recorded before the registry carried content never
                # get here, and `patched` (memoized for the run) is first asked live, where it answers True.
                self._memo_behind = False
                if workflow.patched(CARRIES_CONTENT):
                    workflow.upsert_memo({MEMO_REF: self._latest(), MEMO_CONTENT: self._in_force_content()})
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

    # ------------------------------------------------------------------ reports from readers

    @workflow.update
    def observe(self, seen: PolicySeen) -> Observed:
        ref = f"{seen.policy_id}@v{seen.version}"
        latest = self._latest()
        if latest is not None and seen.version < latest.version:
            return self._refuse(seen.seen_by, ref, f"refusée : plus ancienne que la v{latest.version} en vigueur")
        if latest is not None and seen.version == latest.version:
            if seen.content_hash != latest.content_hash:
                return self._refuse(seen.seen_by, ref, (
                    f"refusée : contenu modifié (empreinte {seen.content_hash}, en vigueur {latest.content_hash})"
                    " sans nouveau numéro de version ; augmentez `version`"))
            if seen.policy is not None and latest.content_hash not in self.state.contents:
                self._keep(seen.policy)  # a version recorded before the registry carried content
                return Observed(accepted=True, message=f"{ref} déjà connue ; contenu enregistré")
            return Observed(accepted=True, message=f"{ref} déjà connue")
        version = PolicyVersion(version=seen.version, content_hash=seen.content_hash, adoption=seen.adoption,
                                first_seen_at=workflow.now(), seen_by=seen.seen_by)
        self.state.versions.append(version)
        if seen.policy is not None:
            self._keep(seen.policy)
        # Even the first version recorded: cases may have opened under an older file before any report.
        if seen.adoption == "adopt":
            self._to_notify.append(version)
            return Observed(accepted=True, message=f"{ref} enregistrée ; les dossiers en cours l'adopteront")
        return Observed(accepted=True, message=f"{ref} enregistrée ; épinglée, les dossiers en cours gardent leur version")

    @observe.validator
    def _check_seen(self, seen: PolicySeen) -> None:
        self._check_policy_id(seen.policy_id)
        policy = seen.policy
        if policy is not None and (policy.policy_id, policy.version, policy.content_hash, policy.adoption) != (
                seen.policy_id, seen.version, seen.content_hash, seen.adoption):
            raise ValueError(f"{seen.policy_id}@v{seen.version} : le contenu joint ne correspond pas à la version"
                             f" annoncée ({policy.ref}, empreinte {policy.content_hash})")
        if policy is not None and not policy.content_hash:
            raise ValueError(f"{policy.ref} : contenu sans empreinte (lu d'un fichier de règles, il en aurait une)")

    @workflow.update
    def refuse_file(self, refused: RefusedFile) -> Observed:
        """A rule file that does not validate: recorded with why, and nothing else changes."""
        return self._refuse(refused.seen_by, refused.source, "refusé : " + " ; ".join(refused.problems))

    @refuse_file.validator
    def _check_refused(self, refused: RefusedFile) -> None:
        self._check_policy_id(refused.policy_id)

    # ------------------------------------------------------------------ reads

    @workflow.query
    def history(self) -> list[PolicyVersion]:
        return self.state.versions

    @workflow.query
    def in_force(self) -> PolicyVersion | None:
        """The version new cases open under and running adopting cases move to: the latest recorded."""
        return self._latest()

    @workflow.query
    def content(self, content_hash: str) -> Policy | None:
        return self.state.contents.get(content_hash)

    @workflow.query
    def refusals(self) -> list[PolicyRefusal]:
        return self.state.refusals

    # ------------------------------------------------------------------ state

    def _latest(self) -> PolicyVersion | None:
        return self.state.versions[-1] if self.state.versions else None

    def _in_force_content(self) -> Policy | None:
        latest = self._latest()
        return self.state.contents.get(latest.content_hash) if latest else None

    def _keep(self, policy: Policy) -> None:
        self._memo_behind = True
        self.state.contents[policy.content_hash] = policy
        recent = {v.content_hash for v in self.state.versions[-KEPT_CONTENTS:]}
        self.state.contents = {h: p for h, p in self.state.contents.items() if h in recent}

    def _refuse(self, seen_by: str, source: str, reason: str) -> Observed:
        latest = self._latest()
        kept = f"{self.state.policy_id}@v{latest.version}" if latest else None
        self.state.refusals = [*self.state.refusals, PolicyRefusal(
            at=workflow.now(), seen_by=seen_by, source=source, reason=reason, kept=kept)][-KEPT_REFUSALS:]
        stays = f" ; {kept} reste en vigueur" if kept else " ; aucune version en vigueur"
        return Observed(accepted=False, message=f"{source} : {reason}{stays}")

    def _check_policy_id(self, policy_id: str) -> None:
        if policy_id != self.state.policy_id:
            raise ValueError(f"ce registre tient la politique {self.state.policy_id!r}, pas {policy_id!r}")
