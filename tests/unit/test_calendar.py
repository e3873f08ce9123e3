import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import (
    add_months,
    easter_sunday,
    french_public_holidays,
    is_business_day,
    next_business_day,
    procedural_deadline,
)
from domain.policy import Calendar

D = dt.date
FR = Calendar()
ANY_DAY = Calendar(business_days_only=False)
wide_dates = st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 12, 31))


# --- public holidays ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "year, easter",
    [(2019, D(2019, 4, 21)), (2024, D(2024, 3, 31)), (2025, D(2025, 4, 20)), (2026, D(2026, 4, 5)),
     (2038, D(2038, 4, 25)), (2285, D(2285, 3, 22)), (1818, D(1818, 3, 22))],
)
def test_easter_known_dates(year, easter):
    assert easter_sunday(year) == easter


def test_holidays_2026():
    assert french_public_holidays(2026) == {
        D(2026, 1, 1), D(2026, 4, 6), D(2026, 5, 1), D(2026, 5, 8), D(2026, 5, 14), D(2026, 5, 25),
        D(2026, 7, 14), D(2026, 8, 15), D(2026, 11, 1), D(2026, 11, 11), D(2026, 12, 25),
    }


def test_holidays_2025_movable_feasts():
    holidays = french_public_holidays(2025)
    assert {D(2025, 4, 21), D(2025, 5, 29), D(2025, 6, 9)} <= holidays
    assert D(2025, 4, 18) not in holidays  # Good Friday is only an Alsace-Moselle holiday


def test_ascension_on_may_day_collapses_to_ten_dates():
    # Easter 23 March 2008 puts Ascension on 1 May.
    assert D(2008, 5, 1) in french_public_holidays(2008)
    assert len(french_public_holidays(2008)) == 10


@given(st.integers(min_value=1583, max_value=4000))
def test_movable_feasts_fall_on_their_weekday_and_window(year):
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert D(year, 3, 22) <= easter <= D(year, 4, 25)
    holidays = french_public_holidays(year)
    assert easter + dt.timedelta(days=1) in holidays and easter + dt.timedelta(days=39) in holidays
    assert all(h.year == year for h in holidays)


# --- business days -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "day, expected",
    [(D(2026, 11, 23), True),  # Monday
     (D(2026, 11, 21), False),  # Saturday
     (D(2026, 11, 22), False),  # Sunday
     (D(2026, 4, 6), False),  # Easter Monday
     (D(2026, 5, 14), False),  # Ascension
     (D(2026, 5, 15), True),  # the Friday after Ascension is not a holiday
     (D(2026, 12, 25), False)],
)
def test_is_business_day(day, expected):
    assert is_business_day(day, FR) is expected


def test_extra_closed_day_is_not_a_business_day():
    closed = Calendar(extra_closed_days=[D(2026, 12, 24)])
    assert is_business_day(D(2026, 12, 24), FR)
    assert not is_business_day(D(2026, 12, 24), closed)
    assert next_business_day(D(2026, 12, 24), closed) == D(2026, 12, 28)


def test_next_business_day_known_values():
    assert next_business_day(D(2026, 12, 25), FR) == D(2026, 12, 28)  # Friday holiday, then weekend
    assert next_business_day(D(2026, 4, 4), FR) == D(2026, 4, 7)  # Saturday before Easter Monday
    assert next_business_day(D(2026, 11, 23), FR) == D(2026, 11, 23)  # already a business day


def test_next_business_day_unrestricted_policy_keeps_the_day():
    assert next_business_day(D(2026, 12, 25), ANY_DAY) == D(2026, 12, 25)
    assert next_business_day(D(2026, 11, 22), ANY_DAY) == D(2026, 11, 22)


@given(wide_dates)
def test_next_business_day_is_the_first_business_day_on_or_after(day):
    result = next_business_day(day, FR)
    assert is_business_day(result, FR)
    # At worst a holiday Friday 8 May, a weekend and Whit Monday 11 May: 4 days.
    assert day <= result <= day + dt.timedelta(days=4)
    skipped = [day + dt.timedelta(days=n) for n in range((result - day).days)]
    assert not any(is_business_day(d, FR) for d in skipped)


@given(wide_dates, st.lists(wide_dates, max_size=10))
def test_next_business_day_avoids_extra_closed_days(day, closed):
    result = next_business_day(day, Calendar(extra_closed_days=closed))
    assert result >= day and result not in closed and is_business_day(result, FR)


# --- months and deadlines ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "day, months, expected",
    [(D(2026, 1, 31), 1, D(2026, 2, 28)),
     (D(2024, 1, 31), 1, D(2024, 2, 29)),
     (D(2026, 3, 31), -1, D(2026, 2, 28)),
     (D(2026, 11, 15), 3, D(2027, 2, 15)),
     (D(2026, 12, 31), 6, D(2027, 6, 30)),
     (D(2026, 8, 31), 0, D(2026, 8, 31)),
     (D(2026, 1, 15), 24, D(2028, 1, 15))],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


@given(wide_dates, st.integers(min_value=-120, max_value=120))
def test_add_months_lands_in_the_right_month(day, months):
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == day.day or (result.day < day.day and (result + dt.timedelta(days=1)).day == 1)


def test_day_deadline_does_not_count_the_starting_day():
    # Notice received Monday 2 March 2026, 8 days: ends Tuesday 10 March.
    assert procedural_deadline(D(2026, 3, 2), days=8, calendar=FR) == D(2026, 3, 10)


def test_deadline_on_a_holiday_moves_even_when_sending_is_unrestricted():
    assert procedural_deadline(D(2026, 12, 17), days=8, calendar=FR) == D(2026, 12, 28)
    assert procedural_deadline(D(2026, 12, 17), days=8, calendar=ANY_DAY) == D(2026, 12, 28)


def test_month_deadline_from_31_january():
    # 28 Feb 2026 is a Saturday: the deadline moves to Monday 2 March.
    assert procedural_deadline(D(2026, 1, 31), months=1, calendar=FR) == D(2026, 3, 2)
    # 29 Feb 2024 is a Thursday: it stands.
    assert procedural_deadline(D(2024, 1, 31), months=1, calendar=FR) == D(2024, 2, 29)


def test_six_month_service_deadline():
    # Ordonnance dated 15 May 2026: 15 Nov 2026 is a Sunday, so service is due by Monday 16 Nov.
    assert procedural_deadline(D(2026, 5, 15), months=6, calendar=FR) == D(2026, 11, 16)


def test_months_are_counted_before_days():
    # 30 Jan 2025 + 1 month = 28 Feb, + 1 day = Sat 1 March -> Mon 3 March.
    # (Days first would give 31 Jan + 1 month = Fri 28 Feb.)
    assert procedural_deadline(D(2025, 1, 30), months=1, days=1, calendar=FR) == D(2025, 3, 3)


def test_company_closures_do_not_extend_a_legal_deadline():
    # The supplier closing on the last day does not give the debtor (or the supplier) a day more.
    closed = Calendar(extra_closed_days=[D(2026, 3, 10)])
    assert not is_business_day(D(2026, 3, 10), closed)
    assert procedural_deadline(D(2026, 3, 2), days=8, calendar=closed) == D(2026, 3, 10)


ALSACE_MOSELLE = Calendar(region="alsace-moselle")


def test_alsace_moselle_adds_good_friday_and_saint_stephen():
    assert not is_business_day(D(2026, 4, 3), ALSACE_MOSELLE) and is_business_day(D(2026, 4, 3), FR)
    assert not is_business_day(D(2025, 12, 26), ALSACE_MOSELLE) and is_business_day(D(2025, 12, 26), FR)
    # A deadline ending on Good Friday 3 April 2026 runs to Tuesday 7 April (Easter Monday between).
    assert procedural_deadline(D(2026, 3, 26), days=8, calendar=ALSACE_MOSELLE) == D(2026, 4, 7)
    assert procedural_deadline(D(2026, 3, 26), days=8, calendar=FR) == D(2026, 4, 3)


@pytest.mark.parametrize("days, months", [(0, 0), (-1, 0), (0, -1)])
def test_deadline_needs_a_positive_length(days, months):
    with pytest.raises(ValueError):
        procedural_deadline(D(2026, 3, 2), days=days, months=months, calendar=FR)


@given(wide_dates, st.integers(min_value=1, max_value=60), st.booleans())
def test_day_deadline_is_the_first_working_day_from_start_plus_days(start, days, business_days_only):
    result = procedural_deadline(start, days=days, calendar=Calendar(business_days_only=business_days_only))
    assert result == next_business_day(start + dt.timedelta(days=days), FR)


@given(wide_dates, st.integers(min_value=1, max_value=60), st.lists(wide_dates, max_size=30))
def test_legal_deadlines_ignore_company_closures(start, days, closures):
    closed = Calendar(extra_closed_days=closures)
    assert procedural_deadline(start, days=days, calendar=closed) == procedural_deadline(start, days=days, calendar=FR)
