from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.script import ScriptError, ScriptEvent, format_script, parse_script


@pytest.mark.parametrize(
    ("text", "day", "action", "args"),
    [
        ("-4 pay full", -4, "pay", {"kind": "full"}),
        ("+8 pay 1234.56", 8, "pay", {"kind": "amount", "amount": "1234.56"}),
        ("+8 pay 1234,5", 8, "pay", {"kind": "amount", "amount": "1234.50"}),
        ("+8 pay 1300", 8, "pay", {"kind": "amount", "amount": "1300.00"}),
        ("+10 pay 50%", 10, "pay", {"kind": "percent", "percent": "50"}),
        ("+10 pay 33.5%", 10, "pay", {"kind": "percent", "percent": "33.5"}),
        ("+62 pay instalment", 62, "pay", {"kind": "instalment"}),
        ("+40 pay rest", 40, "pay", {"kind": "rest"}),
        ("60 PAY Full", 60, "pay", {"kind": "full"}),
        ("+5 dispute Livraison incomplète", 5, "dispute", {"reason": "Livraison incomplète"}),
        (
            "+5 dispute Livraison incomplète review +20",
            5,
            "dispute",
            {"reason": "Livraison incomplète", "review_days": "20"},
        ),
        ("+5 dispute Prix  erroné review 7", 5, "dispute", {"reason": "Prix erroné", "review_days": "7"}),
        ("+18 resolve", 18, "resolve", {"kind": "resume"}),
        ("+18 resolve credit 200.00", 18, "resolve", {"kind": "credit", "amount": "200.00"}),
        ("+18 resolve cancel", 18, "resolve", {"kind": "cancel"}),
        ("+32 plan 3 every 30", 32, "plan", {"count": "3", "every_days": "30"}),
        ("+75 court filed", 75, "court", {"step": "filed"}),
        ("+95 court order_issued", 95, "court", {"step": "order_issued"}),
        ("+110 court served", 110, "court", {"step": "served"}),
        ("+141 court no_opposition", 141, "court", {"step": "no_opposition"}),
        ("+120 court opposition", 120, "court", {"step": "opposition"}),
        ("+80 court rejected", 80, "court", {"step": "rejected"}),
        ("+75 small_claims sent", 75, "small_claims", {"step": "sent"}),
        ("+100 small_claims agreed", 100, "small_claims", {"step": "agreed"}),
        ("+100 small_claims refused", 100, "small_claims", {"step": "refused"}),
        ("+160 insurer acknowledged", 160, "insurer", {"step": "acknowledged"}),
        ("+300 insurer indemnified 28800.00", 300, "insurer", {"step": "indemnified", "amount": "28800.00"}),
        ("+400 insurer recovered", 400, "insurer", {"step": "recovered"}),
        ("+40 insolvency redressement", 40, "insolvency", {"kind": "redressement"}),
        ("+50 bodacc", 50, "bodacc", {}),
        ("+70 declaration declared", 70, "declaration", {"step": "declared"}),
    ],
)
def test_each_action_parses(text, day, action, args):
    assert parse_script(text) == [ScriptEvent(day=day, action=action, args=args)]


@pytest.mark.parametrize("text", ["", "   ", ";", " ; ;\n"])
def test_empty_script(text):
    assert parse_script(text) == []


def test_events_are_sorted_by_day_keeping_same_day_order():
    events = parse_script("+40 pay rest; -2 pay 10%; +40 court filed; +10 pay 50%;")
    assert [(e.day, e.action) for e in events] == [(-2, "pay"), (10, "pay"), (40, "pay"), (40, "court")]


def test_newlines_also_separate_events():
    assert [e.day for e in parse_script("+1 pay 10%\n+2 pay rest")] == [1, 2]


@pytest.mark.parametrize(
    ("text", "event", "why"),
    [
        ("pay full", "pay full", "day"),
        ("+3 pay full; soon pay rest", "soon pay rest", "day"),
        ("+3", "+3", "DAY ACTION"),
        ("+3 wire 100", "+3 wire 100", "unknown action"),
        ("+3 pay", "+3 pay", "pay takes"),
        ("+3 pay lots", "+3 pay lots", "not an amount"),
        ("+3 pay 12.345", "+3 pay 12.345", "not an amount"),
        ("+3 pay 0", "+3 pay 0", "positive"),
        ("+3 pay 0%", "+3 pay 0%", "above 0"),
        ("+3 pay 150%", "+3 pay 150%", "at most 100"),
        ("+3 dispute", "+3 dispute", "reason"),
        ("+3 dispute review +10", "+3 dispute review +10", "reason"),
        ("+3 dispute Prix review 0", "+3 dispute Prix review 0", "review days"),
        ("+3 resolve later", "+3 resolve later", "resolve takes"),
        ("+3 resolve credit", "+3 resolve credit", "resolve takes"),
        ("+3 plan 3", "+3 plan 3", "plan N every D"),
        ("+3 plan 0 every 30", "+3 plan 0 every 30", "instalment count"),
        ("+3 court appeal", "+3 court appeal", "unknown court step"),
        ("+3 small_claims maybe", "+3 small_claims maybe", "unknown small_claims step"),
        ("+3 insurer indemnified", "+3 insurer indemnified", "AMOUNT"),
        ("+3 insurer paid", "+3 insurer paid", "unknown insurer step"),
    ],
)
def test_errors_name_the_event_and_why(text, event, why):
    with pytest.raises(ScriptError) as caught:
        parse_script(text)
    assert caught.value.event == event
    assert why in caught.value.reason
    assert repr(event) in str(caught.value)


def test_script_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_script("+1 nothing")


def test_canonical_text_round_trips_every_action():
    text = (
        "-4 pay full; +1 pay 12.50; +2 pay 30%; +3 pay instalment; +4 pay rest; "
        "+5 dispute Livraison incomplète review +20; +6 dispute Prix; +7 resolve; +8 resolve credit 200.00; "
        "+9 resolve cancel; +10 plan 3 every 30; +11 court served; +12 small_claims agreed; "
        "+13 insurer indemnified 28800.00; +14 insurer recovered; +15 insolvency liquidation; +16 bodacc; "
        "+17 declaration admitted"
    )
    events = parse_script(text)
    assert format_script(events) == text
    assert parse_script(format_script(events)) == events


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2)


@given(day=st.integers(min_value=-400, max_value=4000), amount=amounts)
def test_pay_amount_round_trip(day, amount):
    [event] = parse_script(f"{day:+d} pay {amount}")
    assert event == ScriptEvent(day=day, action="pay", args={"kind": "amount", "amount": f"{amount:.2f}"})
    assert Decimal(event.args["amount"]) == amount
    assert parse_script(str(event)) == [event]


@given(st.lists(st.tuples(st.integers(min_value=-60, max_value=400), amounts), max_size=8))
def test_pay_amount_scripts_round_trip_in_day_order(pairs):
    text = "; ".join(f"{day:+d} pay {amount}" for day, amount in pairs)
    events = parse_script(text)
    assert [e.day for e in events] == sorted(day for day, _ in pairs)
    assert parse_script(format_script(events)) == events


def test_insolvency_events_name_what_is_wrong():
    with pytest.raises(ScriptError, match="unknown insolvency step 'faillite'; expected one of sauvegarde"):
        parse_script("+40 insolvency faillite")
    with pytest.raises(ScriptError, match="bodacc takes nothing"):
        parse_script("+40 bodacc 12/05/2026")
