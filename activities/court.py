"""The court side: the injonction de payer request and the small-claims request, as PDFs for ops to file.

A court e-filing service can replace `PaperCourt` behind the same `prepare` method.
"""
from __future__ import annotations

from typing import Protocol

from activities.contracts import Dossier, DossierRequest
from activities.documents import DocumentStore
from activities.printing import Printer, print_letter


class CourtGateway(Protocol):
    async def prepare(self, request: DossierRequest) -> Dossier: ...


class PaperCourt:
    def __init__(self, documents: DocumentStore, printer: Printer) -> None:
        self.documents = documents
        self.printer = printer

    async def prepare(self, request: DossierRequest) -> Dossier:
        pdf = await print_letter(self.printer, request.letter)
        path = self.documents.write(request.letter.invoice.number, request.key, pdf)
        attached = [request.notice_document] if request.notice_document else []
        return Dossier(documents=[str(path), *attached])
