"""`relance rules check` beyond the schema: templates, escalation coverage, rate table, French practice."""
import datetime as dt

from activities.rendering import templates_by_channel
from domain.policy_checks import check_policy
from domain.rule_file import parse_policy
from relance.config import ROOT

DEFAULT = (ROOT / "rules" / "default.yaml").read_text(encoding="utf-8")
TODAY = dt.date(2026, 11, 24)


def findings(text: str, today: dt.date = TODAY) -> list[str]:
    return [str(f) for f in check_policy(parse_policy(text, "p.yaml"), templates_by_channel(), today)]


def test_the_shipped_policy_is_clean():
    assert findings(DEFAULT) == []


def test_a_missing_template_is_an_error_for_its_channel():
    text = DEFAULT.replace("template: reminder_last", "template: reminder_lats")
    assert any("error: reminders.4.template: no email template 'reminder_lats'" in f for f in findings(text))
    # A reminder sent as a letter needs a printable version: the reminders have one, a thank-you does not.
    by_post = DEFAULT.replace("    channels: [email]\n    template: reminder_overdue", "    channels: [letter]\n    template: reminder_overdue")
    assert findings(by_post) == []
    text = by_post.replace("template: reminder_overdue", "template: thank_you")
    assert any("error: reminders.2.template: no letter template 'thank_you'" in f for f in findings(text))


def test_a_letter_attached_to_an_email_needs_a_printable_template():
    attached = DEFAULT.replace("    channels: [email]\n    template: reminder_overdue",
                               "    channels: [email]\n    template: thank_you\n    attach_pdf: true")
    assert "error: reminders.2.attach_pdf: no letter template 'thank_you' in fr/ of the templates folder (RELANCE_TEMPLATES_DIR)" in findings(attached)
    assert not any("attach_pdf" in f for f in findings(attached.replace("attach_pdf: true", "attach_pdf: false")))


def test_escalation_that_leaves_debtors_uncovered_says_which():
    text = DEFAULT.replace('    when: {insured: false, amount_below: "5000.00"}\n    path: small_claims',
                           '    when: {insured: false, amount_below: "1000.00"}\n    path: small_claims')
    gaps = [f for f in findings(text) if f.startswith("warning: escalation")]
    assert any("insured=false, amount 1000.00 EUR" in f for f in gaps)
    assert not any("insured=true" in f for f in gaps)


def test_small_claims_above_the_legal_ceiling_is_an_error():
    text = DEFAULT.replace('    when: {insured: false, amount_below: "5000.00"}\n    path: small_claims',
                           '    when: {insured: false, amount_below: "9000.00"}\n    path: small_claims')
    assert any("error: escalation.2.when" in f and "ceiling" in f for f in findings(text))


def test_a_missing_half_year_rate_is_caught():
    text = DEFAULT.replace('    - {effective: 2025-07-01, rate_percent: "2.15"}\n', "")
    assert "error: penalties.ecb_rates: no ECB rate for the half-year starting 2025-07-01 (the previous one would be applied)" in findings(text)
    # The current half-year not entered yet is a warning: admins add it when the ECB rate is known.
    assert any(f.startswith("warning: penalties.ecb_rates") and "2027-01-01" in f for f in findings(DEFAULT, dt.date(2027, 2, 1)))


def test_french_practice_warnings():
    text = DEFAULT.replace("max_payment_terms_days: 60", "max_payment_terms_days: 90")
    text = text.replace("  business_days_only: true ", "  business_days_only: false ")
    text = text.replace('  points_over_ecb: "10"', '  points_over_ecb: "4"')
    text = text.replace("    offset_days: -3\n", "    offset_days: -9\n")
    found = findings(text)
    assert any("max_payment_terms_days: 90 days exceeds the 60 days" in f for f in found)
    assert any("calendar.business_days_only" in f for f in found)
    assert any("below 3 × the legal interest rate" in f for f in found)
    assert any("less than 3 days apart" in f for f in found)


def test_a_policy_without_an_insolvency_section_is_warned_of_the_legal_default():
    start = DEFAULT.index("insolvency:")
    end = DEFAULT.index("\n\n", start) + 2
    found = findings(DEFAULT[:start] + DEFAULT[end:])
    assert found == ["warning: insolvency: no insolvency section: a procédure collective gives 2 months to declare"
                     " the claim (the legal default)"]


def test_principal_before_penalties_is_warned():
    from domain.policy_checks import check_policy
    from domain.rule_file import load_policy_file
    from relance.config import ROOT

    policy = load_policy_file(ROOT / "rules" / "default.yaml")
    agreed = policy.model_copy(update={"payments": policy.payments.model_copy(update={"impute": "principal_first"})})
    assert any("1343-1" in str(f) for f in check_policy(agreed, templates_by_channel(), TODAY))
    assert not any("1343-1" in str(f) for f in check_policy(policy, templates_by_channel(), TODAY))


def test_money_settings_that_would_break_the_figures_are_refused_and_a_waived_indemnity_is_said():
    import pytest

    from domain.rule_file import RuleFileError

    for wrong in ('  days_in_year: 0', '  days_in_year: 400', '  fixed_indemnity: "-40.00"', '  points_over_ecb: "-1"'):
        key = wrong.split(":")[0]
        start = DEFAULT.index(key + ":")
        text = DEFAULT[:start] + wrong + DEFAULT[DEFAULT.index("\n", start):]
        with pytest.raises(RuleFileError, match=key.strip()):
            parse_policy(text, "p.yaml")
    waived = findings(DEFAULT.replace('  fixed_indemnity: "40.00"', '  fixed_indemnity: "0"'))
    assert any(f.startswith("warning: penalties.fixed_indemnity") and "waives" in f for f in waived)
    flat = findings(DEFAULT.replace('  fixed_indemnity: "40.00"', '  fixed_indemnity: "100.00"'))
    assert any(f.startswith("warning: penalties.fixed_indemnity") and "proof of the costs" in f for f in flat)


def test_checking_one_file_knows_the_other_policies_its_routing_names(tmp_path):
    """`rules check rules/default.yaml` (a deploy gate on the file that changed) passes while routing.yaml routes to
    a policy of another file of the folder."""
    from relance import rules_cli

    lines, errors = rules_cli.check([ROOT / "rules" / "default.yaml"], TODAY)
    assert errors == 0, lines
    assert any("routing.yaml: ok" in line for line in lines)


def test_a_condition_on_countries_names_them_by_iso_code():
    text = DEFAULT.replace('    when: {insured: false, amount_below: "5000.00"}\n    path: small_claims',
                           '    when: {insured: false, amount_below: "5000.00", countries: [FR, Belgique, QQ]}\n'
                           '    path: small_claims')
    errors = [f for f in findings(text) if ".when.countries" in f]
    assert errors == ["error: escalation.2.when.countries: 'Belgique' is not an ISO 3166 country code: write BE",
                      "error: escalation.2.when.countries: 'QQ' is not an ISO 3166 country code"]


def test_a_route_on_countries_names_them_by_iso_code(tmp_path):
    import shutil

    from relance import rules_cli

    for source in (ROOT / "rules").glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    routing = tmp_path / "routing.yaml"
    routing.write_text(routing.read_text(encoding="utf-8").replace(
        "when: {segments: [grands_comptes]}", "when: {segments: [grands_comptes], countries: [Suisse]}"), encoding="utf-8")
    lines, errors = rules_cli.check([tmp_path], TODAY)
    assert errors == 1 and f"{routing}: error: routes.0.when.countries: 'Suisse' is not an ISO 3166 country code: write CH" in lines
