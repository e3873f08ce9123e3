"""The activities a case calls: thin adapters from workflow requests to SMTP, documents, court, insurer.

The policy comes from its registry (`activities.policy_source`); `rules` is this worker's rule folder, which
the watcher reports to the registry and which is read when the registry has nothing yet.
"""
from __future__ import annotations

import contextlib

from temporalio import activity

from activities.bank_checks import BankChecks
from activities.contracts import (
    ClaimReceipt, ClaimRequest, Dossier, DossierRequest, DocumentRef, DocumentRequest, OutgoingEmail, PermanentFailure,
    SentEmail, SentFound, SentLookup,
)
from activities.court import CourtGateway
from activities.disputed import disputed_left_out
from activities.documents import DocumentStore
from activities.insurer import InsurerGateway
from activities.mail import Mailer, PossibleDuplicate
from activities.printing import Printer, WeasyPrinter, as_attachment, print_letter
from activities.registered_mail import PostedByOps, RegisteredLetter, RegisteredMail
from activities.rendering import render_email
from activities.rules import RuleDirectory


class CaseActivities:
    def __init__(self, rules: RuleDirectory, mailer: Mailer, documents: DocumentStore,
                 court: CourtGateway, insurer: InsurerGateway, printer: Printer | None = None,
                 registered_mail: RegisteredMail | None = None, bank: BankChecks | None = None) -> None:
        self.rules = rules
        self.mailer = mailer
        self.documents = documents
        self.court = court
        self.insurer = insurer
        self.printer = printer or WeasyPrinter()
        self.registered_mail = registered_mail or PostedByOps(documents)
        self.bank = bank  # the bank store's probable credits (activities/bank_checks.py)

    @activity.defn
    async def send_email(self, email: OutgoingEmail) -> SentEmail:
        rendered = render_email(email.letter)
        if email.attach_pdf:  # the policy attaches the printed letter
            pdf = await print_letter(self.printer, email.letter)
            rendered = rendered.model_copy(update={"attachments": [as_attachment(email.letter, pdf)]})
        with _held_for_review_waits_for_ops():
            return await self.mailer.send(email.key, email.to, rendered)

    @activity.defn
    async def find_sent_email(self, lookup: SentLookup) -> SentFound:
        """What became of a message, sending nothing: a customer's message held for review, answered by ops or not."""
        return await self.mailer.find(lookup.key)

    @activity.defn
    async def write_document(self, request: DocumentRequest) -> DocumentRef:
        pdf = await print_letter(self.printer, request.letter)
        if request.registered:
            receipt = await self.registered_mail.send(RegisteredLetter(key=request.key, letter=request.letter, pdf=pdf))
            return DocumentRef(path=receipt.document, reference=receipt.reference)
        return DocumentRef(path=str(self.documents.write(request.letter.invoice.number, request.key, pdf)))

    @activity.defn
    async def prepare_dossier(self, request: DossierRequest) -> Dossier:
        return await self.court.prepare(request)

    @activity.defn
    async def file_insurer_claim(self, request: ClaimRequest) -> ClaimReceipt:
        letter = request.letter
        if letter.account_lines:  # a customer's notice: it names the disputed invoices it leaves out
            disputed = await disputed_left_out(activity.client(), activity.info().task_queue, letter)
            request = request.model_copy(update={"letter": letter.model_copy(update={"left_out": [*letter.left_out, *disputed]})})
        with _held_for_review_waits_for_ops():  # the claim goes to the insurer by email
            return await self.insurer.file_claim(request)

    def all(self) -> list:
        return [self.send_email, self.find_sent_email, self.write_document, self.prepare_dossier, self.file_insurer_claim,
                *(self.bank.all() if self.bank is not None else [])]


@contextlib.contextmanager
def _held_for_review_waits_for_ops():
    """A message held for review (RELANCE_MAIL_UNCONFIRMED=review: SMTP may have accepted it, the ledger never
    recorded it) waits for ops, which no retry can replace: the case records the failure, gives ops a task that
    says what to check and answer, and waits for `relance retry`, instead of retrying in silence."""
    try:
        yield
    except PossibleDuplicate as held:
        raise PermanentFailure(str(held)) from held
