"""Amounts typed by ops at the prompt are read and bounded as the ledger's are, before any server is contacted."""
from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from relance.ledger import read_amount

RELANCE = str(Path(sys.executable).parent / "relance")


@pytest.mark.parametrize("text, amount", [
    ("1234.56", Decimal("1234.56")), ("1 234,56", Decimal("1234.56")), ("1\u202f234,56 €", Decimal("1234.56")),
    ("40", Decimal("40")), ("100000000,00", Decimal("100000000.00")),
])
def test_an_amount_as_ops_write_it_is_read(text, amount):
    assert read_amount(text) == amount


@pytest.mark.parametrize("text, why", [
    ("1E400", "n'est pas un montant"), ("1e308", "n'est pas un montant"), ("NaN", "n'est pas un montant"),
    ("Infinity", "n'est pas un montant"), ("1_000", "n'est pas un montant"), ("\u0661\u0662\u0663", "n'est pas un montant"),
    ("", "n'est pas un montant"), ("0", "hors bornes"), ("-5,00", "hors bornes"), ("12,345", "hors bornes"),
    ("100000000,01", "hors bornes"), ("999999999999999999999999", "hors bornes"),
])
def test_an_amount_out_of_bounds_or_not_an_amount_is_refused_in_french(text, why):
    with pytest.raises(ValueError, match=why):
        read_amount(text)


@pytest.mark.parametrize("command", [
    ["pay", "F-1", "1E400"],
    ["plan", "F-1", "--instalment", "2027-01-15=1e308"],
    ["resolve", "F-1", "--credit", "1_000"],
    ["insurer", "F-1", "indemnified", "--amount", "100000000,01"],
])
def test_each_command_refuses_the_amount_before_contacting_temporal(command):
    # Port 1 answers nobody: a command that got as far as connecting would say Temporal is unreachable.
    env = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:1"}
    done = subprocess.run([RELANCE, *command], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "relance: montant refusé : " in done.stderr, done.stderr


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command line of this checkout (not an installed copy), Temporal out of reach on purpose."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "TEMPORAL_ADDRESS": "127.0.0.1:9", "RELANCE_RULES_DIR": str(root / "rules")}
    return subprocess.run([sys.executable, "-c", "from relance.cli import main; main()", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_json_is_what_rules_check_and_an_import_dry_run_print_when_asked(tmp_path):
    import datetime as dt
    import json

    from tests import clock

    due = clock.dev_server_today() + dt.timedelta(days=20)  # the CLI plans on the machine's day
    ledger = tmp_path / "book.csv"
    ledger.write_text("number;issue_date;due_date;debtor_id;debtor_name;debtor_email;amount_incl_tax\n"
                      f"J-1;{due - dt.timedelta(days=30):%d/%m/%Y};{due:%d/%m/%Y};D1;Client 1;c1@x.example;1 200,00\n"
                      f"J-2;{due - dt.timedelta(days=30):%d/%m/%Y};{due:%d/%m/%Y};D2;Client 2;pas-un-email;600,00\n",
                      encoding="utf-8")
    planned = _cli("import", str(ledger), "--dry-run", "--json", cwd=tmp_path)
    answer = json.loads(planned.stdout)
    assert planned.returncode == 1 and answer["rejected_rows"] == 1, planned.stderr
    assert [i["number"] for i in answer["invoices"]] == ["J-1"] and answer["invoices"][0]["on"]
    assert {(e["row"], e["field"], e["severity"]) for e in answer["errors"]} >= {(3, "debtor_email", "error")}
    assert answer["places_unknown"], "Temporal out of reach: the places of earlier imports were not counted"
    checked = _cli("rules", "check", "--json", cwd=tmp_path)
    assert checked.returncode == 0 and json.loads(checked.stdout)["errors"] == 0, checked.stdout + checked.stderr


def test_bad_arguments_are_refused_in_french_without_a_traceback(tmp_path):
    for args, said in ((["pay", "F-1", "10", "--date", "31/02/2026"], "n'est pas une date"),
                       (["rules", "simulate", "--fast", "--ledger", "x.csv", "--rebase", "99999999"], "entre -3650 et 3650"),
                       (["rules", "simulate", "--fast", "--ledger", "x.csv", "--rules", str(tmp_path / "none")],
                        "dossier de règles introuvable")):
        done = _cli(*args, cwd=tmp_path)
        assert done.returncode != 0 and said in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)


@pytest.mark.timeout(180)
def test_a_preview_whose_case_stops_on_an_impossible_step_says_which_and_exits_1(tmp_path):
    """A small claim without the debtor's address cannot be written: the workflow preview shows the case stopped,
    names it on stderr, and a deploy script stops on its exit status."""
    ledger = tmp_path / "no_address.csv"
    ledger.write_text("number;issue_date;due_date;debtor_id;debtor_name;debtor_email;amount_incl_tax;script\n"
                      "NA-1;01/01/2027;31/01/2027;D1;Client 1;c1@x.example;3 000,00;\n", encoding="utf-8")
    done = _cli("rules", "simulate", "--ledger", str(ledger), "--rebase", "-5", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NA-1: étape small_claims:dossier impossible" in done.stderr and "debtor.address manquant" in done.stderr
    assert "1 dossier(s) arrêté(s)" in done.stderr and "Traceback" not in done.stderr


def test_a_country_that_is_no_country_is_refused_before_contacting_temporal(tmp_path):
    done = _cli("contact", "D-1", "--country", "Belgiq", cwd=tmp_path)
    assert done.returncode == 1 and "pays : « Belgiq » n'est pas un pays connu" in done.stderr, done.stderr
    read = _cli("contact", "D-1", "--country", "Belgique", cwd=tmp_path)
    assert "pays" not in read.stderr and "Temporal" in read.stderr, "read as BE: it went on to reach the server"
