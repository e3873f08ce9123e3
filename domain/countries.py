"""A debtor's country: kept as its ISO 3166-1 code, read from a code or a name (an export writes "BE", "BEL",
"Belgique" or "Belgium"), printed in French capitals on the last line of a letter sent abroad."""
from __future__ import annotations

import re
import unicodedata

from domain.iso_countries import COUNTRIES

# Kosovo has no ISO code; the European Commission, banks and ERPs use XK.
EXTRA = {"XK": ("Kosovo", "Kosovo", "XKX", ())}
KNOWN = {**COUNTRIES, **EXTRA}

# Two letters that are not the country's ISO code but are written for it (the UK, the EU's code for Greece).
_TWO_LETTERS = {"UK": "GB", "EL": "GR"}
# Names exports use that ISO does not give.
_NAMES = {
    "Grande-Bretagne": "GB", "Great Britain": "GB", "Angleterre": "GB", "England": "GB", "Écosse": "GB",
    "Scotland": "GB", "Pays de Galles": "GB", "Wales": "GB", "Irlande du Nord": "GB", "Northern Ireland": "GB",
    "Hollande": "NL", "Holland": "NL", "Turkey": "TR", "Czech Republic": "CZ", "République tchèque": "CZ",
    "Russia": "RU", "Corée du Nord": "KP", "Moldavie": "MD", "Syrie": "SY", "Laos": "LA", "Vatican": "VA",
    "Cap-Vert": "CV", "Swaziland": "SZ", "Macédoine": "MK", "Macedonia": "MK", "Burma": "MM", "Birmanie": "MM",
    "États-Unis d'Amérique": "US", "USA": "US", "Fédération de Russie": "RU", "Ivory Coast": "CI", "RDC": "CD",
    "RD Congo": "CD", "Congo-Kinshasa": "CD", "Congo-Brazzaville": "CG",
    # Neighbours as they name themselves.
    "Deutschland": "DE", "Schweiz": "CH", "Svizzera": "CH", "España": "ES", "Italia": "IT", "Nederland": "NL",
    "België": "BE", "Belgien": "BE", "Österreich": "AT", "Polska": "PL", "Danmark": "DK", "Sverige": "SE",
    "Norge": "NO", "Suomi": "FI", "Éire": "IE", "Magyarország": "HU", "Česko": "CZ"
}
# The last line of an address abroad where ISO's French name is inverted ("Corée, République de") or official.
_POSTAL = {
    "AX": "Îles Åland", "BO": "Bolivie", "CC": "Îles Cocos", "CX": "Île Christmas", "FK": "Îles Malouines",
    "FM": "Micronésie", "IR": "Iran", "KP": "Corée du Nord", "KR": "Corée du Sud", "LA": "Laos", "MD": "Moldavie",
    "PS": "Palestine", "RU": "Russie", "SB": "Îles Salomon", "SH": "Sainte-Hélène", "SY": "Syrie", "TW": "Taïwan",
    "TZ": "Tanzanie", "VE": "Venezuela", "VI": "Îles Vierges des États-Unis", "VA": "Vatican",
}
# French overseas departments: a domestic address, whose postcode (971 to 976) says where it goes.
DOMESTIC = {"FR", "GP", "MQ", "GF", "RE", "YT"}
_ARTICLES = {"LE", "LA", "LES", "L", "THE"}


def _key(text: str) -> str:
    """Letters only, capitals, no accents, no leading article: "La Réunion" and "REUNION" are one key."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()
    words = re.findall(r"[A-Z]+", plain)
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return "".join(words)


def _by_name() -> dict[str, str]:
    names = [(name, code) for code, (french, english, _, others) in KNOWN.items()
             for name in (french, english, *others, _POSTAL.get(code, french))] + list(_NAMES.items())
    keyed = [(_key(name), code) for name, code in names]
    # The usual name before ISO's comma ("Russie" of "Russie, Fédération de"), unless another country's name starts
    # with it ("Corée" is two countries, "Îles Vierges" two territories).
    heads = {(_key(name.split(", ")[0]), code) for name, code in names if ", " in name}
    keyed += [(head, code) for head, code in heads
              if not any(key.startswith(head) for key, other in keyed if other != code)]
    return {key: code for key, code in keyed if len(key) >= 3}


_BY_NAME = _by_name()
_BY_ALPHA3 = {alpha3: code for code, (_, _, alpha3, _) in KNOWN.items()}


def country_code(text: str) -> str:
    """The country's code from its ISO code (two or three letters) or its name in French or English, in any case,
    with or without accents. Only letters make a code: "N/A" is no country, not Namibia."""
    given = text.strip()
    if re.fullmatch(r"[A-Za-z]{2}", given):
        code = _TWO_LETTERS.get(given.upper(), given.upper())
    elif re.fullmatch(r"[A-Za-z]{3}", given):
        code = _BY_ALPHA3.get(given.upper()) or _BY_NAME.get(given.upper(), "")
    elif len(key := _key(given)) > 3:
        code = _BY_NAME.get(key, "")
    else:
        code = ""
    if code not in KNOWN:
        raise ValueError(f"« {given} » n'est pas un pays connu : un code ISO (FR, BE, DE...) ou le nom du pays")
    return code


def is_country(code: str) -> bool:
    return code in KNOWN


def postal_name(code: str) -> str:
    """The last line of an address abroad, the country's French name in capitals ("BELGIQUE"), as the Universal
    Postal Union asks; "" for France and its overseas departments. A code this table does not know (kept from an
    export before countries were read) prints as it was kept."""
    if code in DOMESTIC or not code:
        return ""
    known = KNOWN.get(code)
    return (_POSTAL.get(code) or known[0]).upper() if known else code.upper()
