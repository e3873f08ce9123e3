"""Money the law adds to a late invoice, and how amounts and dates are printed (imputation: domain/statement.py).

Penalties follow Code de commerce L441-10: ECB rate of the half-year + points, tax-included base,
actual days late over a fixed year length, rounded to the cent per half-year line.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


from domain.letters import PenaltyLine
from domain.policy import Insurer, Penalties

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_ONE_DAY = dt.timedelta(days=1)


class MissingRate(ValueError):
    """The rates table has no ECB rate for a half-year: computing anyway would invent a rate."""


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _half_year(day: dt.date) -> tuple[dt.date, dt.date]:
    if day.month <= 6:
        return dt.date(day.year, 1, 1), dt.date(day.year, 6, 30)
    return dt.date(day.year, 7, 1), dt.date(day.year, 12, 31)


def ecb_rate_for(day: dt.date, penalties: Penalties) -> Decimal:
    """The ECB rate in force on 1 January or 1 July of `day`'s half-year (L441-10)."""
    start, _ = _half_year(day)
    in_force = [r.rate_percent for r in penalties.ecb_rates if r.effective <= start]  # sorted by Penalties
    if not in_force:
        half = "H1" if start.month == 1 else "H2"
        raise MissingRate(f"no ECB rate in force on {start.isoformat()} ({start.year}-{half}): add it to ecb_rates")
    return in_force[-1]


def penalty_lines(
    base: Decimal, due_date: dt.date, until: dt.date, penalties: Penalties, *, since: dt.date | None = None
) -> list[PenaltyLine]:
    """One line per half-year touched, for the days late from the day after the due date (or `since`) to `until`."""
    if until <= due_date or base <= 0:
        return []
    first = max(due_date + _ONE_DAY, since or due_date)
    lines: list[PenaltyLine] = []
    while first <= until:
        _, half_end = _half_year(first)
        last = min(half_end, until)
        days = (last - first).days + 1
        rate = ecb_rate_for(first, penalties) + penalties.points_over_ecb
        amount = _cents(base * rate / 100 * days / penalties.days_in_year)
        lines.append(PenaltyLine(start=first, end=last, days=days, base=base, rate_percent=rate, amount=amount))
        first = last + _ONE_DAY
    return lines


def late_penalties(
    base: Decimal, due_date: dt.date, until: dt.date, penalties: Penalties, *, since: dt.date | None = None
) -> Decimal:
    return sum((line.amount for line in penalty_lines(base, due_date, until, penalties, since=since)), ZERO)


def expected_insurer_indemnity(amount_excl_tax: Decimal, credit_limit: Decimal | None, insurer: Insurer) -> Decimal:
    """Cover applies to the amount excluding VAT, capped by the limit, times the quotité, less the franchise."""
    covered = amount_excl_tax if credit_limit is None else min(amount_excl_tax, credit_limit)
    return _cents(max(covered * insurer.cover_percent / 100 - insurer.deductible, Decimal(0)))


_NNBSP = "\u202f"  # narrow no-break space: French thousands separator
_NBSP = "\u00a0"  # keeps "€" on the same line as the amount

_MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}


def parse_amount(text: str) -> Decimal:
    """An amount as people type it: 1234.56, 1 234,56 (narrow or plain spaces). ValueError, in French, otherwise."""
    cleaned = text.strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as error:
        raise ValueError(f"{text!r} n'est pas un montant; écrire 1234.56 ou 1 234,56") from error
    if not amount.is_finite():
        raise ValueError(f"{text!r} n'est pas un montant; écrire 1234.56 ou 1 234,56")
    return amount


def parse_date(text: str) -> dt.date:
    """A date as people type it: DD/MM/YYYY or YYYY-MM-DD. ValueError, in French, otherwise."""
    try:
        if "/" in text:
            day, month, year = text.strip().split("/")
            return dt.date(int(year), int(month), int(day))
        return dt.date.fromisoformat(text.strip())
    except ValueError as error:
        raise ValueError(f"{text!r} n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ)") from error


def format_eur(amount: Decimal) -> str:
    """1 234,50 € with French separators, independent of the machine's locale."""
    if not amount.is_finite():
        raise ValueError(f"cannot print {amount} as an amount")
    cents = _cents(amount)
    digits = f"{abs(cents):,.2f}".replace(",", _NNBSP).replace(".", ",")
    sign = "-" if cents < 0 else ""  # no "-0,00 €" for a tiny negative that rounds to zero
    return f"{sign}{digits}{_NBSP}€"


def format_date_fr(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def format_date_long(day: dt.date, language: str) -> str:
    """22 novembre 2026 / 22 November 2026; French writes the first of the month "1er"."""
    try:
        month = _MONTHS[language][day.month - 1]
    except KeyError:
        raise ValueError(f"no month names for language {language!r}") from None
    number = "1er" if language == "fr" and day.day == 1 else str(day.day)
    return f"{number} {month} {day.year}"
