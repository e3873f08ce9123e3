"""The daily cap on first messages holds across imports: a second import, from any host, counts the places the
first took (through visibility) and starts its late invoices on the days after."""
from __future__ import annotations

import datetime as dt
import uuid

from domain.calendar import next_business_day
from domain.rule_file import load_policy_file
from tests import clock
from tests.service.conftest import eventually, relance
from workflows.visibility import CATCH_UP_PLACE, literal, place_value

HEADER = "number;issue_date;due_date;debtor_id;debtor_name;debtor_email;amount_incl_tax;insured;policy\n"


def _late_rows(tag: str, first: int, today: dt.date) -> str:
    """Three invoices 50 days late: each asks for a first message today."""
    due, issued = today - dt.timedelta(days=50), today - dt.timedelta(days=80)
    return "".join(f"CAP-{tag}-{n};{issued:%d/%m/%Y};{due:%d/%m/%Y};D-{tag}-{n};Client {n};c{n}@client.example;"
                   f"1 200,00;non;capped-{tag}\n" for n in range(first, first + 3))


async def test_a_second_import_the_same_day_takes_the_places_after_the_first(service, dev_server, rules_dir, tmp_path):
    tag = uuid.uuid4().hex[:6]
    text = (rules_dir / "default.yaml").read_text(encoding="utf-8")
    text = text.replace("policy_id: default", f"policy_id: capped-{tag}").replace(
        "daily_first_messages: 200", "daily_first_messages: 2")
    (rules_dir / f"capped-{tag}.yaml").write_text(text, encoding="utf-8")
    policy = load_policy_file(rules_dir / f"capped-{tag}.yaml")
    today = clock.dev_server_today()  # the day the CLI imports on (the dev server runs on the real clock)
    days = [next_business_day(today, policy.calendar)]
    for _ in range(2):
        days.append(next_business_day(days[-1] + dt.timedelta(days=1), policy.calendar))

    async def places() -> list[int]:
        counts = []
        for day in days:
            query = (f"TaskQueue = {literal(service.task_queue)} AND {CATCH_UP_PLACE.name} = "
                     f"{literal(place_value(policy.policy_id, day))}")
            counts.append((await dev_server.client.count_workflows(query)).count)
        return counts

    first = tmp_path / "first.csv"
    first.write_text(HEADER + _late_rows(tag, 1, today), encoding="utf-8")
    done = await relance(service, "import", str(first), "--no-wait")
    assert done.returncode == 0, done.stderr
    assert await eventually(lambda: _equals(places(), [2, 1, 0])), await places()

    second = tmp_path / "second.csv"
    second.write_text(HEADER + _late_rows(tag, 4, today), encoding="utf-8")
    preview = await relance(service, "import", str(second), "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert f"{days[0]:%d/%m/%Y}" not in preview.stdout, "the first day is full: the preview counts the first import"
    done = await relance(service, "import", str(second), "--no-wait")
    assert done.returncode == 0, done.stderr
    assert await eventually(lambda: _equals(places(), [2, 2, 2])), await places()


async def _equals(counts, expected) -> bool:
    return await counts == expected
