"""Statements written the way banks write them, for tests and the examples: camt.053.001.02 and CFONB 120."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from xml.sax.saxutils import escape

from bank.cfonb120 import write_amount

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


@dataclasses.dataclass
class Line:
    ref: str
    amount: Decimal
    credit: bool = True
    booked: dt.date = dt.date(2027, 3, 10)
    value: dt.date | None = None
    name: str = ""
    iban: str = ""
    text: str = ""
    rf: str = ""
    e2e: str = "NOTPROVIDED"
    code: tuple[str, str, str] = ("PMNT", "RCDT", "ESCT")  # domain, family, sub-family
    reversal: bool = False
    return_reason: str = ""
    cfonb_code: str = "05"


def camt053(lines: list[Line], *, iban: str = "FR7630006000011234567890189", opening: Decimal = Decimal("10000.00"),
            day: dt.date = dt.date(2027, 3, 10), statement_id: str = "STMT-2027-03-10") -> str:
    closing = opening + sum((l.amount if l.credit else -l.amount for l in lines), Decimal("0"))

    def balance(code: str, amount: Decimal) -> str:
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{abs(amount):.2f}</Amt>"
                f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>")

    entries = []
    for l in lines:
        party = "Dbtr" if l.credit != l.reversal else "Cdtr"
        parties = ""
        if l.name or l.iban:
            parties = (f"<RltdPties>" + (f"<{party}><Nm>{escape(l.name)}</Nm></{party}>" if l.name else "")
                       + (f"<{party}Acct><Id><IBAN>{l.iban}</IBAN></Id></{party}Acct>" if l.iban else "") + "</RltdPties>")
        remittance = ""
        if l.text or l.rf:
            remittance = "<RmtInf>" + (f"<Ustrd>{escape(l.text)}</Ustrd>" if l.text else "")
            if l.rf:
                remittance += ("<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
                               f"<Ref>{escape(l.rf)}</Ref></CdtrRefInf></Strd>")
            remittance += "</RmtInf>"
        returned = f"<RtrInf><Rsn><Cd>{l.return_reason}</Cd></Rsn></RtrInf>" if l.return_reason else ""
        domain, family, sub = l.code
        entries.append(
            f"<Ntry><Amt Ccy=\"EUR\">{l.amount:.2f}</Amt><CdtDbtInd>{'CRDT' if l.credit else 'DBIT'}</CdtDbtInd>"
            + ("<RvslInd>true</RvslInd>" if l.reversal else "")
            + f"<Sts>BOOK</Sts><BookgDt><Dt>{l.booked}</Dt></BookgDt><ValDt><Dt>{l.value or l.booked}</Dt></ValDt>"
            f"<AcctSvcrRef>{escape(l.ref)}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><EndToEndId>{escape(l.e2e)}</EndToEndId></Refs>{parties}{remittance}{returned}"
            f"</TxDtls></NtryDtls></Ntry>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"{NS}\"><BkToCstmrStmt>"
            f"<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>{day}T06:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>{statement_id}</Id><CreDtTm>{day}T06:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
            f"{balance('OPBD', opening)}{balance('CLBD', closing)}{''.join(entries)}</Stmt></BkToCstmrStmt></Document>\n")


def cfonb120(lines: list[Line], *, bank: str = "30006", branch: str = "00001", account: str = "12345678901",
             opening: Decimal = Decimal("10000.00"), day: dt.date = dt.date(2027, 3, 10)) -> str:
    """Records 01, then each movement (04) with its 05 details, then 07, each exactly 120 characters."""
    def record(code: str, internal: str, rest: str) -> str:
        line = f"{code}{bank}{internal:<4}{branch}EUR2 {account}{rest}"
        assert len(line) <= 120, line
        return line.ljust(120)

    def balance(code: str, amount: Decimal) -> str:
        return record(code, "", f"  {day:%d%m%y}{'':50}{write_amount(amount)}{'':16}")

    out = [balance("01", opening)]
    total = opening
    for n, l in enumerate(lines, start=1):
        signed = l.amount if l.credit else -l.amount
        total += signed
        label = (("VIR " if l.credit else "") + (l.name or l.text))[:31]
        out.append(record("04", "0117", f"{l.cfonb_code:<2}{l.booked:%d%m%y}{l.return_reason[:2]:<2}{(l.value or l.booked):%d%m%y}"
                                        f"{label:<31}  {n:07d}  {write_amount(signed)}{l.ref[:16]:<16}"))
        details = [("NPY", l.name), ("IPY", l.iban), ("LIB", l.text), ("LCS", l.rf), ("RCN", l.e2e)]
        for qualifier, text in details:
            for start in range(0, len(text), 70):
                out.append(record("05", "0117", f"{l.cfonb_code:<2}{l.booked:%d%m%y}{'':5}{qualifier}{text[start:start + 70]:<70}"))
    out.append(balance("07", total))
    return "\r\n".join(out) + "\r\n"
