"""The activities a case calls: thin adapters from workflow requests to rules, SMTP, documents, court, insurer."""
from __future__ import annotations

from temporalio import activity

from activities.contracts import (
    ClaimReceipt, ClaimRequest, Dossier, DossierRequest, DocumentRef, DocumentRequest, OutgoingEmail, PolicyRequest,
    SentEmail,
)
from activities.court import CourtGateway
from activities.documents import DocumentStore
from activities.insurer import InsurerGateway
from activities.mail import Mailer
from activities.printing import Printer, WeasyPrinter, as_attachment, print_letter
from activities.registered_mail import PostedByOps, RegisteredLetter, RegisteredMail
from activities.rendering import render_email
from activities.rules import RuleDirectory
from domain.policy import Policy


class CaseActivities:
    def __init__(self, rules: RuleDirectory, mailer: Mailer, documents: DocumentStore,
                 court: CourtGateway, insurer: InsurerGateway, printer: Printer | None = None,
                 registered_mail: RegisteredMail | None = None) -> None:
        self.rules = rules
        self.mailer = mailer
        self.documents = documents
        self.court = court
        self.insurer = insurer
        self.printer = printer or WeasyPrinter()
        self.registered_mail = registered_mail or PostedByOps(documents)

    @activity.defn
    async def load_policy(self, request: PolicyRequest) -> Policy:
        policy = await self.rules.get_off_loop(request.policy_id)  # a changed rule file is parsed off the loop
        if policy.version < request.at_least_version:
            # Retried by Temporal, possibly on another worker, until the rule files reach this one.
            raise LookupError(f"{policy.ref} here; v{request.at_least_version} was published and is not visible yet")
        return policy

    @activity.defn
    async def send_email(self, email: OutgoingEmail) -> SentEmail:
        rendered = render_email(email.letter)
        if email.attach_pdf:  # the policy attaches the printed letter
            pdf = await print_letter(self.printer, email.letter)
            rendered = rendered.model_copy(update={"attachments": [as_attachment(email.letter, pdf)]})
        return await self.mailer.send(email.key, email.to, rendered)

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
        return await self.insurer.file_claim(request)

    def all(self) -> list:
        return [self.load_policy, self.send_email, self.write_document, self.prepare_dossier, self.file_insurer_claim]
