"""What a debtor owes on one invoice at a date, computed from dated events only.

The account is a fold over what happened and when: the invoice fell due, payments and credit notes came in,
a payment plan held interest still for a while, an insolvency judgment stopped it. Penalties are counted in
exact days on the principal outstanding between those dates, one line per half-year and per change of base
or rate, each line rounded once; so the figures never depend on how often, or when, the case looked at them.
Payments are imputed in the policy's order (penalties always before principal, Code civil 1343-1); the €40
indemnity (D441-5) is a line like the others, which a payment can settle.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.letters import Allocation, PenaltyLine
from domain.money import ecb_rate_for
from domain.policy import Penalties

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_DAY = dt.timedelta(days=1)

Bucket = Literal["penalties", "indemnity", "principal"]
# Where each `payments.impute` setting puts the indemnity; penalties come first in all of them (1343-1).
IMPUTATION_ORDERS: dict[str, tuple[Bucket, ...]] = {
    "penalties_first": ("penalties", "indemnity", "principal"),
    "penalties_indemnity_principal": ("penalties", "indemnity", "principal"),
    "penalties_principal_indemnity": ("penalties", "principal", "indemnity"),
    "principal_first": ("principal", "penalties", "indemnity"),  # by agreement only; `rules check` warns
}


class Entry(BaseModel):
    """Money in, or taken off the invoice, on a date."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["payment", "credit_note", "write_off"]
    on: dt.date
    amount: Decimal = ZERO  # a write-off takes whatever remains
    reference: str = ""


class Period(BaseModel):
    """Days during which no penalty runs (a payment plan held), both ends included; open while `end` is None."""

    model_config = ConfigDict(frozen=True)

    start: dt.date
    end: dt.date | None = None


class Opening(BaseModel):
    """A balance carried from a case opened before accounts were kept as dated events: the starting point."""

    model_config = ConfigDict(frozen=True)

    principal: Decimal
    penalties: Decimal
    lines: list[PenaltyLine] = []
    accrued_through: dt.date


class Statement(BaseModel):
    """The account at `as_of`: every figure a letter, a task, a status or a claim prints."""

    model_config = ConfigDict(frozen=True)

    as_of: dt.date
    invoice_amount: Decimal
    penalty_lines: list[PenaltyLine]
    penalties_accrued: Decimal  # the lines' sum
    penalties_paid: Decimal
    indemnity_owed: Decimal  # what the law adds (0 when not late, or when an insolvency came first)
    indemnity_paid: Decimal
    principal_paid: Decimal
    credited: Decimal
    written_off: Decimal
    overpaid: Decimal
    allocations: list[Allocation]

    principal_due: Decimal
    penalties_due: Decimal
    indemnity_due: Decimal

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.penalties_due + self.indemnity_due

    @property
    def penalties_through(self) -> dt.date | None:
        return self.penalty_lines[-1].end if self.penalty_lines else None

    @property
    def payments(self) -> list[Allocation]:
        return [a for a in self.allocations if a.kind == "payment"]


class Account(BaseModel):
    """The dated facts an invoice's statement is computed from (kept in the case's state)."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    due_date: dt.date
    entries: list[Entry] = []
    interest_free: list[Period] = []
    interest_stops_after: dt.date | None = None  # an insolvency's opening judgment: the last day counted
    indemnity_applies: bool = True  # False when an insolvency opened before the due date (D441-5)
    opening: Opening | None = None


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def statement(account: Account, penalties: Penalties, impute: str, as_of: dt.date) -> Statement:
    """The account at the end of `as_of`, counting only entries dated up to it."""
    fold = _Fold(account, penalties)
    order = IMPUTATION_ORDERS[impute]
    for entry in sorted((e for e in account.entries if e.on <= as_of), key=lambda e: e.on):
        fold.accrue_through(entry.on)
        fold.apply(entry, order)
    fold.accrue_through(as_of)
    fold.close_line()
    return Statement(
        as_of=as_of, invoice_amount=account.amount, penalty_lines=fold.lines, penalties_accrued=fold.accrued(),
        penalties_paid=fold.penalties_paid, indemnity_owed=fold.indemnity_owed(as_of),
        indemnity_paid=fold.indemnity_paid, principal_paid=fold.principal_paid, credited=fold.credited,
        written_off=fold.written_off, overpaid=fold.overpaid, allocations=fold.allocations,
        principal_due=fold.principal, penalties_due=fold.penalties_due(),
        indemnity_due=fold.indemnity_due(as_of),
    )


class _Fold:
    """The running account while entries are applied in date order."""

    def __init__(self, account: Account, penalties: Penalties) -> None:
        self.account, self.rules = account, penalties
        opening = account.opening
        self.lines: list[PenaltyLine] = list(opening.lines) if opening else []
        self.booked = opening.penalties - sum((line.amount for line in self.lines), ZERO) if opening else ZERO
        self.principal = opening.principal if opening else account.amount
        # Legacy openings carry what was paid or credited before as a lower principal.
        self.principal_paid = account.amount - self.principal if opening else ZERO
        self.cursor = max(account.due_date, opening.accrued_through if opening else account.due_date) + _DAY
        self.open: list | None = None
        self.penalties_paid = self.indemnity_paid = self.credited = self.written_off = self.overpaid = ZERO
        self.allocations: list[Allocation] = []
        self.closed = False
        self.late: bool | None = None  # known once the due date is behind: was anything still unpaid then?

    # -------------------------------------------------------------- penalties

    def accrue_through(self, day: dt.date) -> None:
        if self.late is None and day > self.account.due_date:
            self.late = self.principal > 0
        stop = self.account.interest_stops_after
        end = min(day, stop) if stop is not None else day
        while self.cursor <= end and not self.closed:
            frozen = self._frozen_until(self.cursor)
            if frozen is not None:
                self.close_line()
                self.cursor = frozen + _DAY
                continue
            segment_end = min(end, _half_year_end(self.cursor), self._next_freeze_start(self.cursor) - _DAY)
            self._extend(self.cursor, segment_end)
            self.cursor = segment_end + _DAY

    def _extend(self, first: dt.date, last: dt.date) -> None:
        if self.principal <= 0:
            self.close_line()
            return
        rate = ecb_rate_for(first, self.rules) + self.rules.points_over_ecb
        line = self.open  # [start, end, days, base, rate]: a model is built once, when the line closes
        if line is None or line[3] != self.principal or line[4] != rate or line[1] + _DAY != first \
                or _half_year_end(line[0]) != _half_year_end(first):
            self.close_line()
            line = self.open = [first, first, 0, self.principal, rate]
        line[2] += (last - first).days + 1
        line[1] = last

    def _amount(self, base: Decimal, rate: Decimal, days: int) -> Decimal:
        return cents(base * rate / 100 * days / self.rules.days_in_year)

    def close_line(self) -> None:
        if self.open is not None:
            start, end, days, base, rate = self.open
            self.lines.append(PenaltyLine(start=start, end=end, days=days, base=base, rate_percent=rate,
                                          amount=self._amount(base, rate, days)))
            self.open = None

    def accrued(self) -> Decimal:
        running = self._amount(self.open[3], self.open[4], self.open[2]) if self.open else ZERO
        return self.booked + sum((line.amount for line in self.lines), ZERO) + running

    def _frozen_until(self, day: dt.date) -> dt.date | None:
        for period in self.account.interest_free:
            if period.start <= day and (period.end is None or day <= period.end):
                return period.end or dt.date.max - _DAY
        return None

    def _next_freeze_start(self, day: dt.date) -> dt.date:
        starts = [p.start for p in self.account.interest_free if p.start > day]
        return min(starts, default=dt.date.max)

    # -------------------------------------------------------------- entries

    def indemnity_owed(self, day: dt.date) -> Decimal:
        late = day > self.account.due_date and self.account.indemnity_applies and self.late is not False
        return self.rules.fixed_indemnity if late else ZERO

    def penalties_due(self) -> Decimal:
        return ZERO if self.closed else self.accrued() - self.penalties_paid

    def indemnity_due(self, day: dt.date) -> Decimal:
        return ZERO if self.closed else max(ZERO, self.indemnity_owed(day) - self.indemnity_paid)

    def apply(self, entry: Entry, order: tuple[Bucket, ...]) -> None:
        if self.closed:
            return
        if entry.kind == "credit_note":
            credit = min(entry.amount, self.principal)
            self._take_principal(credit)
            self.credited += credit
            self.allocations.append(Allocation(kind="credit_note", on=entry.on, amount=entry.amount,
                                               to_principal=credit, reference=entry.reference))
            return
        if entry.kind == "write_off":
            self.close_line()
            allocation = Allocation(
                kind="write_off", on=entry.on, amount=self._remaining_total(entry.on), reference=entry.reference,
                to_penalties=self.accrued() - self.penalties_paid,
                to_indemnity=self.indemnity_owed(entry.on) - self.indemnity_paid, to_principal=self.principal)
            self.written_off += allocation.amount
            self.allocations.append(allocation)
            self.principal = ZERO
            self.closed = True
            return
        remaining, taken = entry.amount, {}
        for bucket in order:
            owed = {"penalties": self.accrued() - self.penalties_paid,
                    "indemnity": self.indemnity_owed(entry.on) - self.indemnity_paid,
                    "principal": self.principal}[bucket]
            taken[bucket] = min(remaining, max(owed, ZERO))
            remaining -= taken[bucket]
        self.penalties_paid += taken["penalties"]
        self.indemnity_paid += taken["indemnity"]
        self._take_principal(taken["principal"])
        self.principal_paid += taken["principal"]
        self.overpaid += remaining
        self.allocations.append(Allocation(
            kind="payment", on=entry.on, amount=entry.amount, to_penalties=taken["penalties"],
            to_indemnity=taken["indemnity"], to_principal=taken["principal"], overpaid=remaining,
            reference=entry.reference))

    def _take_principal(self, amount: Decimal) -> None:
        if amount > 0:
            self.close_line()  # the base changes from the next day on
            self.principal -= amount

    def _remaining_total(self, day: dt.date) -> Decimal:
        return (self.accrued() - self.penalties_paid) + (self.indemnity_owed(day) - self.indemnity_paid) + self.principal


def _half_year_end(day: dt.date) -> dt.date:
    return dt.date(day.year, 6, 30) if day.month <= 6 else dt.date(day.year, 12, 31)
