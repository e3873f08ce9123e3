"""CFONB 120: the fixed-width account statement French banks deliver ("relevé de compte 120 caractères").

Records of 120 characters, positions below counted from 0 as Python slices:
- 01 previous balance, 07 new balance: account [21:32], date DDMMYY [34:40], amount [90:104];
- 04 movement: bank [2:7], internal operation code [7:11], branch [11:16], currency [16:19], decimals [19],
  account [21:32], interbank operation code [32:34], booking date [34:40], rejection reason [40:42], value date
  [42:48], label [48:79], entry number [81:88], amount [90:104], reference [104:120];
- 05 more about the 04 above it: qualifier [45:48] (NPY payer's name, IPY payer's identifier, LIB/LCC/LC2
  free text, LCS structured reference, RCN the payer's reference, REF...), text [48:118].
An amount is 14 characters whose last one carries the last digit and the sign: `{` and A-I positive, `}` and J-R
negative; the record says how many of its digits are decimals. The movements must add up from the previous
balance to the new one: a file cut short or altered is refused, not half imported.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from bank.entries import BankEntry, Kind, StatementError, fallback_ref

_POSITIVE = {"{": 0, **{chr(ord("A") + i): i + 1 for i in range(9)}}
_NEGATIVE = {"}": 0, **{chr(ord("J") + i): i + 1 for i in range(9)}}
_FREE_TEXT = ("LIB", "LCC", "LC2")
_FEE_WORDS = ("F ", "FRAIS", "COMMISSION", "COTISATION", "AGIOS", "INTERETS DEBITEURS")


def read(path: Path) -> list[BankEntry]:
    try:
        text = path.read_bytes().decode("latin-1")  # CFONB is ASCII; Latin-1 reads any byte, checked below
    except OSError as error:
        raise StatementError(f"{path.name}: {error}") from error
    records = [(n, line.rstrip("\r\n")) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    entries: list[BankEntry] = []
    movement: dict | None = None
    balance: Decimal | None = None
    for n, line in records:
        where = f"{path.name}, ligne {n}"
        if len(line) > 120 or not line.isascii():
            raise StatementError(f"{where}: un enregistrement CFONB fait 120 caractères ASCII ({len(line)} lus)")
        line = line.ljust(120)
        code = line[:2]
        if code == "05":
            if movement is None:
                raise StatementError(f"{where}: enregistrement 05 sans mouvement 04 avant lui")
            movement["details"].append((line[45:48], line[48:118].rstrip()))
            continue
        if movement is not None:
            entries.append(_entry(path, movement))
            movement = None
        if code == "01":
            balance = _amount(line, where)
        elif code == "04":
            if balance is None:
                raise StatementError(f"{where}: mouvement 04 avant l'ancien solde (01)")
            movement = {"line": line, "where": where, "details": [], "amount": _amount(line, where)}
            balance += movement["amount"]
        elif code == "07":
            if balance is None:
                raise StatementError(f"{where}: nouveau solde (07) sans ancien solde (01)")
            closing = _amount(line, where)
            if closing != balance:
                raise StatementError(f"{where}: le nouveau solde {closing} n'est pas l'ancien solde plus les"
                                     f" mouvements ({balance}): relevé incomplet ou altéré")
            balance = None
        else:
            raise StatementError(f"{where}: code d'enregistrement {code!r} inconnu (01, 04, 05 ou 07 attendu)")
    if movement is not None:
        entries.append(_entry(path, movement))
    if balance is not None:
        raise StatementError(f"{path.name}: relevé sans nouveau solde (07) à la fin: fichier tronqué")
    return entries


def _entry(path: Path, movement: dict) -> BankEntry:
    line, where, details = movement["line"], movement["where"], movement["details"]
    signed: Decimal = movement["amount"]
    found = {}
    for qualifier, text in details:
        found.setdefault(qualifier, []).append(text.strip())
    label = line[48:79].strip()
    free = " ".join([label, *(t for q in _FREE_TEXT for t in found.get(q, []))]).strip()
    payer_id = " ".join(found.get("IPY", []))
    account = f"{line[2:7]}{line[11:16]}{line[21:32]}".replace(" ", "")
    booked, rejection, number = _date(line[34:40], where), line[40:42].strip(), line[81:88].strip()
    ref = (f"{account}:{booked:%Y%m%d}:{number}:{line[104:120].strip()}" if number
           else fallback_ref(path.name, line, *details))
    return BankEntry(
        ref=ref, account=account, kind=_kind(signed, rejection, label), amount=abs(signed),
        currency=line[16:19].strip() or "EUR", booked_on=booked, value_on=_date(line[42:48], where) if line[42:48].strip() else booked,
        name=" ".join(found.get("NPY", [])), iban=payer_id.replace(" ", "") if _looks_like_iban(payer_id) else "",
        remittance=free, creditor_reference=" ".join(found.get("LCS", [])),
        end_to_end=" ".join(t[:35].strip() for t in found.get("RCN", [])), bank_code=line[32:34].strip(),
        return_reason=rejection,
    )


def _kind(signed: Decimal, rejection: str, label: str) -> Kind:
    if signed >= 0:
        return "credit"
    if rejection:
        return "return"  # a debit with a rejection reason: a customer's payment taken back (unpaid, returned)
    return "fee" if label.upper().startswith(_FEE_WORDS) else "debit"


def _looks_like_iban(text: str) -> bool:
    compact = text.replace(" ", "")
    return len(compact) >= 15 and compact[:2].isalpha() and compact[2:4].isdigit()


def _amount(line: str, where: str) -> Decimal:
    field, decimals = line[90:104], line[19]
    if not decimals.isdigit():
        raise StatementError(f"{where}: nombre de décimales {decimals!r} illisible (position 20)")
    digits, last = field[:-1].replace(" ", "0"), field[-1]
    if not digits.isdigit() or last not in _POSITIVE and last not in _NEGATIVE:
        raise StatementError(f"{where}: montant {field!r} illisible (positions 91 à 104)")
    sign = 1 if last in _POSITIVE else -1
    value = int(digits + str(_POSITIVE.get(last, _NEGATIVE.get(last))))
    return sign * Decimal(value).scaleb(-int(decimals))


def _date(text: str, where: str) -> dt.date:
    try:
        day = dt.datetime.strptime(text, "%d%m%y").date()
    except ValueError:
        raise StatementError(f"{where}: date {text!r} illisible (JJMMAA attendu)") from None
    return day


def write_amount(amount: Decimal, decimals: int = 2) -> str:
    """The 14-character amount field for `amount` (tests and examples write statements with it)."""
    value = int((abs(amount) * (10 ** decimals)).to_integral_value())
    text = f"{value:014d}"
    table = _POSITIVE if amount >= 0 else _NEGATIVE
    last = next(k for k, v in table.items() if v == int(text[-1]))
    return text[:-1] + last
