"""The registered letter with acknowledgment of receipt (*lettre recommandée avec accusé de réception*, LRAR): the
proof of a mise en demeure that courts expect.

`RegisteredMail.send` takes the printed letter. The default, `PostedByOps`, writes the PDF under the documents
folder, and the case gives ops a task to post it (`notice:lrar`, which the decision core raises with the letter).
An electronic registered mail provider (*lettre recommandée électronique*, or a print-and-post service) plugs in
behind the same method: it deposits the PDF and returns its deposit reference, which the case's audit line keeps
beside the document.
"""
from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from activities.documents import DocumentStore
from domain.letters import LetterContext


class RegisteredLetter(BaseModel):
    key: str  # business identity: a provider must deposit one letter per key, however often it is asked
    letter: LetterContext
    pdf: bytes


class RegisteredReceipt(BaseModel):
    document: str  # where the PDF sent is kept
    reference: str | None = None  # the provider's deposit number; None when ops post it themselves


class RegisteredMail(Protocol):
    async def send(self, letter: RegisteredLetter) -> RegisteredReceipt: ...


class PostedByOps:
    """Writes the letter for ops to print and post as an LRAR (the case's `notice:lrar` task asks them to)."""

    def __init__(self, documents: DocumentStore) -> None:
        self.documents = documents

    async def send(self, letter: RegisteredLetter) -> RegisteredReceipt:
        path = self.documents.write(letter.letter.invoice.number, letter.key, letter.pdf)
        return RegisteredReceipt(document=str(path))
