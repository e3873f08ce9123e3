"""The activities a case calls: thin adapters from workflow requests to rules, SMTP, documents, court, insurer."""
from __future__ import annotations

from temporalio import activity

from activities.bank_checks import BankChecks
from activities.contracts import (
    ClaimReceipt, ClaimRequest, Dossier, DossierRequest, DocumentRef, DocumentRequest, OutgoingEmail, PolicyRequest,
    SentEmail,
)
from activities.court import CourtGateway
from activities.documents import DocumentStore
from activities.insurer import InsurerGateway
from activities.mail import Mailer
from activities.rendering import render_document, render_email
from activities.rules import RuleDirectory
from domain.policy import Policy


class CaseActivities:
    def __init__(self, rules: RuleDirectory, mailer: Mailer, documents: DocumentStore,
                 court: CourtGateway, insurer: InsurerGateway, bank: BankChecks | None = None) -> None:
        self.rules = rules
        self.mailer = mailer
        self.documents = documents
        self.court = court
        self.insurer = insurer
        self.bank = bank  # the bank store's probable credits (activities/bank_checks.py)

    @activity.defn
    async def load_policy(self, request: PolicyRequest) -> Policy:
        policy = await self.rules.get_off_loop(request.policy_id)  # a changed rule file is parsed off the loop
        if policy.version < request.at_least_version:
            # Retried by Temporal, possibly on another worker, until the rule files reach this one.
            raise LookupError(f"{policy.ref} here; v{request.at_least_version} was published and is not visible yet")
        return policy

    @activity.defn
    async def send_email(self, email: OutgoingEmail) -> SentEmail:
        return await self.mailer.send(email.key, email.to, render_email(email.letter))

    @activity.defn
    async def write_document(self, request: DocumentRequest) -> DocumentRef:
        html = render_document(request.letter)
        return DocumentRef(path=str(self.documents.write(request.letter.invoice.number, request.key, html)))

    @activity.defn
    async def prepare_dossier(self, request: DossierRequest) -> Dossier:
        return await self.court.prepare(request)

    @activity.defn
    async def file_insurer_claim(self, request: ClaimRequest) -> ClaimReceipt:
        return await self.insurer.file_claim(request)

    def all(self) -> list:
        return [self.load_policy, self.send_email, self.write_document, self.prepare_dossier, self.file_insurer_claim,
                *(self.bank.all() if self.bank is not None else [])]
