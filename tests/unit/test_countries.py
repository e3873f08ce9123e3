"""A debtor's country read from what exports write, and the last line of a letter that leaves France."""
import pytest

from activities.rendering import _postal_lines
from domain.countries import KNOWN, _by_name, _key, country_code, postal_name


@pytest.mark.parametrize(("written", "code"), [
    ("BE", "BE"), (" be ", "BE"), ("BEL", "BE"), ("Belgique", "BE"), ("BELGIUM", "BE"), ("België", "BE"),
    ("Pays-Bas", "NL"), ("The Netherlands", "NL"), ("Hollande", "NL"), ("UK", "GB"), ("Grande-Bretagne", "GB"),
    ("EL", "GR"), ("Russie", "RU"), ("Fédération de Russie", "RU"), ("Turkey", "TR"), ("Türkiye", "TR"),
    ("Corée du Sud", "KR"), ("La Réunion", "RE"), ("cote d'ivoire", "CI"), ("USA", "US"), ("Kosovo", "XK"),
    ("Deutschland", "DE"), ("République démocratique du Congo", "CD"), ("Congo", "CG"),
])
def test_a_country_is_read_from_its_code_or_a_name_in_french_english_or_its_own(written, code):
    assert country_code(written) == code


@pytest.mark.parametrize("written", ["N/A", "n/a", "N.C.", "S.O.", "s/o", "-", "", "Corée", "Îles Vierges", "XX",
                                     "Belgiq", "U.S."])
def test_what_is_no_country_or_two_is_refused_not_guessed(written):
    """Punctuation never makes a code ("N/A" is not Namibia), and a name two countries share names neither."""
    with pytest.raises(ValueError, match="n'est pas un pays connu"):
        country_code(written)


def test_no_name_leads_to_two_countries():
    names = [(name, code) for code, (french, english, _, others) in KNOWN.items() for name in (french, english, *others)]
    by_key: dict[str, set[str]] = {}
    for name, code in names:
        by_key.setdefault(_key(name), set()).add(code)
    assert {key: codes for key, codes in by_key.items() if len(codes) > 1} == {}
    assert all(len(key) >= 3 for key in _by_name()), "a two-letter key would read like a code"


@pytest.mark.parametrize(("code", "line"), [
    ("BE", "BELGIQUE"), ("KR", "CORÉE DU SUD"), ("TW", "TAÏWAN"), ("VI", "ÎLES VIERGES DES ÉTATS-UNIS"),
    ("BQ", "BONAIRE, SAINT-EUSTACHE ET SABA"), ("US", "ÉTATS-UNIS"), ("XK", "KOSOVO"), ("BELGIQ", "BELGIQ"),
])
def test_a_letter_abroad_ends_with_the_countrys_french_name_in_capitals(code, line):
    assert postal_name(code) == line
    assert _postal_lines("Rue Neuve 1, 1000 Bruxelles", code)[-1] == line


@pytest.mark.parametrize("code", ["FR", "RE", "GP", "MQ", "GF", "YT"])
def test_france_and_its_overseas_departments_need_no_country_line(code):
    assert _postal_lines("12 rue des Flamboyants, 97400 Saint-Denis", code) == ["12 rue des Flamboyants",
                                                                             "97400 SAINT-DENIS"]


def test_the_consoles_contact_form_reads_a_country_the_same_and_refuses_what_is_none():
    import datetime as dt

    from console import actions

    form = actions.FORMS["contact"]
    change = actions.message(form, {"country": "Belgique"}, "olivia", dt.date(2026, 11, 24), None)
    assert change.country == "BE"
    with pytest.raises(actions.Refused, match="pays : « Belgiq » n'est pas un pays connu"):
        actions.message(form, {"country": "Belgiq"}, "olivia", dt.date(2026, 11, 24), None)
