"""What the read pages show, computed from the read model: the worklist, customers, the dashboard.

Plain functions of the read model's rows and today: no Temporal, no HTTP, so they are quick to test and to bench.
The customer pages group the cases' statuses by debtor (`debtor_id`); an account view of its own can replace
`customers` and `customer` without touching the pages.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable
from decimal import Decimal

from console.readmodel import ReadModel, euros
from bank.store import StoredEntry
from console.store import Mark
from domain.debtor_account import Terms, exposure_alerts, not_covered_reason
from domain.invoice import Debtor, Invoice
from domain.money import format_date_fr
from domain.money import format_eur as eur

# Aging buckets as practice reads them (days past due).
BUCKETS = (("not_due", "Non échu", None, 0), ("1-30", "1–30 j", 1, 30), ("31-60", "31–60 j", 31, 60),
           ("61-90", "61–90 j", 61, 90), ("90+", "plus de 90 j", 91, None))
OPEN = "stage != 'closed'"


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


KIND_LABELS = {"exposure": "Encours et limite de crédit", "bank": "Encaissement à rapprocher", "call": "Appel", "letter": "Courrier à poster", "deadline": "Échéance tribunal ou assureur",
               "dispute": "Litige à revoir", "failure": "Étape en échec", "task": "Tâche"}
DEADLINE_HORIZON_DAYS = 14
_ITEMS = f"""
WITH items AS (
    SELECT invoice, key, kind, text, rule_id, due, debtor_id, debtor_name FROM tasks WHERE due <= :today
    UNION ALL
    SELECT invoice, 'next:' || next_at, 'deadline', next_label, next_rule, substr(next_at, 1, 10), debtor_id, debtor_name
      FROM cases WHERE {OPEN} AND stage IN ('injonction', 'small_claims', 'insurer_claim', 'insolvency')
       AND next_at IS NOT NULL AND next_at <= :horizon
    UNION ALL
    SELECT invoice, 'review:' || review_by, 'dispute', 'Litige à revoir depuis le ' || strftime('%d/%m/%Y', review_by),
           'disputes', review_by, debtor_id, debtor_name
      FROM cases WHERE {OPEN} AND review_by IS NOT NULL AND review_by < :today
    UNION ALL
    SELECT invoice, 'failure:' || json_extract(failure, '$.step'), 'failure',
           'Étape ' || json_extract(failure, '$.step') || ' en échec: ' || json_extract(failure, '$.error'), 'ops',
           :today, debtor_id, debtor_name
      FROM cases WHERE {OPEN} AND failure IS NOT NULL AND json_extract(failure, '$.waiting')
)
SELECT items.*, m.state, m.until, m.note, m.by, m.at FROM items
  LEFT JOIN store.marks m ON m.invoice = items.invoice AND m.item = items.key
 WHERE :show_done OR m.state IS NULL OR (m.state = 'postponed' AND m.until <= :today)"""
_RANK = "CASE kind " + " ".join(f"WHEN '{k}' THEN {n}" for n, k in enumerate(KIND_LABELS)) + " END"


def worklist(model: ReadModel, today: dt.date, *, kind: str = "", show_done: bool = False, limit: int = 300,
             bank: Iterable[StoredEntry] = ()) -> tuple[list[Item], dict[str, int]]:
    """The customers whose insured exposure needs a decision and the bank entries waiting for ops (first: credit
    risk and cash, not one invoice's chore), then the tasks the cases raised up to today, court and insurer steps
    coming within two weeks, disputes past their review date and steps failed for good, less what ops marked done
    (or postponed to a later day): the first `limit` items (of `kind`, if given), and how many of each kind."""
    params = {"today": today.isoformat(), "show_done": show_done,
              "horizon": (today + dt.timedelta(days=DEADLINE_HORIZON_DAYS)).isoformat() + "T23:59"}
    counts = {row[0]: row[1] for row in model.db.execute(f"SELECT kind, count(*) FROM ({_ITEMS}) GROUP BY kind", params)}
    ahead = {"exposure": exposure_items(model, today, show_done=show_done),
             "bank": bank_items(model, bank, today, show_done=show_done)}
    counts |= {name: len(items) for name, items in ahead.items() if items}
    first = [item for name, items in ahead.items() if kind in ("", name) for item in items][:limit]
    if kind in ahead:
        return first, counts
    rows = model.db.execute(f"SELECT * FROM ({_ITEMS}) WHERE :kind = '' OR kind = :kind"
                            f" ORDER BY {_RANK}, due, invoice LIMIT :limit",
                            {**params, "kind": kind, "limit": limit - len(first)})
    items = first + [Item(row["invoice"], row["key"], row["kind"], row["text"], row["rule_id"], dt.date.fromisoformat(row["due"]),
                  row["debtor_id"], row["debtor_name"],
                  Mark(row["invoice"], row["key"], row["state"], dt.date.fromisoformat(row["until"]) if row["until"] else None,
                       row["note"], row["by"], dt.datetime.fromisoformat(row["at"])) if row["state"] else None)
             for row in rows]
    return items, counts


CUSTOMER = "client:"  # an item about a customer, not one case: its marks are kept under this name


_INSURED_ROWS = f"""
SELECT debtor_id, debtor_name, invoice, stage, path, insured, credit_limit, credit_limit_on, issue_date,
       principal_excl_tax, claim_on
  FROM cases
 WHERE debtor_id IN (SELECT debtor_id FROM cases WHERE credit_limit IS NOT NULL OR insured)
   AND debtor_id IN (SELECT debtor_id FROM cases WHERE {OPEN})
   AND (:debtor IS NULL OR debtor_id = :debtor)
 ORDER BY debtor_id"""


def exposure_items(model: ReadModel, today: dt.date, *, show_done: bool = False,
                   debtor_id: str | None = None) -> list[Item]:
    """One item per alert of an insured customer with open invoices (domain.debtor_account.exposure_alerts, the
    same as `relance debtor` shows): exposure past the limit, a limit lowered or withdrawn, invoices issued after a
    threat-of-loss notice. An item's key changes with its figures: a mark holds until the facts change."""
    marks = _marks(model, CUSTOMER)
    items = []
    grouped = itertools.groupby(model.db.execute(_INSURED_ROWS, {"debtor": debtor_id}), key=lambda row: row["debtor_id"])
    for customer, rows in grouped:
        rows = list(rows)
        open_rows = [row for row in rows if row["stage"] != "closed"]
        claim_on = min((dt.date.fromisoformat(r["claim_on"]) for r in rows if r["claim_on"]), default=None)
        uncovered = [r["invoice"] for r in open_rows
                     if not_covered_reason(dt.date.fromisoformat(r["issue_date"]), claim_on, r["path"])]
        terms = [Terms(insured=bool(r["insured"]), credit_limit=Decimal(r["credit_limit"]) if r["credit_limit"] else None,
                       credit_limit_on=dt.date.fromisoformat(r["credit_limit_on"]) if r["credit_limit_on"] else None,
                       issue_date=dt.date.fromisoformat(r["issue_date"]), invoice=r["invoice"]) for r in rows]
        exposure = euros(sum(r["principal_excl_tax"] for r in open_rows))
        for alert in exposure_alerts(terms, exposure, uncovered, claim_on):
            anchor = CUSTOMER + customer
            mark = marks.get((anchor, alert.key))
            if _hidden(mark, today) and not show_done:
                continue
            items.append(Item(anchor, alert.key, "exposure", alert.text, "assurance-crédit", today, customer,
                              rows[0]["debtor_name"], _mark(mark)))
    return items


BANK_ENTRY = "banque:"  # an item about a bank entry: its marks are kept under this name


def bank_items(model: ReadModel, entries: Iterable[StoredEntry], today: dt.date, *, show_done: bool = False) -> list[Item]:
    """A credit `relance bank import` could not match for sure (its candidates, if any), and a returned payment
    whose original it could not find: what ops match or settle by hand (`relance bank match` or `ignore`)."""
    marks = _marks(model, BANK_ENTRY)
    items = []
    for stored in entries:
        entry = stored.entry
        anchor, key = BANK_ENTRY + entry.ref, f"bank:{stored.status}"
        mark = marks.get((anchor, key))
        if _hidden(mark, today) and not show_done:
            continue
        payer = entry.name or "payeur inconnu"
        said = f" « {entry.remittance[:80]} »" if entry.remittance else ""
        if stored.status == "return":
            text = (f"Rejet de {eur(entry.amount)} du {format_date_fr(entry.booked_on)} ({payer}, écriture {entry.ref}):"
                    f" {stored.reason or 'paiement d’origine introuvable'}")
        else:
            candidates = f"; factures possibles : {', '.join(stored.candidates)}" if stored.candidates else ""
            text = (f"Virement de {eur(entry.amount)} reçu le {format_date_fr(entry.value_on)} de {payer}{said}:"
                    f" {stored.reason or 'aucune facture reconnue'}{candidates} — relance bank match {entry.ref} FACTURE…")
        items.append(Item(anchor, key, "bank", text, "bank", entry.value_on, "", payer, _mark(mark)))
    return items


def _marks(model: ReadModel, prefix: str) -> dict[tuple[str, str], object]:
    return {(row["invoice"], row["item"]): row for row in model.db.execute(
        "SELECT invoice, item, state, until, note, by, at FROM store.marks WHERE invoice LIKE ?", (prefix + "%",))}


def _hidden(mark, today: dt.date) -> bool:
    """Marked done, or postponed to a later day."""
    return mark is not None and (mark["state"] == "done" or (mark["until"] or "") > today.isoformat())


def _mark(row) -> Mark | None:
    if row is None:
        return None
    return Mark(row["invoice"], row["item"], row["state"], dt.date.fromisoformat(row["until"]) if row["until"] else None,
                row["note"], row["by"], dt.datetime.fromisoformat(row["at"]))


# ---------------------------------------------------------------------- customers


@dataclasses.dataclass
class Customer:
    debtor_id: str
    name: str
    siren: str
    credit_limit: Decimal | None
    insured: bool
    total_due: Decimal
    buckets: dict[str, Decimal]
    max_days_late: int
    open_invoices: int
    stages: set[str]
    exposure_excl_tax: Decimal  # the principal due excluding tax: what the limit is compared with, as insurers do

    @property
    def over_limit(self) -> Decimal | None:
        if self.credit_limit is None or self.exposure_excl_tax <= self.credit_limit:
            return None
        return self.exposure_excl_tax - self.credit_limit


STAGE_ORDER = ("preventive", "amicable", "negotiation", "formal_notice", "small_claims", "injonction",
               "insurer_claim", "insolvency", "closed")
_LATE = "CAST(julianday(:today) - julianday(due_date) AS INTEGER)"


def _bucket_sums() -> str:
    """One SUM per aging bucket, from BUCKETS: `late` is days past due."""
    sums = []
    for key, _, low, high in BUCKETS:
        test = " AND ".join(filter(None, [f"late >= {low}" if low is not None else "",
                                          f"late <= {high}" if high is not None else ""]))
        sums.append(f"SUM(CASE WHEN {test} THEN total_due ELSE 0 END) AS \"{key}\"")
    return ", ".join(sums)


_SORTS = {"total": "total DESC", "late": "max_late DESC", "name": "lower(name)",
          "over": "(exposure_ht - COALESCE(CAST(credit_limit AS REAL) * 100, 1e18)) DESC"}
# The limit of the customer's most recent terms (the insurer's latest decision), as domain.debtor_account reads it.
_LATEST_LIMIT = ("(SELECT credit_limit FROM cases t WHERE t.debtor_id = g.debtor_id"
                 " ORDER BY COALESCE(t.credit_limit_on, '') DESC, t.issue_date DESC, t.invoice DESC LIMIT 1)")


def customers(model: ReadModel, today: dt.date, search: str = "", sort: str = "total", *,
              limit: int | None = None) -> tuple[list[Customer], int]:
    """Customers with open invoices, most exposed first (or by `sort`), and how many match."""
    where, params = OPEN, {"today": today.isoformat()}
    if search.strip():
        params["like"] = f"%{search.strip().lower()}%"
        where += (" AND debtor_id IN (SELECT debtor_id FROM cases WHERE lower(debtor_name) LIKE :like OR siren LIKE :like"
                  " OR lower(invoice) LIKE :like OR lower(debtor_id) LIKE :like)")
    grouped = (f"SELECT *, {_LATEST_LIMIT} AS credit_limit FROM (SELECT debtor_id, max(debtor_name) AS name,"
               f" max(siren) AS siren, max(insured) AS insured, count(*) AS invoices, SUM(total_due) AS total,"
               f" SUM(principal_excl_tax) AS exposure_ht, max(late) AS max_late, group_concat(DISTINCT stage) AS stages,"
               f" {_bucket_sums()} FROM (SELECT *, {_LATE} AS late FROM cases WHERE {where}) GROUP BY debtor_id) g")
    total = model.db.execute(f"SELECT count(*) FROM ({grouped})", params).fetchone()[0]
    rows = model.db.execute(f"{grouped} ORDER BY {_SORTS.get(sort, _SORTS['total'])}"
                            + (" LIMIT :limit" if limit else ""), {**params, "limit": limit})
    found = [Customer(row["debtor_id"], row["name"], row["siren"],
                      Decimal(row["credit_limit"]) if row["credit_limit"] else None, bool(row["insured"]),
                      euros(row["total"]), {key: euros(row[key]) for key, *_ in BUCKETS}, row["max_late"],
                      row["invoices"], set(row["stages"].split(",")), euros(row["exposure_ht"])) for row in rows]
    return found, total


def worst_stage(stages: set[str]) -> str:
    return max(stages, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 0) if stages else ""


def customer_invoices(model: ReadModel, debtor_id: str) -> list:
    return model.rows("SELECT * FROM cases WHERE debtor_id = ? ORDER BY stage = 'closed', due_date", debtor_id)


def customer_contact(model: ReadModel, debtor_id: str) -> Debtor | None:
    """The customer as its most recently issued invoice gives it: email, address, SIREN, language."""
    rows = model.rows("SELECT i.json FROM invoices i JOIN cases c USING (invoice) WHERE c.debtor_id = ?"
                      " ORDER BY c.issue_date DESC, c.invoice DESC LIMIT 1", debtor_id)
    return Invoice.model_validate_json(rows[0][0]).debtor if rows else None


# ---------------------------------------------------------------------- dashboard


DSO_DAYS = 90  # the period sales are read over, as credit managers quote a DSO


@dataclasses.dataclass(frozen=True)
class PaymentTimes:
    """How long customers take, in days, over the invoices relance follows (not the whole sales ledger: a book
    imported only for its unpaid invoices reads longer than the company's DSO). None where there is nothing to
    divide by."""

    dso: Decimal | None  # receivables still due / invoiced over the last DSO_DAYS × DSO_DAYS (the accounting method)
    days_late: Decimal | None  # open principal's days past due, weighted by amount (average days delinquent)
    paid_after_issue: Decimal | None  # payments of the last DSO_DAYS: days from the invoice's date, weighted
    paid_after_due: Decimal | None  # and from its due date (negative: paid early)


def _days(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator or 0) / Decimal(denominator)).quantize(Decimal("0.1"))


def dso_on(model: ReadModel, day: dt.date) -> Decimal | None:
    """The DSO as it stood at the end of `day`: what was still due then (each invoice issued by that day, less what
    paid, credited or wrote its principal off by then, unless closed by then) over what was invoiced in the
    DSO_DAYS before it, times DSO_DAYS."""
    params = {"day": day.isoformat(), "since": (day - dt.timedelta(days=DSO_DAYS)).isoformat()}
    outstanding = model.db.execute(
        "SELECT SUM(MAX(c.amount - COALESCE((SELECT SUM(s.principal) FROM settlements s"
        " WHERE s.invoice = c.invoice AND s.on_day <= :day), 0), 0))"
        " FROM cases c WHERE c.issue_date <= :day AND (c.closed_on IS NULL OR c.closed_on > :day)", params).fetchone()[0]
    invoiced = model.db.execute("SELECT SUM(amount) FROM cases WHERE issue_date > :since AND issue_date <= :day",
                                params).fetchone()[0]
    return _days((outstanding or 0) * DSO_DAYS, invoiced)


TREND_MONTHS = 6  # month ends the dashboard shows the DSO at, before today's


def month_ends(today: dt.date, months: int = TREND_MONTHS) -> list[dt.date]:
    """The last day of each of the `months` months before today's, oldest first."""
    ends, end = [], today.replace(day=1) - dt.timedelta(days=1)
    for _ in range(months):
        ends.append(end)
        end = end.replace(day=1) - dt.timedelta(days=1)
    return ends[::-1]


def dso_trend(model: ReadModel, today: dt.date) -> list[tuple[dt.date, Decimal | None]]:
    """The DSO at each of the last month ends, then today: how it moves, at a glance."""
    return [(day, dso_on(model, day)) for day in [*month_ends(today), today]]


def payment_times(model: ReadModel, today: dt.date) -> PaymentTimes:
    params = {"today": today.isoformat(), "since": (today - dt.timedelta(days=DSO_DAYS)).isoformat()}
    due, late = model.db.execute(
        f"SELECT SUM(principal_due), SUM(principal_due * MAX(late, 0)) FROM"
        f" (SELECT principal_due, {_LATE} AS late FROM cases WHERE {OPEN})", params).fetchone()
    after_issue, after_due, paid = model.db.execute(
        "SELECT SUM(p.amount * (julianday(p.on_day) - julianday(c.issue_date))),"
        " SUM(p.amount * (julianday(p.on_day) - julianday(c.due_date))), SUM(p.amount)"
        " FROM payments p JOIN cases c USING (invoice) WHERE p.on_day > :since AND p.on_day <= :today",
        params).fetchone()
    return PaymentTimes(dso=dso_on(model, today), days_late=_days(late, due),
                        paid_after_issue=_days(after_issue, paid), paid_after_due=_days(after_due, paid))


@dataclasses.dataclass(frozen=True)
class Dashboard:
    open_cases: int
    total_due: Decimal
    by_stage: list[tuple[str, int, Decimal]]
    by_bucket: list[tuple[str, str, Decimal]]
    collected_this_month: Decimal
    falling_due: list[tuple[dt.date, Decimal]]  # per week (its Monday), the next eight weeks
    by_path: list[tuple[str, int, Decimal]]
    times: PaymentTimes | None = None
    dso_trend: list[tuple[dt.date, Decimal | None]] = dataclasses.field(default_factory=list)


def dashboard(model: ReadModel, today: dt.date) -> Dashboard:
    params = {"today": today.isoformat(), "month": today.replace(day=1).isoformat(),
              "horizon": (today + dt.timedelta(weeks=8)).isoformat()}
    by_stage = [(row[0], row[1], euros(row[2])) for row in model.db.execute(
        f"SELECT stage, count(*), SUM(total_due) FROM cases WHERE {OPEN} GROUP BY stage")]
    by_stage.sort(key=lambda r: STAGE_ORDER.index(r[0]) if r[0] in STAGE_ORDER else 0)
    buckets = model.db.execute(f"SELECT {_bucket_sums()} FROM (SELECT total_due, {_LATE} AS late FROM cases"
                               f" WHERE {OPEN})", params).fetchone()
    weeks = model.db.execute(
        f"SELECT date(due_date, '-' || ((CAST(strftime('%w', due_date) AS INTEGER) + 6) % 7) || ' days') AS monday,"
        f" SUM(total_due) FROM cases WHERE {OPEN} AND due_date >= :today AND due_date < :horizon"
        " GROUP BY monday ORDER BY monday", params)
    collected = model.db.execute("SELECT SUM(amount) FROM payments WHERE on_day >= :month AND on_day <= :today",
                                 params).fetchone()[0]
    by_path = [(row[0] or "amiable", row[1], euros(row[2])) for row in model.db.execute(
        f"SELECT path, count(*), SUM(total_due) FROM cases WHERE {OPEN} GROUP BY path")]
    return Dashboard(
        open_cases=sum(r[1] for r in by_stage), total_due=sum((r[2] for r in by_stage), Decimal("0")),
        by_stage=by_stage, by_bucket=[(key, label, euros(buckets[key])) for key, label, _, _ in BUCKETS],
        collected_this_month=euros(collected),
        falling_due=[(dt.date.fromisoformat(row[0]), euros(row[1])) for row in weeks], by_path=by_path,
        times=payment_times(model, today), dso_trend=dso_trend(model, today))
