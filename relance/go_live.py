"""Going live with a book already overdue: each invoice's start (its history, and the first day the daily cap
lets it send on), and the `--dry-run` that shows what each would get and when, before anything starts.

Streaming like the ledger: one row at a time, one counter per policy and day (`domain.history.CatchUpDays`),
which starts with the places earlier imports took (`places_taken`, through visibility).
What an invoice gets first is asked of the decision core in memory (`domain.playback`), as its case will.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from temporalio.service import RPCError, RPCStatusCode

from domain import decisions
from domain.calendar import next_business_day
from domain.case import CaseStart
from domain.history import CatchUpDays
from domain.playback import Playback
from domain.policy import Policy
from domain.schedule import local_date
from relance.cases import case_start
from relance.ledger import LedgerRow
from relance.views import STAGE_LABELS
from workflows import visibility

# The outward steps a catch-up spreads over days; a task for ops (a lapsed deadline) is never held back.
_MESSAGES = (decisions.Remind, decisions.SendNotice)


@dataclasses.dataclass(frozen=True)
class Planned:
    start: CaseStart
    stage: str  # where the case opens
    first: str  # what it gets first
    on: dt.date | None  # and when; None: nothing planned (closed)
    overdue_since: dt.date | None = None  # a step dated in the past (a lapsed deadline): done at the opening
    case: Playback | None = dataclasses.field(default=None, repr=False)  # as opened, in memory: the fast preview plays it on


def planned_starts(rows: Iterable[LedgerRow], policies: Mapping[str, Policy], now: dt.datetime,
                   taken: Mapping[tuple[str, dt.date], int] | None = None) -> Iterator[Planned]:
    """Each row's start, in the order of the file, with the first day the cap gives its first message (after the
    places earlier imports `taken`, per policy and day)."""
    days: dict[str, CatchUpDays] = {}
    for row in rows:
        if settled_before(row):
            continue  # paid in full before relance (a lettered FEC line): nothing to chase, no case
        policy = policies[row.invoice.policy_id]
        today = local_date(now, policy.calendar)
        cap = days.setdefault(policy.calendar.timezone, CatchUpDays(today, taken))
        uncapped = _first(row, policy, now, today)
        is_message = uncapped is not None and isinstance(uncapped.action, _MESSAGES)
        place = cap.place(policy, local_date(uncapped.at, policy.calendar) if is_message else None)
        first_day = place or today
        start = case_start(row.invoice).model_copy(update={"prior": row.prior, "catch_up_from": first_day,
                                                           "catch_up_capped": place is not None})
        case = Playback(row.invoice, policy, now, prior=row.prior, catch_up_from=first_day)
        step = decisions.next_step(case.s, policy, now)
        day = local_date(step.at, policy.calendar) if step else None
        yield Planned(start=start, stage=case.s.stage.value, first=step.label if step else "rien",
                      on=max(day, today) if day else None, overdue_since=day if day and day < today else None,
                      case=case)


class PlacesUnknown(RuntimeError):
    """Visibility cannot count the places taken (the search attribute is not registered on the cluster)."""


MAX_DAYS_AHEAD = 400  # business days looked at: a cap filled further ahead than that is not a catch-up any more


async def places_taken(client, task_queue: str, policies: Mapping[str, Policy], now: dt.datetime) -> Counter:
    """The places earlier imports (from any host) took in each policy's daily cap, from today on: the cases
    started on this task queue with `RelanceCatchUpPlace`, counted per day through visibility (closed ones too, while
    the namespace keeps them). Days fill in order, so the count stops after a few days with none (a day emptied by
    retention or deletion does not end it). Visibility lags its writes by a moment: two imports started in the same
    second may both take a day's last places."""
    taken: Counter = Counter()
    for policy in policies.values():
        day, empty = next_business_day(local_date(now, policy.calendar), policy.calendar), 0
        for _ in range(MAX_DAYS_AHEAD):
            count = await _places_on(client, task_queue, policy.policy_id, day)
            if count:
                taken[(policy.policy_id, day)], empty = count, 0
            else:
                empty += 1
                if empty >= EMPTY_DAYS_END:
                    break
            day = next_business_day(day + dt.timedelta(days=1), policy.calendar)
    return taken


EMPTY_DAYS_END = 5  # business days in a row without a place: the cap's calendar ends there


async def _places_on(client, task_queue: str, policy_id: str, day: dt.date) -> int:
    # A case that continued as new keeps its attributes: its closed run is not a place of its own.
    query = (f"WorkflowType = 'InvoiceCase' AND TaskQueue = {visibility.literal(task_queue)}"
             " AND ExecutionStatus != 'ContinuedAsNew'"
             f" AND {visibility.CATCH_UP_PLACE.name} = {visibility.literal(visibility.place_value(policy_id, day))}")
    try:
        return (await client.count_workflows(query)).count
    except RPCError as error:
        if error.status != RPCStatusCode.INVALID_ARGUMENT:
            raise  # the server busy or away: retried by whoever called
        raise PlacesUnknown(
            f"Temporal ne sait pas compter les places du plafond journalier ({error.message}) : enregistrer"
            f" l'attribut une fois sur le cluster, `temporal operator search-attribute create --name"
            f" {visibility.CATCH_UP_PLACE.name} --type Keyword` — register the search attribute") from error


def settled_before(row: LedgerRow) -> bool:
    return row.prior is not None and row.prior.paid is not None and row.prior.paid >= row.invoice.amount_incl_tax


def _first(row: LedgerRow, policy: Policy, now: dt.datetime, today: dt.date) -> decisions.Step | None:
    case = Playback(row.invoice, policy, now, prior=row.prior, catch_up_from=today)
    return decisions.next_step(case.s, policy, now)


def dry_run_text(plans: Iterable[Planned], today: dt.date) -> str:
    """What each invoice would get first, per day: the burst a go-live would be, or is not."""
    by_day: dict[dt.date | None, list[Planned]] = {}
    for plan in plans:
        by_day.setdefault(plan.on, []).append(plan)
    lines = []
    for day in sorted(by_day, key=lambda d: (d is None, d or today)):
        plans_of_day = by_day[day]
        title = f"{day:%d/%m/%Y}" if day else "sans étape prévue"
        lines.append(f"{title} : {len(plans_of_day)} facture(s)")
        for plan in plans_of_day:
            late = f" (échue le {plan.overdue_since:%d/%m/%Y} : dès l'ouverture)" if plan.overdue_since else ""
            lines.append(f"  {plan.start.invoice.number:<20} {STAGE_LABELS[plan.stage]:<22} {plan.first}{late}")
    return "\n".join(lines)
