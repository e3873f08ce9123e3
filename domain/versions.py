"""Policy versions as the registry records them, and the notice a running case receives."""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class PolicySeen(BaseModel):
    policy_id: str
    version: int
    content_hash: str
    adoption: str
    seen_by: str = ""  # which worker or command read the file


class PolicyVersion(BaseModel):
    version: int
    content_hash: str
    adoption: str
    first_seen_at: dt.datetime
    seen_by: str
    cases_notified: int | None = None  # None until the running cases were told


class RegistryState(BaseModel):
    policy_id: str
    versions: list[PolicyVersion] = []


class PolicyNotice(BaseModel):
    """Sent to running cases: a newer version of their policy is in force."""

    policy_id: str
    version: int


class NotifyRequest(BaseModel):
    policy_id: str
    version: int
    batch_size: int = 200
