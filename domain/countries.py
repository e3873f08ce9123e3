"""A debtor's country: kept as its ISO 3166-1 code, read from a code or a name (an export writes "BE", "Belgique"
or "Belgium"), printed in French capitals on the last line of a letter sent abroad."""
from __future__ import annotations

import re
import unicodedata

from domain.iso_countries import COUNTRIES

# Names exports use that are neither ISO codes nor ISO names.
_ALIASES = {"UK": "GB", "USA": "US", "ANGLETERRE": "GB", "HOLLANDE": "NL", "ETATSUNISDAMERIQUE": "US"}


def _key(text: str) -> str:
    """Letters only, capitals, no accents: "Pays-Bas" and "PAYS BAS" are one key."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Z]", "", plain.upper())


def _natural(name: str) -> str:
    """ISO's inverted forms as they are said: "Corée, République de" -> "République de Corée"."""
    if ", " not in name:
        return name
    head, tail = name.split(", ", 1)
    return f"{tail}{'' if tail.endswith(chr(39)) else ' '}{head}"


_BY_KEY = {**{_key(alias): code for alias, code in _ALIASES.items()},
           **{_key(name): code for code, names in COUNTRIES.items() for name in (*names, _natural(names[0]))},
           **{code: code for code in COUNTRIES}}


def country_code(text: str) -> str:
    """The ISO code of `text`, a code or a name in French or English, in any case, with or without accents."""
    code = _BY_KEY.get(_key(text))
    if code is None:
        raise ValueError(f"« {text.strip()} » n'est pas un pays connu : un code ISO à deux lettres (FR, BE, DE...)"
                         " ou son nom")
    return code


def is_country(code: str) -> bool:
    return code in COUNTRIES


def postal_name(code: str) -> str:
    """The last line of an address abroad: the country's French name in capitals ("BELGIQUE"); a code this table
    does not know (a case opened before countries were checked) prints as it was kept."""
    names = COUNTRIES.get(code)
    return _natural(names[0]).upper() if names else code.upper()
