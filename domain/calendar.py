"""French working days and procedural deadlines (CPC 641, 642).

Two different questions live here: *may we send today?* (company policy, `Calendar.business_days_only`)
and *when does a legal deadline end?* (the law, which always skips weekends and public holidays).
"""
from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
from functools import lru_cache

from domain.policy import Calendar

_ONE_DAY = dt.timedelta(days=1)


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (anonymous algorithm, Meeus/Butcher): three holidays hang off it."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@lru_cache(maxsize=None)
def french_public_holidays(year: int) -> frozenset[dt.date]:
    """The 11 national holidays (Code du travail L3133-1).

    A frozenset: Ascension sometimes falls on 1 or 8 May, so a year can have only 10 distinct dates.
    """
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [easter + dt.timedelta(days=n) for n in (1, 39, 50)]  # Easter Monday, Ascension, Whit Monday
    return frozenset([dt.date(year, m, d) for m, d in fixed] + movable)


@lru_cache(maxsize=None)
def public_holidays(year: int, region: str) -> frozenset[dt.date]:
    """National holidays, plus Good Friday and 26 December in Alsace-Moselle (Code du travail L3134-13)."""
    national = french_public_holidays(year)
    if region != "alsace-moselle":
        return national
    return national | {easter_sunday(year) - dt.timedelta(days=2), dt.date(year, 12, 26)}


def _is_legal_working_day(day: dt.date, calendar: Calendar) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year, calendar.region)


def is_business_day(day: dt.date, calendar: Calendar) -> bool:
    """Monday to Friday, not a French public holiday, not a day the company declared closed."""
    return _is_legal_working_day(day, calendar) and day not in calendar.extra_closed_days


def next_business_day(day: dt.date, calendar: Calendar) -> dt.date:
    """When a reminder may go out: `day` or the next business day, unless the policy sends any day."""
    if not calendar.business_days_only:
        return day
    while not is_business_day(day, calendar):
        day += _ONE_DAY
    return day


def previous_business_day(day: dt.date, calendar: Calendar) -> dt.date:
    """For a step that must arrive before a due date: `day` or the working day before it."""
    if not calendar.business_days_only:
        return day
    while not is_business_day(day, calendar):
        day -= dt.timedelta(days=1)
    return day


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day number `months` later; a missing day (31 Jan + 1) becomes the month's last day (CPC 641)."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    last = _stdlib_calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def procedural_deadline(start: dt.date, *, days: int = 0, months: int = 0, calendar: Calendar) -> dt.date:
    """Last day of a legal deadline running from `start` (CPC 641, 642).

    The starting day does not count; months are counted before days (CPC 641 al. 3); an end on a
    Saturday, Sunday or public holiday moves to the next working day (CPC 642). This is law, not sending
    policy: `business_days_only` is ignored, and so are the company's own closures (`extra_closed_days`),
    which do not extend a legal deadline: counting them would put the end after the real one.
    """
    if days < 0 or months < 0 or days == months == 0:
        raise ValueError(f"a deadline needs a positive length, got days={days} months={months}")
    end = add_months(start, months) + dt.timedelta(days=days)
    while not _is_legal_working_day(end, calendar):
        end += _ONE_DAY
    return end
