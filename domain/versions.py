"""Policy versions as the registry records them, the content it carries, and the notice a running case receives.

The registry is content-addressed: each version names its content by the hash of the rule text it was parsed
from, and the registry keeps that parsed content under that hash. Workers and cases read the policy from the
registry by reference, never each from their own rule files, so every worker runs the same content.
"""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from domain.policy import Policy


class PolicySeen(BaseModel):
    policy_id: str
    version: int
    content_hash: str
    adoption: str
    seen_by: str = ""  # which worker or command read the file
    # The validated content itself. None only in reports recorded before the registry carried content.
    policy: Policy | None = None


def seen(policy: Policy, seen_by: str) -> PolicySeen:
    return PolicySeen(policy_id=policy.policy_id, version=policy.version, content_hash=policy.content_hash,
                      adoption=policy.adoption, seen_by=seen_by, policy=policy)


class PolicyVersion(BaseModel):
    version: int
    content_hash: str  # the reference to its content in RegistryState.contents
    adoption: str
    first_seen_at: dt.datetime
    seen_by: str
    cases_notified: int | None = None  # None until the running cases were told


class PolicyRefusal(BaseModel):
    """A version or a rule file the registry did not take, and why (in French, for ops)."""

    at: dt.datetime
    seen_by: str
    source: str  # the rule file, or the version reported
    reason: str
    kept: str | None  # the version still in force, if any


class RefusedFile(BaseModel):
    """A rule file that does not validate, as a reader reports it: nothing of it reaches the registry but why."""

    policy_id: str
    source: str
    problems: list[str]
    seen_by: str = ""


class Observed(BaseModel):
    """The registry's answer to a report."""

    accepted: bool
    message: str


class RegistryState(BaseModel):
    policy_id: str
    versions: list[PolicyVersion] = []
    contents: dict[str, Policy] = {}  # content hash -> the exact parsed content
    refusals: list[PolicyRefusal] = []  # the latest ones, most recent last


class PolicyNotice(BaseModel):
    """Sent to running cases: a newer version of their policy is in force."""

    policy_id: str
    version: int


class NotifyRequest(BaseModel):
    policy_id: str
    version: int
    batch_size: int = 200
