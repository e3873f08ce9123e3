"""What the read pages show, computed from the read model: the worklist, customers, the dashboard.

Plain functions of the read model's rows and today: no Temporal, no HTTP, so they are quick to test and to bench.
The customer pages group the cases' statuses by debtor (`debtor_id`); an account view of its own can replace
`customers` and `customer` without touching the pages.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from console.readmodel import ReadModel, dec
from console.store import Mark

# Aging buckets as practice reads them (days past due).
BUCKETS = (("not_due", "Non échu", None, 0), ("1-30", "1–30 j", 1, 30), ("31-60", "31–60 j", 31, 60),
           ("61-90", "61–90 j", 61, 90), ("90+", "plus de 90 j", 91, None))
OPEN = "stage != 'closed'"


def bucket(days_late: int) -> str:
    """The bucket of an invoice `days_late` days past its due date (0 or less: not yet due)."""
    for key, _, _, high in BUCKETS:
        if high is None or days_late <= high:
            return key
    raise AssertionError("the last bucket has no upper bound")


# ---------------------------------------------------------------------- worklist


@dataclasses.dataclass(frozen=True)
class Item:
    invoice: str
    key: str  # unique on the case: the task's key, or what the console derived it from
    kind: str  # call, letter, deadline, dispute, failure, task
    text: str
    rule_id: str
    due: dt.date
    debtor_id: str
    debtor_name: str
    mark: Mark | None = None


def task_kind(key: str) -> str:
    if key.endswith(":call") or key == "notice:call":
        return "call"
    if key.endswith(":post") or key == "notice:lrar":
        return "letter"
    if key.startswith("failed:"):
        return "failure"
    if key.startswith(("dispute", "review")):
        return "dispute"
    if key.startswith(("injonction", "small_claims", "insurer", "declaration", "court", "escalate")):
        return "deadline"
    return "task"


KIND_LABELS = {"call": "Appel", "letter": "Courrier à poster", "deadline": "Échéance tribunal ou assureur",
               "dispute": "Litige à revoir", "failure": "Étape en échec", "task": "Tâche"}
DEADLINE_HORIZON_DAYS = 14


def worklist(model: ReadModel, marks: dict[tuple[str, str], Mark], today: dt.date, *,
             show_done: bool = False) -> list[Item]:
    """Tasks the cases raised up to today, court and insurer steps coming within two weeks, disputes past their
    review date and steps failed for good, less what ops marked done (or postponed to a later day)."""
    items: list[Item] = []
    for row in model.rows("SELECT t.invoice, t.key, t.due, t.text, t.rule_id, c.debtor_id, c.debtor_name FROM tasks t"
                          f" JOIN cases c USING (invoice) WHERE c.{OPEN} AND t.due <= ?", today.isoformat()):
        items.append(Item(row["invoice"], row["key"], task_kind(row["key"]), row["text"], row["rule_id"],
                          dt.date.fromisoformat(row["due"]), row["debtor_id"], row["debtor_name"]))
    horizon = (today + dt.timedelta(days=DEADLINE_HORIZON_DAYS)).isoformat()
    for row in model.rows(f"SELECT * FROM cases WHERE {OPEN} AND stage IN ('injonction', 'small_claims',"
                          " 'insurer_claim', 'insolvency') AND next_at IS NOT NULL AND next_at <= ?", horizon + "T23:59"):
        items.append(Item(row["invoice"], f"next:{row['next_at']}", "deadline", row["next_label"], row["next_rule"],
                          dt.date.fromisoformat(row["next_at"][:10]), row["debtor_id"], row["debtor_name"]))
    for row in model.rows(f"SELECT * FROM cases WHERE {OPEN} AND review_by IS NOT NULL AND review_by < ?", today.isoformat()):
        items.append(Item(row["invoice"], f"review:{row['review_by']}", "dispute",
                          f"Litige à revoir depuis le {dt.date.fromisoformat(row['review_by']):%d/%m/%Y}", "disputes",
                          dt.date.fromisoformat(row["review_by"]), row["debtor_id"], row["debtor_name"]))
    for row in model.rows(f"SELECT * FROM cases WHERE {OPEN} AND failure IS NOT NULL"):
        failure = json.loads(row["failure"])
        if failure["waiting"]:
            items.append(Item(row["invoice"], f"failure:{failure['step']}", "failure",
                              f"Étape {failure['step']} en échec: {failure['error']}", "ops", today,
                              row["debtor_id"], row["debtor_name"]))
    shown = []
    for item in items:
        mark = marks.get((item.invoice, item.key))
        hidden = mark is not None and (mark.state == "done" or (mark.until is not None and mark.until > today))
        if show_done or not hidden:
            shown.append(dataclasses.replace(item, mark=mark))
    return sorted(shown, key=lambda i: (list(KIND_LABELS).index(i.kind), i.due, i.invoice))


# ---------------------------------------------------------------------- customers


@dataclasses.dataclass
class Customer:
    debtor_id: str
    name: str
    siren: str
    credit_limit: Decimal | None
    insured: bool
    total_due: Decimal = Decimal("0")
    buckets: dict[str, Decimal] = dataclasses.field(default_factory=lambda: {b[0]: Decimal("0") for b in BUCKETS})
    max_days_late: int = 0
    open_invoices: int = 0
    stages: set[str] = dataclasses.field(default_factory=set)

    @property
    def over_limit(self) -> Decimal | None:
        if self.credit_limit is None or self.total_due <= self.credit_limit:
            return None
        return self.total_due - self.credit_limit


STAGE_ORDER = ("preventive", "amicable", "negotiation", "formal_notice", "small_claims", "injonction",
               "insurer_claim", "insolvency", "closed")


def customers(model: ReadModel, today: dt.date, search: str = "", sort: str = "total") -> list[Customer]:
    where, params = OPEN, []
    if search.strip():
        like = f"%{search.strip().lower()}%"
        where += (" AND debtor_id IN (SELECT debtor_id FROM cases WHERE lower(debtor_name) LIKE ? OR siren LIKE ?"
                  " OR lower(invoice) LIKE ? OR lower(debtor_id) LIKE ?)")
        params = [like, like, like, like]
    found: dict[str, Customer] = {}
    for row in model.rows(f"SELECT debtor_id, debtor_name, siren, credit_limit, insured, due_date, total_due, stage"
                          f" FROM cases WHERE {where}", *params):
        customer = found.get(row["debtor_id"]) or found.setdefault(row["debtor_id"], Customer(
            row["debtor_id"], row["debtor_name"], row["siren"],
            Decimal(row["credit_limit"]) if row["credit_limit"] else None, bool(row["insured"])))
        late = (today - dt.date.fromisoformat(row["due_date"])).days
        due = dec(row["total_due"])
        customer.total_due += due
        customer.buckets[bucket(late)] += due
        customer.max_days_late = max(customer.max_days_late, late)
        customer.open_invoices += 1
        customer.stages.add(row["stage"])
    keys = {"total": lambda c: -c.total_due, "late": lambda c: -c.max_days_late, "name": lambda c: c.name.lower(),
            "over": lambda c: -(c.over_limit or Decimal("-1"))}
    return sorted(found.values(), key=keys.get(sort, keys["total"]))


def worst_stage(stages: set[str]) -> str:
    return max(stages, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 0) if stages else ""


def customer_invoices(model: ReadModel, debtor_id: str) -> list:
    return model.rows("SELECT * FROM cases WHERE debtor_id = ? ORDER BY stage = 'closed', due_date", debtor_id)


# ---------------------------------------------------------------------- dashboard


@dataclasses.dataclass(frozen=True)
class Dashboard:
    open_cases: int
    total_due: Decimal
    by_stage: list[tuple[str, int, Decimal]]
    by_bucket: list[tuple[str, str, Decimal]]
    collected_this_month: Decimal
    falling_due: list[tuple[dt.date, Decimal]]  # per week, the next eight weeks
    by_path: list[tuple[str, int, Decimal]]


def dashboard(model: ReadModel, today: dt.date) -> Dashboard:
    by_stage = [(row[0], row[1], dec(str(row[2]))) for row in model.rows(
        f"SELECT stage, count(*), round(sum(CAST(total_due AS REAL)), 2) FROM cases WHERE {OPEN} GROUP BY stage")]
    by_stage.sort(key=lambda r: STAGE_ORDER.index(r[0]) if r[0] in STAGE_ORDER else 0)
    buckets = defaultdict(Decimal)
    week_of = defaultdict(Decimal)
    horizon = today + dt.timedelta(weeks=8)
    for row in model.rows(f"SELECT due_date, total_due FROM cases WHERE {OPEN}"):
        due_day = dt.date.fromisoformat(row[0])
        buckets[bucket((today - due_day).days)] += dec(row[1])
        if today <= due_day < horizon:
            week_of[due_day - dt.timedelta(days=due_day.weekday())] += dec(row[1])
    month_start = today.replace(day=1)
    collected = sum((dec(row[0]) for row in model.rows(
        "SELECT amount FROM payments WHERE on_day >= ? AND on_day <= ?", month_start.isoformat(), today.isoformat())),
        Decimal("0"))
    by_path = [(row[0] or "amiable", row[1], dec(str(row[2]))) for row in model.rows(
        f"SELECT path, count(*), round(sum(CAST(total_due AS REAL)), 2) FROM cases WHERE {OPEN} GROUP BY path")]
    return Dashboard(
        open_cases=sum(r[1] for r in by_stage), total_due=sum((r[2] for r in by_stage), Decimal("0")),
        by_stage=by_stage, by_bucket=[(key, label, buckets[key]) for key, label, _, _ in BUCKETS],
        collected_this_month=collected, falling_due=sorted(week_of.items()), by_path=by_path)
