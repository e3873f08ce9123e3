import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.money import (
    MissingRate,
    ecb_rate_for,
    expected_insurer_indemnity,
    format_date_fr,
    format_date_long,
    format_eur,
    late_penalties,
    penalty_lines,
)
from domain.policy import Insurer, Penalties

D = dt.date
ONE_DAY = dt.timedelta(days=1)

# The table of rules/default.yaml.
PENALTIES = Penalties.model_validate({
    "points_over_ecb": "10",
    "fixed_indemnity": "40.00",
    "days_in_year": 365,
    "ecb_rates": [
        {"effective": "2024-01-01", "rate_percent": "4.50"},
        {"effective": "2024-07-01", "rate_percent": "4.25"},
        {"effective": "2025-01-01", "rate_percent": "3.15"},
        {"effective": "2025-07-01", "rate_percent": "2.15"},
        {"effective": "2026-01-01", "rate_percent": "2.15"},
        {"effective": "2026-07-01", "rate_percent": "2.15"},
    ],
})


def insurer(cover="90", deductible="0.00") -> Insurer:
    return Insurer.model_validate({
        "name": "Assureur-crédit", "claims_email": "sinistres@assureur.example",
        "max_credit_period_days": 120, "filing_window_days": 30, "extension_days": 60,
        "file_days_before_deadline": 10, "cover_percent": cover, "deductible": deductible,
        "waiting_period_months": 5,
    })


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2)
covered_dates = st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31))


# --- ECB rate ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "day, rate",
    [(D(2024, 1, 1), "4.50"), (D(2024, 6, 30), "4.50"), (D(2024, 7, 1), "4.25"), (D(2024, 12, 31), "4.25"),
     (D(2025, 3, 10), "3.15"), (D(2025, 9, 1), "2.15"), (D(2031, 2, 1), "2.15")],
)
def test_ecb_rate_is_the_one_in_force_at_the_half_year_start(day, rate):
    assert ecb_rate_for(day, PENALTIES) == Decimal(rate)


def test_rate_changed_mid_half_year_waits_for_the_next_half_year():
    table = PENALTIES.model_copy(update={"ecb_rates": [
        *PENALTIES.ecb_rates, PENALTIES.ecb_rates[0].model_copy(update={"effective": D(2027, 3, 1),
                                                                        "rate_percent": Decimal("5")})]})
    assert ecb_rate_for(D(2027, 5, 1), table) == Decimal("2.15")
    assert ecb_rate_for(D(2027, 7, 1), table) == Decimal("5")


def test_missing_rate_names_the_half_year():
    with pytest.raises(MissingRate, match="2023-07-01"):
        ecb_rate_for(D(2023, 12, 31), PENALTIES)
    assert issubclass(MissingRate, ValueError)


# --- penalties ---------------------------------------------------------------------------------

def test_penalties_crossing_1_july_use_two_rates():
    # Due 15 June 2025, paid 10 July 2025, €10,000 incl. VAT.
    # 16-30 June: 15 days at 3.15 + 10 = 13.15 %: 10000 * 0.1315 * 15 / 365 = 54.0410... -> 54.04
    # 1-10 July:  10 days at 2.15 + 10 = 12.15 %: 10000 * 0.1215 * 10 / 365 = 33.2876... -> 33.29
    lines = penalty_lines(Decimal("10000"), D(2025, 6, 15), D(2025, 7, 10), PENALTIES)
    assert [(l.start, l.end, l.days, l.rate_percent, l.amount) for l in lines] == [
        (D(2025, 6, 16), D(2025, 6, 30), 15, Decimal("13.15"), Decimal("54.04")),
        (D(2025, 7, 1), D(2025, 7, 10), 10, Decimal("12.15"), Decimal("33.29")),
    ]
    assert all(l.base == Decimal("10000") for l in lines)
    assert late_penalties(Decimal("10000"), D(2025, 6, 15), D(2025, 7, 10), PENALTIES) == Decimal("87.33")


def test_one_day_late_counts_one_day():
    # 3650 * 12.15 % * 1 / 365 = 1.215
    lines = penalty_lines(Decimal("3650"), D(2026, 3, 1), D(2026, 3, 2), PENALTIES)
    assert [(l.start, l.days, l.amount) for l in lines] == [(D(2026, 3, 2), 1, Decimal("1.22"))]


def test_line_amounts_round_half_up():
    # 3650 * 12.15 % * 3 / 365 = 3.645 exactly: half-up gives 3.65 (banker's rounding would give 3.64).
    assert late_penalties(Decimal("3650"), D(2026, 3, 1), D(2026, 3, 4), PENALTIES) == Decimal("3.65")


def test_no_penalties_on_or_before_the_due_date_or_for_nothing_owed():
    assert penalty_lines(Decimal("1000"), D(2026, 3, 1), D(2026, 3, 1), PENALTIES) == []
    assert penalty_lines(Decimal("1000"), D(2026, 3, 1), D(2026, 2, 1), PENALTIES) == []
    assert penalty_lines(Decimal("0"), D(2026, 3, 1), D(2026, 4, 1), PENALTIES) == []
    assert late_penalties(Decimal("-5"), D(2026, 3, 1), D(2026, 4, 1), PENALTIES) == Decimal("0.00")


def test_since_starts_the_count_later_but_never_before_the_due_date():
    whole = penalty_lines(Decimal("1000"), D(2026, 3, 1), D(2026, 3, 31), PENALTIES)
    assert (whole[0].start, whole[0].days) == (D(2026, 3, 2), 30)
    later = penalty_lines(Decimal("1000"), D(2026, 3, 1), D(2026, 3, 31), PENALTIES, since=D(2026, 3, 22))
    assert (later[0].start, later[0].days) == (D(2026, 3, 22), 10)
    early = penalty_lines(Decimal("1000"), D(2026, 3, 1), D(2026, 3, 31), PENALTIES, since=D(2026, 1, 1))
    assert early == whole
    assert penalty_lines(Decimal("1000"), D(2026, 3, 1), D(2026, 3, 31), PENALTIES, since=D(2026, 4, 1)) == []


def test_a_year_late_gives_one_line_per_half_year():
    lines = penalty_lines(Decimal("1000"), D(2024, 5, 31), D(2025, 8, 15), PENALTIES)
    assert [(l.start, l.end) for l in lines] == [
        (D(2024, 6, 1), D(2024, 6, 30)), (D(2024, 7, 1), D(2024, 12, 31)),
        (D(2025, 1, 1), D(2025, 6, 30)), (D(2025, 7, 1), D(2025, 8, 15)),
    ]
    assert [l.rate_percent for l in lines] == [Decimal("14.50"), Decimal("14.25"), Decimal("13.15"), Decimal("12.15")]
    assert sum(l.days for l in lines) == (D(2025, 8, 15) - D(2024, 5, 31)).days


def test_period_before_the_rates_table_is_refused():
    with pytest.raises(MissingRate):
        late_penalties(Decimal("1000"), D(2023, 12, 1), D(2024, 1, 15), PENALTIES)


@given(money, covered_dates, covered_dates, covered_dates)
def test_penalties_are_additive_over_consecutive_windows(base, a, b, c):
    # Sorted rather than filtered: three independent dates are out of order two times in three, which
    # made hypothesis' filter health check fail at random.
    due_date, mid, until = sorted((a, b, c))
    assume(due_date < mid)
    first = penalty_lines(base, due_date, mid, PENALTIES)
    second = penalty_lines(base, due_date, until, PENALTIES, since=mid + ONE_DAY)
    whole = penalty_lines(base, due_date, until, PENALTIES)
    assert sum(l.days for l in first + second) == sum(l.days for l in whole) == (until - due_date).days
    # Each line is rounded on its own: at most half a cent per line either side.
    tolerance = Decimal("0.005") * (len(first) + len(second) + len(whole))
    parts = sum(l.amount for l in first + second)
    assert abs(parts - sum(l.amount for l in whole)) <= tolerance


@given(money, covered_dates, covered_dates)
def test_penalties_match_the_formula(base, a, b):
    due_date, until = sorted((a, b))  # sorted, not filtered (see above)
    assume(due_date < until)
    exact = sum(
        base * (ecb_rate_for(l.start, PENALTIES) + 10) / 100 * l.days / 365
        for l in penalty_lines(base, due_date, until, PENALTIES)
    )
    lines = penalty_lines(base, due_date, until, PENALTIES)
    assert abs(late_penalties(base, due_date, until, PENALTIES) - exact) <= Decimal("0.005") * len(lines)


# --- insurer indemnity -------------------------------------------------------------------------

def test_indemnity_is_capped_by_the_credit_limit():
    assert expected_insurer_indemnity(Decimal("50000"), Decimal("30000"), insurer()) == Decimal("27000.00")


def test_indemnity_without_limit_and_with_deductible():
    result = expected_insurer_indemnity(Decimal("12345.67"), None, insurer(cover="85", deductible="1000"))
    assert result == Decimal("9493.82")  # 12345.67 * 0.85 = 10493.8195 -> -1000 -> 9493.82


def test_indemnity_never_negative():
    assert expected_insurer_indemnity(Decimal("500"), None, insurer(deductible="1000")) == Decimal("0.00")
    assert expected_insurer_indemnity(Decimal("500"), Decimal("0"), insurer()) == Decimal("0.00")


@given(money, money, st.decimals(min_value=1, max_value=100, places=2), money | st.just(Decimal("0")))
def test_indemnity_never_exceeds_limit_times_cover(amount, limit, cover, deductible):
    ins = insurer(cover=str(cover), deductible=str(deductible))
    result = expected_insurer_indemnity(amount, limit, ins)
    ceiling = (min(amount, limit) * cover / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal("0") <= result <= ceiling
    assert result <= (limit * cover / 100) + Decimal("0.005")


# --- formatting --------------------------------------------------------------------------------

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    "amount, text",
    [("1234.5", f"1{NNBSP}234,50{NBSP}€"),
     ("0", f"0,00{NBSP}€"),
     ("999", f"999,00{NBSP}€"),
     ("1234567.891", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
     ("0.005", f"0,01{NBSP}€"),
     ("-1234.5", f"-1{NNBSP}234,50{NBSP}€"),
     ("-0.001", f"0,00{NBSP}€")],
)
def test_format_eur(amount, text):
    assert format_eur(Decimal(amount)) == text


def test_format_eur_refuses_nan():
    with pytest.raises(ValueError):
        format_eur(Decimal("NaN"))


def test_format_dates():
    assert format_date_fr(D(2026, 11, 22)) == "22/11/2026"
    assert format_date_fr(D(2026, 1, 5)) == "05/01/2026"
    assert format_date_long(D(2026, 11, 22), "fr") == "22 novembre 2026"
    assert format_date_long(D(2026, 8, 15), "fr") == "15 août 2026"
    assert format_date_long(D(2026, 2, 1), "fr") == "1er février 2026"
    assert format_date_long(D(2026, 11, 22), "en") == "22 November 2026"
    assert format_date_long(D(2026, 2, 1), "en") == "1 February 2026"
    with pytest.raises(ValueError):
        format_date_long(D(2026, 2, 1), "de")
