"""What the workflow asks of the outside world and what it gets back: plain data, no I/O."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel
from temporalio.common import RetryPolicy

from domain.grouping import Ask
from domain.letters import LetterContext
from domain.policy import Insurer


class PermanentFailure(Exception):
    """An adapter failure that retrying cannot fix (unknown policy, broken template, refused address)."""


# How the workflow calls every adapter: retried with backoff (an SMTP relay or a court portal down for an
# hour delays a letter, it does not fail the case), except for a PermanentFailure. Retries at most 20 s apart:
# delivery resumes within about 20 s of a relay coming back (a retry is one log line, not a traceback).
ADAPTER_CALL = dict(
    start_to_close_timeout=dt.timedelta(seconds=60),
    retry_policy=RetryPolicy(
        initial_interval=dt.timedelta(seconds=1),
        maximum_interval=dt.timedelta(seconds=20),
        non_retryable_error_types=[PermanentFailure.__name__],
    ),
)

# An activity that is one call to the Temporal server (ask_account: a signal-with-start): an attempt lost with a
# SIGKILLed worker is given to another after 10 s, not after the 60 s an adapter may need (make chaos: every case of
# a killed worker waited a minute for it).
SERVER_CALL = {**ADAPTER_CALL, "start_to_close_timeout": dt.timedelta(seconds=10)}


# Activities that heartbeat while they run, and the silence after which Temporal gives their attempt to another
# worker (a worker killed or paused while sending is noticed in seconds, not at the 60 s start_to_close).
# Not in ADAPTER_CALL, which the case also gives to its local activity (no heartbeats there): the worker's
# interceptor (activities/heartbeats.py) adds it to these activities' calls. A timeout is no part of replay.
HEARTBEAT_TIMEOUTS = {"send_email": dt.timedelta(seconds=5)}


class PolicyRequest(BaseModel):
    policy_id: str
    at_least_version: int = 0  # a case told of a newer version waits until this worker sees it


class OutgoingEmail(BaseModel):
    key: str  # business identity (invoice : stage : step): the same key is never sent twice
    to: str
    letter: LetterContext
    attach_pdf: bool = False  # the policy attaches the letter, printed from its document template, as a PDF


class SentEmail(BaseModel):
    message_id: str
    subject: str
    already_sent: bool  # a retry found the key recorded as accepted by SMTP in the sent ledger


class SentLookup(BaseModel):
    key: str  # a message's business key: was it recorded as sent (ops answered `sent` to a review, say)?


class SentFound(BaseModel):
    state: str | None = None  # the ledger's: sent, review (held for ops), claimed, handing; None: never claimed
    message_id: str | None = None
    subject: str = ""


class DocumentRequest(BaseModel):
    key: str
    letter: LetterContext
    registered: bool = False  # a registered letter with acknowledgment (LRAR): it goes through `RegisteredMail`


class DocumentRef(BaseModel):
    path: str
    reference: str | None = None  # a registered letter's deposit number, when a provider sent it


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


class AccountAsk(BaseModel):
    """A case's ask, for the activity that signals it to its customer's account (starting the account if need be)."""

    debtor_id: str
    ask: Ask


class DropFolderReport(BaseModel):
    """What the daily sync did with the newest export of the drop folder."""

    file: str = ""  # "" when the folder held no export
    summary: dict[str, int] = {}
    rejected_rows: int = 0
    note: str = ""
