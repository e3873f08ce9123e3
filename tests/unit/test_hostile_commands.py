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
