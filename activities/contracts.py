"""What the workflow asks of the outside world and what it gets back: plain data, no I/O."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel
from temporalio.common import RetryPolicy

from domain.letters import LetterContext
from domain.policy import Insurer


class PermanentFailure(Exception):
    """An adapter failure that retrying cannot fix (unknown policy, broken template, refused address)."""


# How the workflow calls every adapter: retried with backoff (an SMTP relay or a court portal down for an
# hour delays a letter, it does not fail the case), except for a PermanentFailure.
ADAPTER_CALL = dict(
    start_to_close_timeout=dt.timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=dt.timedelta(seconds=1),
        maximum_interval=dt.timedelta(minutes=10),
        non_retryable_error_types=[PermanentFailure.__name__],
    ),
)


class PolicyRequest(BaseModel):
    policy_id: str
    at_least_version: int = 0  # a case told of a newer version waits until this worker sees it


class OutgoingEmail(BaseModel):
    key: str  # business identity (invoice : stage : step): the same key is never sent twice
    to: str
    letter: LetterContext


class SentEmail(BaseModel):
    message_id: str
    subject: str
    already_sent: bool  # a retry found the key in the sent ledger


class DocumentRequest(BaseModel):
    key: str
    letter: LetterContext


class DocumentRef(BaseModel):
    path: str


class DossierRequest(BaseModel):
    key: str
    route: Literal["injonction", "small_claims"]
    letter: LetterContext
    notice_document: str | None


class Dossier(BaseModel):
    documents: list[str]


class ClaimRequest(BaseModel):
    key: str
    insurer: Insurer
    letter: LetterContext


class ClaimReceipt(BaseModel):
    reference: str
    documents: list[str]
    message_id: str
