"""ISO 20022 camt.053 (BkToCstmrStmt), read through pycamt, a maintained parser of versions 001.02 to 001.12.

pycamt gives one row per transaction (NtryDtls/TxDtls), with the entry's fields (AcctSvcrRef, CdtDbtInd,
RvslInd, BookgDt, ValDt, BkTxCd) repeated on each: an entry that batches several transactions gets one reference
per transaction (`AcctSvcrRef/1`, `/2`...).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bank.entries import BankEntry, Kind, StatementError, fallback_ref

# ISO 20022 bank transaction codes (ExternalBankTransaction*Code). Families of money received from customers:
# credit transfers, cheques, direct debits collected, lockbox.
CUSTOMER_FAMILIES = {"RCDT", "RCHQ", "IDDT", "RDDT", "LBOX", "CNTR"}
# Sub-families of a debit that takes back a customer's payment: unpaid cheque, unpaid or returned direct debit,
# returned credit transfer, reversal.
RETURN_SUBFAMILIES = {"UPCQ", "UPDD", "RRTN", "ARET", "RPCR", "PRDD", "CQRV"}
FEE_SUBFAMILIES = {"CHRG", "COMM", "COMI", "COME", "FEES", "TAXE", "INTR", "ADJT", "COMT"}


def _parser():
    """pycamt's parser, reading also each transaction's return reason (TxDtls/RtrInf/Rsn: Cd, or Prtry)."""
    from pycamt.parser import Camt053Parser

    class Parser(Camt053Parser):
        def _extract_transaction_details(self, tx_detail):
            data = super()._extract_transaction_details(tx_detail)
            reason = (self._find_text(tx_detail, ".//RtrInf/Rsn/Cd") or self._find_text(tx_detail, ".//RtrInf/Rsn/Prtry"))
            data["ReturnReason"] = (reason or "").strip()
            return data

    return Parser


def read(path: Path) -> list[BankEntry]:
    try:
        parser = _parser().from_file(path)
        rows = parser.get_transactions()
    except Exception as error:  # pycamt raises lxml's and its own errors: one message naming the file
        raise StatementError(f"{path.name}: relevé CAMT.053 illisible: {error}") from error
    entries, seen = [], {}
    for n, row in enumerate(rows, start=1):
        base = row.get("TransactionID") or ""
        seen[base] = seen.get(base, 0) + 1
        entries.append((base, seen[base], n, row))
    return [_entry(path, base, rank if seen[base] > 1 else 0, n, row) for base, rank, n, row in entries]


def _entry(path: Path, base: str, rank: int, n: int, row: dict) -> BankEntry:
    where = f"{path.name}, écriture {n}"
    amount = _amount(row.get("Amount"), where)
    booked = _date(row.get("BookingDate") or row.get("ValueDate"), where, "BookgDt")
    value = _date(row.get("ValueDate") or row.get("BookingDate"), where, "ValDt")
    family, sub = row.get("TransactionFamilyCode") or "", row.get("TransactionSubFamilyCode") or ""
    remittance = " ".join(filter(None, (row.get("RemittanceInformationFull"), row.get("AdditionalRemittanceInformation"))))
    reference = _structured_reference(row)
    ref = base or fallback_ref(path.name, row.get("AccountIBAN"), booked, amount, row.get("EndToEndId"), remittance)
    return BankEntry(
        ref=f"{ref}/{rank}" if rank else ref, account=row.get("AccountIBAN") or "",
        kind=_kind(row.get("CreditDebitIndicator"), (row.get("ReversalIndicator") or "").lower() == "true",
                   row.get("BankTransactionCode") or "", family, sub, where),
        amount=amount, currency=row.get("Currency") or "EUR", booked_on=booked, value_on=value,
        # The customer: the debtor of money received; on money going back (a return), the bank may name them as the
        # creditor instead.
        name=(row.get("DebtorName") or row.get("CreditorName") or "").strip(),
        iban=(row.get("DebtorIBAN") or row.get("CreditorIBAN") or "").strip(),
        remittance=remittance.strip() or (row.get("AdditionalEntryInformation") or "").strip(),
        creditor_reference=reference.strip(), end_to_end=(row.get("EndToEndId") or "").strip(),
        bank_code="/".join(filter(None, (row.get("BankTransactionCode"), family, sub))),
        return_reason=row.get("ReturnReason") or "",
    )


def _structured_reference(row: dict) -> str:
    """pycamt puts the structured reference (Strd/CdtrRefInf/Ref) in RemittanceInformation, in place of the first
    Ustrd, which stays at the head of RemittanceInformationFull: that is how the two are told apart."""
    first, full = (row.get("RemittanceInformation") or "").strip(), row.get("RemittanceInformationFull") or ""
    return first if first and not full.startswith(first) else ""


def _kind(indicator: str | None, reversal: bool, domain: str, family: str, sub: str, where: str) -> Kind:
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(f"{where}: CdtDbtInd vaut {indicator!r}, attendu CRDT ou DBIT")
    if indicator == "DBIT":
        if reversal or sub in RETURN_SUBFAMILIES:
            return "return"
        return "fee" if sub in FEE_SUBFAMILIES or domain == "ACMT" else "debit"
    if reversal or (domain and domain != "PMNT") or (family and family not in CUSTOMER_FAMILIES) or sub in FEE_SUBFAMILIES:
        return "other"  # interest, a reversed debit of ours, an internal transfer: not a customer's payment
    return "credit"


def _amount(text: str | None, where: str) -> Decimal:
    try:
        amount = Decimal(text or "")
    except InvalidOperation:
        raise StatementError(f"{where}: montant {text!r} illisible") from None
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:
        raise StatementError(f"{where}: montant {text!r} invalide (positif, deux décimales au plus)")
    return amount


def _date(text: str | None, where: str, element: str) -> dt.date:
    try:
        return dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        raise StatementError(f"{where}: date {element} {text!r} illisible") from None
