"""Matching bank credits to open invoices at scale, against a naive exact-reference match.

    python -m bench.bank_matching [--invoices 50000] [--lines 10000] [--seed 7] [--out bench/results-bank.json]

A generated book (customers with one to eight open invoices, 2 % of them named exactly like another, some amounts
with penalties or a plan's instalment) and a statement of credits written the way debtors write them: the number clean or with
other prefixes, spaces and dropped zeros, several numbers to a line, an RF creditor reference (some with wrong
check digits), no reference at all with the payer's name (upper case, legal form dropped or cut short) or a
learned IBAN, a customer paying several invoices at once or part of one, a digit typed wrong, and credits from
nobody in the book. Each line knows the invoices it was meant for.

Precision is the share of automatic matches whose invoices and amounts are the ones meant (a wrong automatic match
hides a debt: aim 100 %); recall is the share of the customers' payments matched automatically (aim 90 % or more).
The naive match takes a line when it holds one open invoice number exactly as the book writes it, for the whole
credit.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import random
import re
import time
from decimal import Decimal
from pathlib import Path

from domain.matching import Allocation, Book, Credit, OpenInvoice, match
from domain.policy import BankRules

DAY = dt.date(2027, 3, 10)
COMPANIES = ["Boulangerie", "Transports", "Menuiserie", "Garage", "Clinique", "Hôtel", "Imprimerie", "Librairie",
             "Atelier", "Cabinet", "Pharmacie", "Bâtiment", "Fromagerie", "Serrurerie", "Plomberie", "Traiteur"]
SURNAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
            "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
            "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand"]
FORMS = ["SAS", "SARL", "SA", "EURL", ""]
TOWNS = ["Lyon", "Lille", "Nantes", "Rennes", "Brest", "Caen", "Rouen", "Metz", "Nancy", "Dijon", "Tours", "Nice", "Pau",
         "Reims", "Amiens", "Angers", "Le Mans", "Grenoble", "Annecy", "Valence", "Nîmes", "Albi", "Agen", "Niort",
         "Poitiers", "Limoges", "Troyes", "Colmar", "Mulhouse", "Bayonne", "Vannes", "Lorient", "Quimper", "Laval",
         "Cholet", "Saintes", "Périgueux", "Aurillac", "Rodez", "Tarbes"]
SAME_NAME = 0.02  # customers named exactly like another one (two "Garage Martin" in two towns that write no town)


@dataclasses.dataclass
class Line:
    credit: Credit
    meant: dict[str, Decimal]  # invoice -> amount; empty: not a customer's payment
    kind: str = ""


def book(rng: random.Random, count: int) -> tuple[list[OpenInvoice], dict[str, str]]:
    invoices, ibans, seq, n = [], {}, 0, 0
    while len(invoices) < count:
        n += 1
        if invoices and rng.random() < SAME_NAME:
            name = rng.choice(invoices).debtor_name
        else:
            name = (f"{rng.choice(COMPANIES)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)} {rng.choice(TOWNS)}"
                    f" {rng.choice(FORMS)}").strip()
        debtor = f"C{n:06d}"
        if rng.random() < 0.3:
            ibans[f"FR76{rng.randrange(10**22):022d}"] = debtor
        for _ in range(min(rng.choice([1, 1, 2, 2, 3, 4, 5, 8]), count - len(invoices))):
            seq += rng.randint(1, 3)
            principal = Decimal(rng.randrange(5000, 2_000_000)) / 100
            late = rng.random() < 0.4
            total = principal + (Decimal(rng.randrange(100, 20000)) / 100 + Decimal("40") if late else 0)
            plan = (principal / 3).quantize(Decimal("0.01")) if rng.random() < 0.03 else None
            invoices.append(OpenInvoice(number=f"FA-{2025 + seq % 2}-{seq:06d}", debtor_id=debtor, debtor_name=name,
                                        due_date=DAY - dt.timedelta(days=rng.randint(-30, 200)),
                                        principal_due=principal, total_due=total, instalment_due=plan))
    return invoices, ibans


def written(number: str, rng: random.Random) -> str:
    _, year, seq = number.split("-")
    return rng.choice([number, f"FA {year} {seq}", f"F{year}/{int(seq)}", f"FACT {year}{seq}", f"{year}-{int(seq)}",
                       f"facture n° {year} {seq}", f"FA{year}{seq}"])


def payer_name(name: str, rng: random.Random) -> str:
    form = rng.random()
    if form < 0.4:
        return name.upper()
    if form < 0.6:
        return " ".join(w for w in name.split() if w not in FORMS)
    if form < 0.8:
        return name.upper()[:31]  # CFONB's label
    return name


def rf(body: str) -> str:
    digits = "".join(str(int(c, 36)) for c in body + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{body}"


KINDS = ["cited", "rf", "rf-bad-check-digits", "several-cited", "partial-cited", "name-and-amount", "name-several",
         "learned-iban", "typo", "stranger"]


def statement(rng: random.Random, invoices: list[OpenInvoice], ibans: dict[str, str], count: int) -> list[Line]:
    by_debtor: dict[str, list[OpenInvoice]] = {}
    for invoice in invoices:
        by_debtor.setdefault(invoice.debtor_id, []).append(invoice)
    iban_of = {d: i for i, d in ibans.items()}
    debtors = sorted(by_debtor)
    lines: list[Line] = []
    used: set[str] = set()
    for n in range(count):
        ref, kind = f"E{n:06d}", rng.random()
        debtor = rng.choice(debtors)
        theirs = [i for i in by_debtor[debtor] if i.number not in used] or by_debtor[debtor]
        one = rng.choice(theirs)
        name = payer_name(one.debtor_name, rng)
        noise = rng.choice(["VIR SEPA ", "REGLEMENT ", "", "PAIEMENT ", "VIREMENT DE " + name + " "])
        if kind < 0.30:  # one invoice, cited in some writing, paid in full (principal, or total with penalties)
            amount = one.total_due if rng.random() < 0.2 else one.principal_due
            label = "cited"
            line = Line(Credit(ref=ref, amount=amount, value_date=DAY, name=name if rng.random() < 0.7 else "",
                               remittance=noise + written(one.number, rng)), {one.number: amount})
        elif kind < 0.40:  # a structured RF reference
            amount = one.principal_due
            label = "rf"
            line = Line(Credit(ref=ref, amount=amount, value_date=DAY, name=name,
                               creditor_reference=rf(one.number.replace("-", ""))), {one.number: amount})
        elif kind < 0.43:  # an RF reference whose check digits are wrong, and the customer's name
            good = rf(one.number.replace("-", ""))
            bad = f"RF{(int(good[2:4]) + 1) % 100:02d}{good[4:]}"
            label = "rf-bad-check-digits"
            line = Line(Credit(ref=ref, amount=one.principal_due, value_date=DAY, name=name, creditor_reference=bad),
                        {one.number: one.principal_due})
        elif kind < 0.53:  # several invoices of the customer cited in one line, their sum paid
            several = rng.sample(theirs, min(len(theirs), rng.randint(2, 3)))
            text = " ".join(written(i.number, rng) for i in several)
            label = "several-cited"
            line = Line(Credit(ref=ref, amount=sum(i.principal_due for i in several), value_date=DAY, name=name,
                               remittance=noise + text), {i.number: i.principal_due for i in several})
        elif kind < 0.60:  # part of one invoice, cited, by its customer
            part = (one.principal_due * Decimal(rng.choice(["0.3", "0.5"]))).quantize(Decimal("0.01"))
            label = "partial-cited"
            line = Line(Credit(ref=ref, amount=part, value_date=DAY, name=name, remittance=noise + written(one.number, rng)),
                        {one.number: part})
        elif kind < 0.78:  # no reference: the payer's name and the amount of one invoice (or its instalment)
            amount = one.instalment_due or one.principal_due
            label = "name-and-amount"
            line = Line(Credit(ref=ref, amount=amount, value_date=DAY, name=name, remittance=rng.choice(["VIREMENT", "", "PAIEMENT FACTURE"])),
                        {one.number: amount})
        elif kind < 0.85:  # no reference: the customer pays several invoices at once
            several = rng.sample(theirs, min(len(theirs), rng.randint(2, 3)))
            label = "name-several"
            line = Line(Credit(ref=ref, amount=sum(i.principal_due for i in several), value_date=DAY, name=name),
                        {i.number: i.principal_due for i in several})
        elif kind < 0.90 and debtor in iban_of:  # a learned IBAN, no name
            label = "learned-iban"
            line = Line(Credit(ref=ref, amount=one.principal_due, value_date=DAY, iban=iban_of[debtor], remittance="VIR"),
                        {one.number: one.principal_due})
        elif kind < 0.95:  # a digit typed wrong in the number, no name
            text = written(one.number, rng)
            digits = [i for i, c in enumerate(text) if c.isdigit()]
            k = rng.choice(digits[-3:])
            typo = text[:k] + str((int(text[k]) + rng.randint(1, 9)) % 10) + text[k + 1:]
            label = "typo"
            line = Line(Credit(ref=ref, amount=one.principal_due, value_date=DAY, remittance=noise + typo),
                        {one.number: one.principal_due})
        else:  # nobody in the book: a refund, a transfer between accounts, a stranger
            label = "stranger"
            line = Line(Credit(ref=ref, amount=Decimal(rng.randrange(1000, 500000)) / 100, value_date=DAY,
                               name=rng.choice(["URSSAF", "SCI DES LILAS", "REMBOURSEMENT ASSURANCE", ""]),
                               remittance=rng.choice(["REMB", "VIR INTERNE", "AVOIR 2026 12"])), {})
        line.kind = label
        used.update(line.meant)
        lines.append(line)
    return lines


def naive(credit: Credit, numbers: set[str]) -> list[Allocation]:
    """An open invoice's number exactly as the book writes it, once in the line: the whole credit goes to it."""
    found = {n for n in re.findall(r"[A-Z]{2}-\d{4}-\d{6}", f"{credit.remittance} {credit.creditor_reference}".upper())
             if n in numbers}
    return [Allocation(invoice=found.pop(), amount=credit.amount)] if len(found) == 1 else []


def by_kind(lines: list[Line], matched: list[list[Allocation]]) -> dict:
    """Recall and wrong matches per way of paying: where the misses are."""
    out = {}
    for kind in KINDS:
        pairs = [(line, a) for line, a in zip(lines, matched) if line.kind == kind]
        right = sum(1 for line, a in pairs if a and {x.invoice: x.amount for x in a} == line.meant)
        out[kind] = {"lines": len(pairs), "matched_right": right,
                     "wrong": sum(1 for line, a in pairs if a and {x.invoice: x.amount for x in a} != line.meant)}
    return out


def score(lines: list[Line], matched: list[list[Allocation]]) -> dict:
    payments = [line for line in lines if line.meant]
    automatic = [(line, a) for line, a in zip(lines, matched) if a]
    right = [1 for line, a in automatic if {x.invoice: x.amount for x in a} == line.meant]
    wrong = len(automatic) - len(right)
    return {"automatic": len(automatic), "right": len(right), "wrong": wrong,
            "precision_percent": round(100 * len(right) / max(len(automatic), 1), 2),
            "recall_percent": round(100 * len(right) / max(len(payments), 1), 2)}


def run(invoices_count: int, lines_count: int, seed: int) -> dict:
    rng = random.Random(seed)
    invoices, ibans = book(rng, invoices_count)
    lines = statement(rng, invoices, ibans, lines_count)
    started = time.perf_counter()
    indexed = Book.of(invoices, ibans)
    built = time.perf_counter() - started
    rules = BankRules()
    results = [match(line.credit, indexed, rules) for line in lines]
    matching = time.perf_counter() - started - built
    ours_matched = [r.allocations if r.verdict == "sure" else [] for r in results]
    ours = {**score(lines, ours_matched), "by_kind": by_kind(lines, ours_matched)}
    numbers = {i.number for i in invoices}
    started = time.perf_counter()
    baseline_matches = [naive(line.credit, numbers) for line in lines]
    baseline_seconds = time.perf_counter() - started
    return {
        "invoices": len(invoices), "customers": len({i.debtor_id for i in invoices}), "lines": len(lines),
        "customer_payments": sum(1 for line in lines if line.meant), "seed": seed,
        "relance": {**ours, "index_seconds": round(built, 3), "match_seconds": round(matching, 3),
                    "lines_per_second": round(len(lines) / max(matching, 1e-9))},
        "naive_exact_reference": {**score(lines, baseline_matches), "match_seconds": round(baseline_seconds, 3)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=50000)
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results-bank.json")))
    args = parser.parse_args()
    result = run(args.invoices, args.lines, args.seed)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for who in ("relance", "naive_exact_reference"):
        r = result[who]
        print(f"{who:>22}: {r['automatic']} automatic, {r['wrong']} wrong; precision {r['precision_percent']} %,"
              f" recall {r['recall_percent']} %, {r['match_seconds']} s to match")
    print(f"{result['lines']} lines ({result['customer_payments']} customers' payments) against {result['invoices']}"
          f" open invoices of {result['customers']} customers")


if __name__ == "__main__":
    main()
