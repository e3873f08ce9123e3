"""Which open invoices a bank credit pays: sure matches, recorded on their own, and doubtful ones, for ops.

Plain functions over plain data. A `Book` indexes the open invoices once (by the digits of their numbers, by
customer, by customer name); `match(credit, book, rules)` reads one credit's structured reference (ISO 11649 RF,
checked with python-stdnum), the invoice numbers written in its remittance (debtors write them with spaces,
other prefixes, leading zeros dropped, several to a line), the customer (an IBAN learned from earlier matches,
or the payer's name) and the amount (an invoice's principal or its total with penalties, an instalment, a set of
the customer's invoices). A match is sure only when one reading explains the credit and nothing contradicts it:
a wrong automatic match reminds no one but hides a debt, so anything ambiguous goes to ops with its candidates.
"""
from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import itertools
import re
import unicodedata
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict
from stdnum import iso11649

from domain.policy import BankRules

ZERO = Decimal("0.00")
# A key of fewer significant digits than this is not looked for alone in free text: dates, amounts and postcodes
# would match it by chance.
MIN_KEY_DIGITS = 4
# A number one digit away from an invoice's is read as a typo of it only when this long (and the amount is exact).
MIN_TYPO_DIGITS = 6
# How many groups of digits in a row of free text may make one invoice number ("FA 2026 11 000123").
MAX_GROUPS = 4
# Legal forms and filler words dropped from a name before comparing: "SARL Dupont & Fils" is "DUPONT FILS".
_NAME_NOISE = {"SA", "SAS", "SASU", "SARL", "EURL", "SNC", "SCI", "SCOP", "SELARL", "GIE", "STE", "SOCIETE", "ETS",
               "ETABLISSEMENTS", "ET", "CIE", "LA", "LE", "LES", "DE", "DES", "DU", "D", "L", "GROUPE"}
# A truncated name (CFONB's 31-character label, a bank's cut) still identifies a customer when this long.
MIN_PREFIX_NAME = 12


class OpenInvoice(BaseModel):
    """An invoice a credit may pay, as its case stands."""

    model_config = ConfigDict(frozen=True)

    number: str
    debtor_id: str
    debtor_name: str
    due_date: dt.date
    principal_due: Decimal
    total_due: Decimal  # with penalties and the indemnity
    instalment_due: Decimal | None = None  # the next instalment of a running payment plan


class Credit(BaseModel):
    """Money in, as the statement gives it."""

    model_config = ConfigDict(frozen=True)

    ref: str
    amount: Decimal
    value_date: dt.date
    name: str = ""
    iban: str = ""
    remittance: str = ""
    creditor_reference: str = ""  # RmtInf/Strd/CdtrRefInf/Ref


class Allocation(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice: str
    amount: Decimal


class Match(BaseModel):
    """What a credit pays: `allocations` when sure; else the `candidates` ops choose from, and why."""

    model_config = ConfigDict(frozen=True)

    ref: str
    verdict: Literal["sure", "doubtful"]
    reason: str  # in French: ops read it
    allocations: list[Allocation] = []
    candidates: list[str] = []
    debtor_id: str | None = None


# ---------------------------------------------------------------------- reading numbers and names

_RUN = re.compile(r"\d+(?:[ \t./_-]+\d+)*")
# What may stand between a number and a lone group read as its sibling: "0301 et 0302", "0301, 0302 + 0303".
_JOINER = re.compile(r"\s*(?:,|;|&|\+|ET|/|-)?\s*(?:(?:N°|NO|FA|FACT|FACTURES?)\s*)?")


def _stripped(group: str) -> str:
    return group.lstrip("0") or "0"


def number_keys(number: str) -> set[str]:
    """The keys an invoice number is found by: its digits with each group's leading zeros dropped, and all its
    digits as written. Letters are not part of a key: debtors change or drop the prefix."""
    groups = re.findall(r"\d+", number)
    if not groups:
        return set()
    return {"".join(_stripped(g) for g in groups), "".join(groups)}


def _window_keys(groups: list[str]) -> set[str]:
    return {"".join(_stripped(g) for g in groups), "".join(groups)}


def _significant(key: str) -> int:
    return len(key.lstrip("0"))


def numbers_in(text: str, known: dict[str, list[OpenInvoice]]) -> list[str]:
    """The open invoices a free text names, in the order it names them (each once).

    Every run of digit groups is read at every window of up to MAX_GROUPS groups. Once a number is found, a
    lone group that follows is read with that number's leading groups too: "FA-2026-0301 et 0302" names two.
    """
    found: list[str] = []
    context: list[str] | None = None  # the leading groups of the last number found
    upper = text.upper()
    last_end = 0

    def take(key: str) -> bool:
        hits = known.get(key)
        if not hits or _significant(key) < MIN_KEY_DIGITS:
            return False
        for invoice in hits:
            if invoice.number not in found:
                found.append(invoice.number)
        return True

    for run in _RUN.finditer(upper):
        if context and not _JOINER.fullmatch(upper[last_end:run.start()]):
            context = None  # "FA-2026-0301 ref client 77": 77 is another reference, not invoice 2026-77
        last_end = run.end()
        groups = re.findall(r"\d+", run.group())
        matched = [False] * len(groups)
        for size in range(min(MAX_GROUPS, len(groups)), 0, -1):
            for start in range(0, len(groups) - size + 1):
                if any(matched[start:start + size]):
                    continue
                window = groups[start:start + size]
                if any(take(key) for key in _window_keys(window)):
                    matched[start:start + size] = [True] * size
                    if size > 1:
                        context = window[:-1]
        if context:
            for i, group in enumerate(groups):
                if not matched[i] and any(take(key) for key in _window_keys([*context, group])):
                    matched[i] = True
    return found


@functools.lru_cache(maxsize=65536)  # a customer's name comes once per invoice of theirs
def normal_name(name: str) -> str:
    """Upper case, no accents, no punctuation, no legal form: the name as two writings of it agree."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    words = re.findall(r"[A-Z0-9]+", text)
    return " ".join(w for w in words if w not in _NAME_NOISE)


def rf_body(reference: str) -> str | None:
    """The body of a valid ISO 11649 creditor reference ("RF18 5390 0754 7034" -> "539007547034"), else None:
    a reference whose check digits fail is a typo, and a typo may name another invoice."""
    compact = re.sub(r"\s", "", reference).upper()
    if not compact.startswith("RF") or not iso11649.is_valid(compact):
        return None
    return compact[4:]


# ---------------------------------------------------------------------- the book of open invoices

@dataclasses.dataclass
class Book:
    """The open invoices, indexed once for many credits."""

    invoices: dict[str, OpenInvoice]
    by_key: dict[str, list[OpenInvoice]]
    by_debtor: dict[str, list[OpenInvoice]]  # oldest due date first
    by_name: dict[str, set[str]]  # normal name -> debtor ids
    names: list[str]  # sorted normal names, for truncated names
    ibans: dict[str, str]  # IBAN learned from earlier matches -> debtor id
    by_amount: dict[Decimal, list[str]] = dataclasses.field(default_factory=dict)  # what each invoice accepts

    @classmethod
    def of(cls, invoices: list[OpenInvoice], ibans: dict[str, str] | None = None) -> "Book":
        by_key: dict[str, list[OpenInvoice]] = {}
        by_debtor: dict[str, list[OpenInvoice]] = {}
        by_name: dict[str, set[str]] = {}
        for invoice in invoices:
            for key in number_keys(invoice.number):
                by_key.setdefault(key, []).append(invoice)
            by_debtor.setdefault(invoice.debtor_id, []).append(invoice)
            by_name.setdefault(normal_name(invoice.debtor_name), set()).add(invoice.debtor_id)
        for items in by_debtor.values():
            items.sort(key=lambda i: (i.due_date, i.number))
        by_amount: dict[Decimal, list[str]] = {}
        for invoice in invoices:
            for amount in _accepts(invoice):
                by_amount.setdefault(amount, []).append(invoice.number)
        return cls({i.number: i for i in invoices}, by_key, by_debtor, by_name, sorted(by_name),
                   {compact_iban(k): v for k, v in (ibans or {}).items()}, by_amount)

    def update(self, number: str, principal_due: Decimal, total_due: Decimal) -> None:
        """An invoice paid in part (its new dues) or in full (dropped): later credits see what remains."""
        old = self.invoices.pop(number, None)
        if old is None:
            return
        new = old.model_copy(update={"principal_due": principal_due, "total_due": total_due, "instalment_due": None})
        keep = total_due > 0
        if keep:
            self.invoices[number] = new
        for items in (*(self.by_key.get(k, []) for k in number_keys(number)), self.by_debtor.get(old.debtor_id, [])):
            for i, item in enumerate(items):
                if item.number == number:
                    if keep:
                        items[i] = new
                    else:
                        del items[i]
                    break

    def debtors_named(self, name: str) -> set[str]:
        """The customers a payer's name designates: equal once normalised, or, for a long truncated name, the
        customers whose name starts with it."""
        key = normal_name(name)
        if not key:
            return set()
        if key in self.by_name:
            return set(self.by_name[key])
        if len(key) < MIN_PREFIX_NAME:
            return set()
        found: set[str] = set()
        for name_ in self.names[bisect.bisect_left(self.names, key):]:
            if not name_.startswith(key):
                break
            found |= self.by_name[name_]
        return found


def compact_iban(iban: str) -> str:
    return re.sub(r"\s", "", iban).upper()


# ---------------------------------------------------------------------- matching

def match(credit: Credit, book: Book, rules: BankRules) -> Match:
    referenced = _referenced(credit, book)
    by_iban = book.ibans.get(compact_iban(credit.iban)) if credit.iban else None
    named = book.debtors_named(credit.name) if credit.name else set()
    if referenced:
        found = _by_reference(credit, book, rules, referenced, by_iban, named)
    else:
        debtor = by_iban or (next(iter(named)) if len(named) == 1 else None)
        found = (_unknown_payer(credit, book, named) if debtor is None
                 else _by_customer(credit, book, rules, debtor, how="IBAN connu" if by_iban else "nom du payeur"))
    if found.verdict == "doubtful":
        return _mistyped(credit, book, by_iban, named) or found
    return found


def _mistyped(credit: Credit, book: Book, by_iban: str | None, named: set[str]) -> Match | None:
    """A number one digit away from an open invoice's (a digit changed, two swapped) whose amount is exactly the
    credit's: a typo, when nothing else read the credit and the payer, if known, is that invoice's customer."""
    text = f"{credit.remittance} {credit.creditor_reference}".upper()
    near = set()
    for run in _RUN.finditer(text):
        groups = re.findall(r"\d+", run.group())
        for size in range(1, min(MAX_GROUPS, len(groups)) + 1):
            for start in range(0, len(groups) - size + 1):
                for key in _window_keys(groups[start:start + size]):
                    if _significant(key) >= MIN_TYPO_DIGITS:
                        near.update(i.number for k in _one_digit_away(key) for i in book.by_key.get(k, []))
    fits = [book.invoices[n] for n in sorted(near) if n in book.invoices and credit.amount in _accepts(book.invoices[n])]
    fits = [i for i in fits if (by_iban is None or i.debtor_id == by_iban) and (not named or i.debtor_id in named)]
    if len(fits) != 1:
        return None
    return _sure(credit, [Allocation(invoice=fits[0].number, amount=credit.amount)], fits[0].debtor_id,
                 f"numéro à un chiffre près de la facture {fits[0].number} (faute de frappe probable), montant exact")


def _one_digit_away(key: str):
    for i, digit in enumerate(key):
        for other in "0123456789":
            if other != digit:
                yield key[:i] + other + key[i + 1:]
        if i + 1 < len(key) and key[i + 1] != digit:
            yield key[:i] + key[i + 1] + digit + key[i + 2:]


def _referenced(credit: Credit, book: Book) -> list[OpenInvoice]:
    numbers: list[str] = []
    body = rf_body(credit.creditor_reference) if credit.creditor_reference else None
    if body is not None:
        numbers += numbers_in(body, book.by_key)
    elif credit.creditor_reference and not credit.creditor_reference.strip().upper().startswith("RF"):
        numbers += numbers_in(credit.creditor_reference, book.by_key)  # a plain reference in the structured field
    numbers += [n for n in numbers_in(credit.remittance, book.by_key) if n not in numbers]
    return [book.invoices[n] for n in numbers]


def _accepts(invoice: OpenInvoice) -> set[Decimal]:
    amounts = {invoice.principal_due, invoice.total_due}
    if invoice.instalment_due:
        amounts.add(invoice.instalment_due)
    return amounts


def _by_reference(credit: Credit, book: Book, rules: BankRules, referenced: list[OpenInvoice],
                  by_iban: str | None, named: set[str]) -> Match:
    numbers = [i.number for i in referenced]
    debtors = {i.debtor_id for i in referenced}
    if len(debtors) > 1:
        return _doubtful(credit, "la référence désigne des factures de plusieurs clients", numbers)
    debtor = next(iter(debtors))
    if by_iban is not None and by_iban != debtor:
        return _doubtful(credit, "l'IBAN du payeur est celui d'un autre client que la facture citée", numbers)
    if by_iban is None and named and debtor not in named:
        return _doubtful(credit, "le nom du payeur n'est pas celui du client de la facture citée", numbers, debtor)
    amount = credit.amount
    if len(referenced) == 1 and amount in _accepts(referenced[0]):
        return _sure(credit, [Allocation(invoice=referenced[0].number, amount=amount)], debtor,
                     f"facture {referenced[0].number} citée, montant égal à ce qui est dû")
    for field in ("principal_due", "total_due"):
        if amount == sum((getattr(i, field) for i in referenced), ZERO):
            return _sure(credit, [Allocation(invoice=i.number, amount=getattr(i, field)) for i in referenced], debtor,
                         f"factures {', '.join(numbers)} citées, montant égal à leur somme")
    total = sum((i.total_due for i in referenced), ZERO)
    confirmed = by_iban == debtor or debtor in named
    if amount < total and confirmed:
        order = referenced if rules.allocation == "remittance_order" else sorted(referenced, key=lambda i: i.due_date)
        return _sure(credit, _fill(order, amount), debtor,
                     f"paiement partiel des factures citées ({', '.join(numbers)}), client confirmé par "
                     + ("l'IBAN" if by_iban == debtor else "le nom du payeur"))
    if amount > total:
        others = [i for i in book.by_debtor[debtor] if i.number not in numbers]
        combined = _combination(amount - total, others, rules)
        if combined and confirmed:
            allocations = [Allocation(invoice=i.number, amount=i.total_due) for i in referenced]
            allocations += [Allocation(invoice=i.number, amount=a) for i, a in combined]
            return _sure(credit, allocations, debtor, "factures citées et autres factures du client, montant égal à leur somme")
        return _doubtful(credit, "montant supérieur à ce que doivent les factures citées", numbers, debtor)
    return _doubtful(credit, "facture citée mais montant différent et client non confirmé", numbers, debtor)


def _by_customer(credit: Credit, book: Book, rules: BankRules, debtor: str, how: str) -> Match:
    invoices = book.by_debtor.get(debtor, [])
    numbers = [i.number for i in invoices]
    amount = credit.amount
    single = [i for i in invoices if amount in _accepts(i)]
    if len(single) == 1:
        return _sure(credit, [Allocation(invoice=single[0].number, amount=amount)], debtor,
                     f"client identifié ({how}), montant égal à la facture {single[0].number}")
    if len(single) > 1:
        return _doubtful(credit, f"client identifié ({how}), plusieurs factures de ce montant",
                         [i.number for i in single], debtor)
    for k in range(2, len(invoices) + 1):  # the oldest first: what a customer catching up usually pays
        for field in ("principal_due", "total_due"):
            if amount == sum((getattr(i, field) for i in invoices[:k]), ZERO):
                return _sure(credit, [Allocation(invoice=i.number, amount=getattr(i, field)) for i in invoices[:k]],
                             debtor, f"client identifié ({how}), montant égal à ses {k} factures les plus anciennes")
    combined = _combination(amount, invoices, rules)
    if combined:
        return _sure(credit, [Allocation(invoice=i.number, amount=a) for i, a in combined], debtor,
                     f"client identifié ({how}), montant égal à un ensemble de ses factures")
    return _doubtful(credit, f"client identifié ({how}), montant qui ne correspond à aucune facture ni ensemble de"
                             " factures", numbers, debtor)


def _unknown_payer(credit: Credit, book: Book, named: set[str]) -> Match:
    if len(named) > 1:
        candidates = [i.number for d in sorted(named) for i in book.by_debtor.get(d, []) if credit.amount in _accepts(i)]
        return _doubtful(credit, f"{len(named)} clients portent ce nom", candidates or
                         [i.number for d in sorted(named) for i in book.by_debtor.get(d, [])][:10])
    candidates = [n for n in book.by_amount.get(credit.amount, []) if n in book.invoices][:10]
    return _doubtful(credit, "payeur inconnu, aucune facture citée", candidates)


def _combination(amount: Decimal, invoices: list[OpenInvoice], rules: BankRules) -> list[tuple[OpenInvoice, Decimal]] | None:
    """The one set of these invoices whose amounts (each its principal, or each its total) add up to `amount`;
    None when there is none or more than one, or too many invoices to search them all."""
    if not invoices or len(invoices) > rules.max_invoices_combined:
        return None
    found: list[list[tuple[OpenInvoice, Decimal]]] = []
    for field in ("principal_due", "total_due"):
        for size in range(1, len(invoices) + 1):
            for subset in itertools.combinations(invoices, size):
                if sum((getattr(i, field) for i in subset), ZERO) == amount:
                    chosen = [(i, getattr(i, field)) for i in subset]
                    if not any({i.number for i, _ in f} == {i.number for i, _ in chosen} for f in found):
                        found.append(chosen)
                    if len(found) > 1:
                        return None
    return found[0] if found else None


def _fill(order: list[OpenInvoice], amount: Decimal) -> list[Allocation]:
    """Each invoice in turn up to its total, until the credit is spent."""
    allocations, left = [], amount
    for invoice in order:
        if left <= 0:
            break
        part = min(left, invoice.total_due)
        allocations.append(Allocation(invoice=invoice.number, amount=part))
        left -= part
    return allocations


def _sure(credit: Credit, allocations: list[Allocation], debtor: str, reason: str) -> Match:
    return Match(ref=credit.ref, verdict="sure", reason=reason, allocations=allocations, debtor_id=debtor)


def _doubtful(credit: Credit, reason: str, candidates: list[str], debtor: str | None = None) -> Match:
    return Match(ref=credit.ref, verdict="doubtful", reason=reason, candidates=candidates, debtor_id=debtor)


# ---------------------------------------------------------------------- before a message goes out

def probably_paid_by(credit: Credit, *, debtor_id: str, debtor_name: str, ibans: dict[str, str],
                     principal_due: Decimal, total_due: Decimal, tolerance_percent: Decimal) -> bool:
    """Whether a credit not matched yet is probably this debtor's payment of this invoice: the payer is the debtor
    (an IBAN learned for them, or their name) and the amount is close to what is due."""
    payer = ibans.get(compact_iban(credit.iban)) if credit.iban else None
    same_payer = payer == debtor_id if payer else (bool(credit.name) and normal_name(credit.name) == normal_name(debtor_name))
    if not same_payer:
        return False
    margin = tolerance_percent / 100
    return any(abs(credit.amount - due) <= due * margin for due in (principal_due, total_due) if due > 0)
