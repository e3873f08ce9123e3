"""One line of a bank statement, whatever format it came in, and what relance makes of it."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.matching import Credit

# Why an entry is not a customer's payment: counted and shown by `relance bank import`, never matched.
Kind = Literal["credit", "return", "debit", "fee", "other"]


class BankEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str  # the bank's reference (AcctSvcrRef, or the CFONB entry number): an entry is recorded once
    account: str
    kind: Kind
    amount: Decimal  # positive; `kind` says which way it went
    currency: str = "EUR"
    booked_on: dt.date
    value_on: dt.date
    name: str = ""  # the payer (Dbtr/Nm, NPY)
    iban: str = ""  # the payer's account (DbtrAcct/Id/IBAN)
    remittance: str = ""  # free text (Ustrd, LIB and the label)
    creditor_reference: str = ""  # structured (Strd/CdtrRefInf/Ref, RF...)
    end_to_end: str = ""
    bank_code: str = ""  # the bank's transaction code, as written (PMNT/RCDT/ESCT, CFONB 05...)
    return_reason: str = ""  # a returned payment's reason code (AC04, a CFONB rejection code)

    def credit(self) -> Credit:
        return Credit(ref=self.ref, amount=self.amount, value_date=self.value_on, name=self.name, iban=self.iban,
                      remittance=self.remittance, creditor_reference=self.creditor_reference)


def fallback_ref(*parts: object) -> str:
    """A reference for an entry the bank gave none: the same line read twice gets the same one."""
    return "H" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


class StatementError(ValueError):
    """A statement that cannot be read, said in French with the line or element at fault."""
