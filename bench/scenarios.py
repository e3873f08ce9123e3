"""The invoices and debtor behaviours the benchmark plays: one outcome per line, in `domain/script.py`'s grammar.

Every script ends with the event that closes the case, so each lifecycle ends with a completed workflow.
Amounts are explicit ("pay full", "pay 400.00") so that the driver never has to ask a case what is owed:
a query would be driver work the bare workflow does not have.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.invoice import Debtor, Invoice
from domain.script import ScriptEvent, parse_script

PARIS = ZoneInfo("Europe/Paris")
EVENT_HOUR = 12  # debtors act at noon, after the morning's sendings (relance.simulation does the same)
DUE_IN_DAYS = 20  # the first due date, from today: J-10 is still ahead, so no step is skipped
DUE_SPREAD = 5  # due dates spread over this many consecutive days


@dataclasses.dataclass(frozen=True)
class Outcome:
    name: str
    script: str
    amount: str = "1200.00"
    excl: str | None = None
    insured: bool = False
    credit_limit: str | None = None

    def events(self) -> list[ScriptEvent]:
        return parse_script(self.script)


OUTCOMES = [
    Outcome("paid_preventive", "-4 pay full"),  # after the J-10 courtesy reminder
    Outcome("paid_amicable", "+8 pay full"),  # after J+2
    Outcome("paid_firm", "+35 pay full"),  # after J+30 (email + call task)
    Outcome("paid_last", "+50 pay full"),  # after J+45
    Outcome("paid_notice", "+65 pay full"),  # after the mise en demeure (email, letter, LRAR task)
    Outcome("dispute", "+5 dispute Livraison incomplète review +20; +18 resolve; +30 pay full"),
    Outcome("plan", "+32 plan 3 every 30; +62 pay 400.00; +92 pay 400.00; +122 pay 400.00"),
    Outcome("insurer", "+160 insurer acknowledged; +300 insurer indemnified 18000.00",
            amount="24000.00", excl="20000.00", insured=True, credit_limit="50000.00"),
    Outcome("injonction", "+75 court filed; +95 court order_issued; +110 court served; +150 pay full",
            amount="9000.00"),
    Outcome("small_claims", "+75 small_claims sent; +100 small_claims agreed; +110 pay full"),
]
BY_NAME = {o.name: o for o in OUTCOMES}


def invoice(number: str, due: dt.date, today: dt.date, outcome: Outcome | None = None) -> Invoice:
    o = outcome or OUTCOMES[0]
    return Invoice(
        number=number,
        debtor=Debtor(debtor_id=f"D-{number}", name="Dupont & Fils SARL", email=f"ap-{number}@client.example",
                      insured=o.insured, address="5 rue des Lilas, 75011 Paris",
                      credit_limit=Decimal(o.credit_limit) if o.credit_limit else None),
        issue_date=min(due - dt.timedelta(days=30), today), due_date=due, amount_incl_tax=Decimal(o.amount),
        amount_excl_tax=Decimal(o.excl) if o.excl else None,
    )


@dataclasses.dataclass(frozen=True)
class Case:
    invoice: Invoice
    outcome: Outcome
    spread: int  # which of the DUE_SPREAD due dates

    @property
    def klass(self) -> str:
        """Cases of one class have the same history shape: same outcome, same due date."""
        return f"{self.outcome.name}@{self.spread}"


def mix(n: int, today: dt.date, tag: str) -> list[Case]:
    """`n` cases, the outcomes in turn, due dates spread over DUE_SPREAD days from today + DUE_IN_DAYS."""
    cases = []
    for i in range(n):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        spread = (i // len(OUTCOMES)) % DUE_SPREAD
        due = today + dt.timedelta(days=DUE_IN_DAYS + spread)
        cases.append(Case(invoice(f"{tag}-{i:06d}", due, today, outcome), outcome, spread))
    return cases


def moment(invoice: Invoice, event: ScriptEvent) -> dt.datetime:
    day = invoice.due_date + dt.timedelta(days=event.day)
    return dt.datetime.combine(day, dt.time(EVENT_HOUR), tzinfo=PARIS).astimezone(dt.timezone.utc)


def paris_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(PARIS).date()
