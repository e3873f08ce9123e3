import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from domain.rule_file import (
    Problem,
    RuleFileError,
    content_hash,
    load_policy_dir,
    load_policy_file,
    parse_policy,
)

ROOT = Path(__file__).resolve().parents[2]

# A complete, valid policy whose line numbers the tests below rely on: edit with care.
VALID = """\
policy_id: test
version: 1
max_payment_terms_days: 60
calendar:
  extra_closed_days: [2026-12-24]
reminders:
  - id: r1
    offset_days: -3
    channels: [email]
    template: reminder_courtesy
  - id: r2
    offset_days: 2
    channels: [email]
    template: reminder_overdue
formal_notice:
  offset_days: 60
  deadline_days: 8
  channels: [email, letter]
negotiation:
  max_instalments: 6
  min_instalment: "200.00"
  max_duration_days: 180
  reminder_days_before: 3
  grace_days: 5
  on_missed_instalment: formal_notice
escalation:
  - id: all
    path: injonction
injonction:
  serve_within_months: 6
  opposition_months: 1
  task_days_before_deadline: 15
  court_fee: "35.21"
small_claims:
  max_amount: "5000.00"
  response_months: 1
insurer:
  name: Assureur
  claims_email: sinistres@assureur.example
  max_credit_period_days: 120
  filing_window_days: 30
  extension_days: 60
  file_days_before_deadline: 10
  cover_percent: "90"
  deductible: "0.00"
  waiting_period_months: 5
disputes:
  default_review_days: 30
  on_resume: shift
payments:
  close_below: "1.00"
penalties:
  points_over_ecb: "10"
  fixed_indemnity: "40.00"
  ecb_rates:
    - {effective: 2026-01-01, rate_percent: "2.15"}
ops:
  email: ops@example.test
creditor:
  name: Fournisseur
  address: 1 rue A, 69000 Lyon
  siren: "123456789"
  email: compta@example.test
"""


def _problems(text: str, source: str = "rules/x.yaml") -> list[Problem]:
    with pytest.raises(RuleFileError) as caught:
        parse_policy(text, source)
    return caught.value.problems


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_default_rules_load():
    policy = load_policy_file(ROOT / "rules" / "default.yaml")
    assert policy.policy_id == "default"
    assert re.fullmatch(r"[0-9a-f]{16}", policy.content_hash)


def test_yaml_dates_and_quoted_decimals_are_valid():
    policy = parse_policy(VALID, "rules/test.yaml")
    assert policy.calendar.extra_closed_days == [dt.date(2026, 12, 24)]
    assert policy.penalties.ecb_rates[0].effective == dt.date(2026, 1, 1)
    assert policy.negotiation.min_instalment == Decimal("200.00")


def test_two_errors_are_both_reported_at_their_lines():
    text = _replace(VALID, "    offset_days: 2\n", "    offset_days: soon\n")
    text = _replace(text, 'cover_percent: "90"', "cover_percent: 150")

    problems = _problems(text)

    assert [(p.line, p.field) for p in problems] == [
        (12, "reminders.1.offset_days"),
        (44, "insurer.cover_percent"),
    ]
    assert str(problems[0]).startswith("rules/x.yaml:12: reminders.1.offset_days: Input should be a valid integer")


def test_error_message_lists_every_problem_one_per_line():
    text = _replace(VALID, "    offset_days: 2\n", "    offset_days: soon\n")
    text = _replace(text, 'cover_percent: "90"', "cover_percent: 150")
    with pytest.raises(RuleFileError) as caught:
        parse_policy(text, "rules/x.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[1] == "rules/x.yaml:44: insurer.cover_percent: Input should be less than or equal to 100"


def test_missing_key_points_at_its_parent():
    problems = _problems(_replace(VALID, "  deadline_days: 8\n", ""))
    assert [(p.line, p.field, p.message) for p in problems] == [(15, "formal_notice.deadline_days", "missing")]


def test_unknown_key_points_at_itself():
    problems = _problems(_replace(VALID, "  grace_days: 5\n", "  grace_days: 5\n  grace_period: 5\n"))
    assert [(p.line, p.field) for p in problems] == [(25, "negotiation.grace_period")]


def test_error_inside_a_flow_mapping_of_a_list():
    problems = _problems(_replace(VALID, "effective: 2026-01-01", "effective: someday"))
    assert [(p.line, p.field) for p in problems] == [(56, "penalties.ecb_rates.0.effective")]


def test_model_level_error_points_at_the_key_it_names():
    problems = _problems(_replace(VALID, "  offset_days: 60\n", "  offset_days: 1\n"))
    assert [(p.line, p.field) for p in problems] == [(16, "formal_notice.offset_days")]
    assert "must come after the last reminder" in problems[0].message


def test_model_level_error_without_a_key_points_at_line_1():
    problems = _problems(_replace(VALID, "  - id: all\n", "  - id: r1\n"))
    assert [(p.line, p.field) for p in problems] == [(1, "")]
    assert "repeated: r1" in problems[0].message


def test_yaml_syntax_error_has_a_line():
    problems = _problems(_replace(VALID, "channels: [email, letter]", "channels: [email, letter"))
    assert len(problems) == 1
    assert problems[0].line == 19  # where the parser notices; the message names where the list opened
    assert "line 18" in problems[0].message


def test_repeated_key_is_reported():
    problems = _problems(VALID + "ops:\n  email: other@example.test\n")
    assert [(p.line, p.field) for p in problems] == [(64, "ops")]
    assert "first at line 57" in problems[0].message


def test_file_may_not_set_content_hash():
    problems = _problems(VALID + "content_hash: deadbeef\n")
    assert [(p.line, p.field) for p in problems] == [(64, "content_hash")]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n"])
def test_a_file_that_is_not_a_mapping(text):
    problems = _problems(text)
    assert len(problems) == 1 and problems[0].line == 1


def test_content_hash_follows_the_text():
    policy = parse_policy(VALID, "rules/test.yaml")
    assert policy.content_hash == content_hash(VALID)
    assert parse_policy(VALID, "elsewhere.yaml").content_hash == policy.content_hash
    edited = parse_policy(VALID.replace("version: 1", "version: 2"), "rules/test.yaml")
    assert edited.content_hash != policy.content_hash
    assert parse_policy(VALID + "# a comment\n", "rules/test.yaml").content_hash != policy.content_hash


def test_problem_str_without_line_or_field():
    assert str(Problem("rules/x.yaml", None, "", "no such file")) == "rules/x.yaml: no such file"


def test_load_dir_keys_by_policy_id(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yml").write_text(VALID.replace("policy_id: test", "policy_id: other"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    assert sorted(load_policy_dir(tmp_path)) == ["other", "test"]


def test_duplicate_policy_id_names_both_files(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(VALID.replace("version: 1", "version: 2"), encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_policy_dir(tmp_path)
    [problem] = caught.value.problems
    assert problem.file == str(tmp_path / "b.yaml")
    assert (problem.line, problem.field) == (1, "policy_id")
    assert str(tmp_path / "a.yaml") in problem.message


def test_load_dir_gathers_problems_of_all_files(tmp_path):
    (tmp_path / "a.yaml").write_text(_replace(VALID, "version: 1", "version: 0"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text("policy_id: [\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(VALID.replace("policy_id: test", "policy_id: fine"), encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_policy_dir(tmp_path)
    assert [(Path(p.file).name, p.line) for p in caught.value.problems] == [("a.yaml", 2), ("b.yaml", 2)]


def test_load_dir_without_rule_files(tmp_path):
    with pytest.raises(RuleFileError, match="no \\*.yaml"):
        load_policy_dir(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(RuleFileError, match="no such file"):
        load_policy_file(tmp_path / "absent.yaml")


def test_import_starts_nothing_under_a_broken_policy(tmp_path):
    from relance.rules_cli import valid_policies

    good = (ROOT / "rules" / "default.yaml").read_text()
    (tmp_path / "default.yaml").write_text(good)
    broken = good.replace("policy_id: default", "policy_id: export").replace("  max_instalments: 6", "  max_instalments: -1")
    (tmp_path / "export.yaml").write_text(broken)
    policies, problems = valid_policies(tmp_path)
    assert set(policies) == {"default"}
    line = broken.splitlines().index("  max_instalments: -1") + 1
    assert problems == [p for p in problems if "export.yaml" in p] and any(f"export.yaml:{line}: negotiation.max_instalments" in p for p in problems)


def test_the_admins_reference_matches_the_models():
    from relance import schema_doc

    assert schema_doc.REFERENCE_PATH.read_text(encoding="utf-8") == schema_doc.reference(), (
        "docs/rules.md is stale: run `relance rules schema --write`")
    assert "| `offset_days` |" in schema_doc.reference()


def test_cases_under_one_policy_version_share_one_instance():
    from domain.policy import shared

    first, again = (parse_policy(VALID, "a.yaml") for _ in range(2))
    edited = parse_policy(VALID.replace("extra_closed_days: [2026-12-24]", "extra_closed_days: []"), "a.yaml")

    assert first is not again and shared(first) is shared(again)
    assert shared(edited) is edited, "same id and version, different content: never mixed up"
    unhashed = first.model_copy(update={"content_hash": ""})
    assert shared(unhashed) is unhashed
