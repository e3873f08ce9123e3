"""`relance import` refuses what a case could not carry, row by row, naming the row and the column."""
from __future__ import annotations

import json
import uuid

from tests.service.conftest import relance

HEADER = "number;issue_date;due_date;debtor_id;debtor_name;debtor_email;amount_incl_tax\n"


async def test_import_refuses_hostile_rows_each_with_its_row_and_column(service, tmp_path):
    tag = uuid.uuid4().hex[:6]
    # Dates far from any today the suite runs on: 1990 is over 10 years back, 9999 is no invoice's year.
    rows = [f"H-{tag}-1;1990-01-15;1990-03-01;D-{tag};Old SARL;a@old.example;100,00",
            f"H-{tag}-2;1990-01-15;9999-12-31;D-{tag};Late SARL;a@late.example;100,00",
            f"H-{tag}-3;1990-01-15;1990-03-01;D-{tag};Big SARL;a@big.example;1E400",
            f"H-{tag}-4;1990-01-15;1990-03-01;D-{tag};Nul SARL;a\x00b@nul.example;100,00",
            f"H-{tag}-5;1990-01-15;1990-03-01;D-{tag};Arab SARL;a@arab.example;١٢٣"]
    file = tmp_path / "hostile.csv"
    file.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    done = await relance(service, "import", str(file), "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["started"] == 0
    refused = {(e["row"], e["field"]) for e in report["errors"]}
    assert {(2, "issue_date"), (3, "due_date"), (4, "amount_incl_tax"), (5, "debtor_email"),
            (6, "amount_incl_tax")} <= refused
