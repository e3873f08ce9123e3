"""What a decision costs: the pure functions a case calls each time it plans its next step, timed with timeit.

No Temporal here. The policy is the shipped `rules/default.yaml`; each figure is microseconds per call, the
median of the repeats (each repeat runs the call as many times as timeit's autorange picks for ~0.2 s).
"""
from __future__ import annotations

import datetime as dt
import statistics
import timeit
from decimal import Decimal

from bench import scenarios
from bench.procs import ROOT


def calls() -> dict[str, tuple[str, callable]]:
    from domain.money import penalty_lines
    from domain.rule_file import load_policy_file
    from domain.schedule import choose_escalation, sending_moment, step_day

    policy = load_policy_file(ROOT / "rules" / "default.yaml")
    today = dt.date(2026, 5, 4)
    small = scenarios.invoice("DEC-1", today + dt.timedelta(days=20), today)  # uninsured, 1 200 EUR
    insured = scenarios.invoice("DEC-2", today + dt.timedelta(days=20), today, scenarios.BY_NAME["insurer"])
    due = dt.date(2026, 5, 15)
    saturday = dt.date(2026, 8, 15)  # a Saturday and a public holiday: the sending moves to Monday
    return {
        "choose_escalation": ("rule evaluation, last rule matches (every condition of every rule tried)",
                              lambda: choose_escalation(policy.escalation, small, small.amount_incl_tax)),
        "choose_escalation_first": ("rule evaluation, first rule matches",
                                    lambda: choose_escalation(policy.escalation, insured, insured.amount_incl_tax)),
        "sending_moment": ("a step's sending moment on a working day",
                           lambda: sending_moment(dt.date(2026, 6, 10), policy.calendar)),
        "sending_moment_weekend": ("a step's sending moment moved past a weekend and holiday",
                                   lambda: sending_moment(saturday, policy.calendar)),
        "step_day": ("a ladder step's nominal date", lambda: step_day(small, 30, 0)),
        "penalty_lines": ("penalties for 60 days late, across a half-year (2 lines)",
                          lambda: penalty_lines(Decimal("1200.00"), due, due + dt.timedelta(days=60), policy.penalties)),
    }


def autorange(timer: timeit.Timer, budget: float) -> int:
    """Like `Timer.autorange`, for any time budget: how many calls make one repeat of about `budget` seconds."""
    number = 1
    while True:
        seconds = timer.timeit(number)
        if seconds >= budget:
            return number
        number = max(number * 2, int(number * budget / max(seconds, 1e-9) * 1.1))


def run(params: dict) -> dict:
    repeats = max(3, params.get("repeats", 3))
    out = {}
    for name, (what, call) in calls().items():
        timer = timeit.Timer(call)
        number = autorange(timer, params.get("budget", 0.2))
        per_call = [seconds / number * 1e6 for seconds in timer.repeat(repeat=repeats, number=number)]
        out[name] = {"what": what, "us_median": statistics.median(per_call), "us_min": min(per_call),
                     "us_max": max(per_call), "number": number, "repeats": repeats}
    return out
