"""The credit-insurer side: filing the threat-of-loss notice (déclaration de menace de sinistre).

The default writes the claim file and emails the insurer's claims address from the rules; an insurer's
API can replace `EmailInsurer` behind the same `file_claim` method.
"""
from __future__ import annotations

import json
from typing import Protocol

from activities.contracts import ClaimReceipt, ClaimRequest
from activities.documents import DocumentStore
from activities.mail import Mailer
from activities.printing import Printer, as_attachment, print_letter
from activities.rendering import render_email


class InsurerGateway(Protocol):
    async def file_claim(self, request: ClaimRequest) -> ClaimReceipt: ...


class EmailInsurer:
    def __init__(self, documents: DocumentStore, mailer: Mailer, printer: Printer) -> None:
        self.documents = documents
        self.mailer = mailer
        self.printer = printer

    async def file_claim(self, request: ClaimRequest) -> ClaimReceipt:
        letter = request.letter
        number = letter.invoice.number
        pdf = await print_letter(self.printer, letter)
        claim_file = self.documents.write(number, request.key, pdf)
        summary = self.documents.write(number, request.key, json.dumps({
            "insurer": request.insurer.name,
            "debtor": letter.invoice.debtor.model_dump(mode="json"),
            "invoice": number,
            "due_date": letter.invoice.due_date.isoformat(),
            "amount_incl_tax": str(letter.invoice.amount_incl_tax),
            "amount_excl_tax": str(letter.invoice.amount_excl_tax),
            "principal_due": str(letter.principal_due),
            "expected_indemnity": str(letter.expected_indemnity),
            # A customer's notice (grouping per_debtor): every invoice it covers, and those left out with why.
            "invoices": [{"number": line.number, "due_date": line.due_date.isoformat(),
                          "amount_excl_tax": str(line.amount_excl_tax), "principal_due": str(line.principal_due)}
                         for line in letter.account_lines],
            "left_out": letter.left_out,
        }, indent=2, ensure_ascii=False), suffix=".json")
        email = render_email(letter)
        if request.insurer.attach_claim_file:
            email = email.model_copy(update={"attachments": [as_attachment(letter, pdf)]})
        sent = await self.mailer.send(request.key, request.insurer.claims_email, email)
        return ClaimReceipt(reference=f"DMS-{number}", documents=[str(claim_file), str(summary)],
                            message_id=sent.message_id)
