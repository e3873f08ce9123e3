"""Opening a case for an invoice that has a past: imported late, and perhaps already reminded, under a mise en
demeure, in court, with the insurer, disputed or partly paid.

`prior_steps` puts the case where its history says, each step recorded as done before relance (nothing of it is
sent again), and every deadline then counts from the real dates: the planner (`domain.decisions`) finds a lapsed
one in the past and acts on it at once. `catch_up` chooses the first thing a late invoice gets: the reminder that
matches its age rather than every one it missed, never one it is too late for, not before the day the import's
daily cap gave it (`CatchUpDays`), and not too soon after a message its history says went out.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

from domain import account
from domain.case import Dispute, TrackedStep
from domain.money import expected_insurer_indemnity
from domain.money import format_eur as eur
from domain.policy import Policy, Reminder, Stage
from domain.prior import PriorHistory
from domain.calendar import next_business_day
from domain.schedule import choose_escalation, local_date, sending_moment, step_day
from domain.statement import Entry

IMPORT_RULE = "import"  # the rule id of the audit lines written from an invoice's history
BEFORE = "Fait avant relance"


def prior_problems(prior: PriorHistory, policy: Policy, issue_date: dt.date, today: dt.date) -> list[tuple[str, str]]:
    """(field, why) for what the history cannot mean under `policy` on `today`: checked at the door."""
    problems = []
    if prior.last_reminder and prior.last_reminder not in [r.id for r in policy.reminders]:
        known = ", ".join(r.id for r in policy.reminders)
        problems.append(("last_reminder", f"unknown reminder {prior.last_reminder!r} of policy {policy.policy_id}"
                                          f" (known: {known})"))
    for field, day in prior.dates().items():
        if day > today:
            problems.append((field, f"{day} is after today ({today})"))
        elif day < issue_date:
            problems.append((field, f"{day} is before the invoice date ({issue_date})"))
    return problems


def prior_steps(work, prior: PriorHistory) -> bool:
    """The case where its history puts it; `work` is a `decisions.Work` opening the case. True when what was
    paid before settles the invoice: the caller closes the case."""
    s, policy = work.s, work.policy
    if prior.paid:
        account.book(s, Entry(kind="payment", on=prior.paid_on, amount=prior.paid, reference=BEFORE))
        current = account.refresh(s, policy, work.today)
        work.record("payment", f"payment:{s.paid_total}", IMPORT_RULE,
                    f"{BEFORE} : règlement de {eur(prior.paid)} reçu le {prior.paid_on:%d/%m/%Y}")
        if account.settled(s, policy, current):
            return True
    beyond_reminders = prior.notice_sent_on or prior.court_filed_on or prior.insurer_filed_on
    if prior.last_reminder or beyond_reminders:
        last = len(policy.reminders) if beyond_reminders else [r.id for r in policy.reminders].index(prior.last_reminder) + 1
        for reminder in policy.reminders[:last]:
            _done_before(work, f"reminder:{reminder.id}", reminder.id,
                         f"relance {reminder.id} envoyée le {prior.last_reminder_on:%d/%m/%Y}"
                         if reminder.id == prior.last_reminder else f"relance {reminder.id}")
    if beyond_reminders:
        notice = policy.formal_notice
        _done_before(work, "notice", notice.id, f"mise en demeure envoyée le {prior.notice_sent_on:%d/%m/%Y}"
                     if prior.notice_sent_on else "mise en demeure (date inconnue)")
        s.notice_sent_on = prior.notice_sent_on or prior.court_filed_on or prior.insurer_filed_on
        s.stage = Stage.formal_notice
    if prior.court_filed_on:
        _path(work, "injonction", Stage.injonction)
        for name, on in (("filed", prior.court_filed_on), ("order_issued", prior.order_issued_on),
                         ("served", prior.order_served_on)):
            if on is not None:
                s.procedure.append(TrackedStep(name=name, on=on))
                work.record("court", f"court:{name}", s.path_rule, f"{BEFORE} : {_COURT_WORDS[name]} le {on:%d/%m/%Y}")
    elif prior.insurer_filed_on:
        _path(work, "insurer_claim", Stage.insurer_claim)
        s.expected_indemnity = expected_insurer_indemnity(account.covered_excl_tax(s), s.invoice.debtor.credit_limit,
                                                          policy.insurer)
        s.procedure.append(TrackedStep(name="filed", on=prior.insurer_filed_on))
        work.record("insurer", "insurer:file", s.path_rule, f"{BEFORE} : menace de sinistre déclarée à "
                                                            f"{policy.insurer.name} le {prior.insurer_filed_on:%d/%m/%Y}")
    if prior.dispute_reason:
        opened = dt.datetime.combine(prior.dispute_opened_on, dt.time(12), tzinfo=dt.timezone.utc)
        review_by = max(prior.dispute_opened_on + dt.timedelta(days=policy.disputes.default_review_days), work.today)
        s.dispute = Dispute(reason=prior.dispute_reason, opened_at=opened, review_by=review_by)
        work.record("dispute", "dispute:open", "disputes", f"{BEFORE} : litige ouvert le "
                    f"{prior.dispute_opened_on:%d/%m/%Y} ({prior.dispute_reason}), revue le {review_by:%d/%m/%Y}")
    return False


_COURT_WORDS = {"filed": "requête en injonction de payer déposée", "order_issued": "ordonnance rendue",
                "served": "ordonnance signifiée"}


def _done_before(work, key: str, rule_id: str, what: str) -> None:
    if key not in work.s.done:
        work.s.done.append(key)
        work.record("done_before", key, rule_id, f"{BEFORE} : {what}")


def _path(work, path: str, stage: Stage) -> None:
    s = work.s
    rule = choose_escalation(work.policy.escalation, s.invoice, s.principal)
    s.path, s.path_rule, s.stage = path, rule.id if rule is not None and rule.path == path else IMPORT_RULE, stage
    _done_before(work, "escalate", s.path_rule, f"voie {path}")


# ---------------------------------------------------------------------- the first thing a late invoice gets

def catch_up(work, first_day: dt.date, prior: PriorHistory | None) -> None:
    """Skip what the invoice is too late for, keep the reminder that matches its age, and move the ladder so
    that its next step comes on `first_day` at the earliest (and some days after the last message received)."""
    s, policy, today = work.s, work.policy, work.today
    _lapsed_insurer_filing(work)
    passed = [r for r in _pending(s, policy) if step_day(s.invoice, r.offset_days, s.shift_days) < today]
    overdue = today > s.invoice.due_date
    # A courtesy reminder before the due date is too late once it has passed; of the overdue reminders passed,
    # the last says where the invoice stands, the earlier ones would only repeat it.
    matching = [r for r in passed if r.offset_days >= 0][-1:] if overdue else []
    work.skip_reminders(f"Rattrapage ({policy.catch_up.id}) : étape dépassée à l'ouverture du dossier",
                        lambda r: r in passed and r not in matching)
    earliest = max(first_day, today)
    if prior is not None and prior.last_message_on is not None:
        earliest = max(earliest, prior.last_message_on + dt.timedelta(days=policy.catch_up.days_after_last_message))
    shift = 0
    # Whole days until the next step goes out on `earliest` or after: a courtesy reminder moved onto a weekend
    # goes out the working day before, so the sending day is what is compared, not the nominal one.
    while (day := _next_ladder_day(s, policy, shift)) is not None and day < earliest:
        shift += max(1, (earliest - day).days)
    if shift:
        s.shift_days += shift
        work.record("skipped", "catch-up", policy.catch_up.id,
                    f"Rattrapage : calendrier décalé de {shift} jours, prochaine étape le {day:%d/%m/%Y}")


def _lapsed_insurer_filing(work) -> None:
    """The one deadline the planner does not watch before escalating: filed late, the claim is not covered."""
    s, policy = work.s, work.policy
    if not s.invoice.debtor.insured or s.path is not None or s.stage is Stage.closed:
        return
    deadline = account.insurer_deadline(s, policy)
    if work.today > deadline:
        work.task("insurer:lapsed", "insurer",
                  f"Délai de déclaration de menace de sinistre à {policy.insurer.name} dépassé depuis le "
                  f"{deadline:%d/%m/%Y} : la couverture est compromise, voir avec l'assureur avant toute suite")


def _pending(s, policy: Policy) -> list[Reminder]:
    return [r for r in policy.reminders if f"reminder:{r.id}" not in s.done]


def _next_ladder_day(s, policy: Policy, extra_shift: int) -> dt.date | None:
    """The day the next reminder or mise en demeure (the steps the ladder's shift moves) would go out."""
    pending, calendar, due = _pending(s, policy), policy.calendar, s.invoice.due_date
    if pending:
        nominal = step_day(s.invoice, pending[0].offset_days, s.shift_days + extra_shift)
        return local_date(sending_moment(nominal, calendar, before=due), calendar)
    if s.notice_sent_on is None and "notice" not in s.done:
        nominal = step_day(s.invoice, policy.formal_notice.offset_days, s.shift_days + extra_shift)
        return local_date(sending_moment(nominal, calendar), calendar)
    return None


class CatchUpDays:
    """The day each late invoice of an import may get its first message: at most the policy's
    `catch_up.daily_first_messages` a day, per policy, in the order of the file, on business days.

    Pure and streaming: one counter per policy and day, which may start with the places earlier imports took
    (`taken`, counted through visibility by `relance.go_live.places_taken`). `place` is asked with the day the
    invoice's first step would come without a cap (`due`); an invoice whose first step is later than today is not
    a catch-up and takes no place."""

    def __init__(self, today: dt.date, taken: Mapping[tuple[str, dt.date], int] | None = None) -> None:
        self.today = today
        self.taken: Counter[tuple[str, dt.date]] = Counter(taken or {})

    def place(self, policy: Policy, due: dt.date | None) -> dt.date | None:
        """The day this invoice's first message takes in the cap, or None when it needs no place."""
        if due is None or due > self.today:
            return None
        day = next_business_day(self.today, policy.calendar)
        while self.taken[(policy.policy_id, day)] >= policy.catch_up.daily_first_messages:
            day = next_business_day(day + dt.timedelta(days=1), policy.calendar)
        self.taken[(policy.policy_id, day)] += 1
        return day

    def first_day(self, policy: Policy, due: dt.date | None) -> dt.date:
        return self.place(policy, due) or self.today


__all__ = ["BEFORE", "CatchUpDays", "PriorHistory", "catch_up", "prior_problems", "prior_steps"]
