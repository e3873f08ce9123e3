"""Rule files are read by every worker: a hostile one must be refused at once, never freeze anything."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from activities.rules import RuleDirectory
from domain import rule_file
from domain.rule_file import MAX_NESTING, MAX_RULE_FILE_BYTES, RuleFileError, load_policy_file, parse_policy
from tests.unit.test_rule_file import VALID

RELANCE = str(Path(sys.executable).parent / "relance")


def billion_laughs(levels: int = 9) -> str:
    """About 400 bytes that expand to 9**levels strings."""
    lines = ["policy_id: bomb", "version: 1", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def test_rules_check_refuses_the_billion_laughs_at_once(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    # Unprotected, this took 95 to 210 s of CPU; the timeout kills it instead of hanging the suite.
    done = subprocess.run([RELANCE, "rules", "check", str(bomb)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f"{bomb}:3: alias/anchor not allowed in rule files (line 3)" in done.stdout + done.stderr


@pytest.mark.parametrize(("text", "line"), [
    (VALID + "extra: &shared 3\n", VALID.count("\n") + 1),
    (VALID.replace("version: 1", "version: *v"), 2),
    (VALID + "formal_notice_copy:\n  <<: *base\n", VALID.count("\n") + 2),
])
def test_an_anchor_or_alias_is_refused_with_its_line(text, line):
    with pytest.raises(RuleFileError) as caught:
        parse_policy(text, "p.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"p.yaml:{line}: alias/anchor not allowed in rule files (line {line}); write the values out in full"]


def test_a_file_over_the_size_bound_is_refused_before_it_is_parsed(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(VALID + "# " + "x" * MAX_RULE_FILE_BYTES + "\n")
    with pytest.raises(RuleFileError, match=r"big.yaml: \d+ bytes; a rule file is at most 256 KB"):
        load_policy_file(big)
    with pytest.raises(RuleFileError, match="at most 256 KB"):
        parse_policy(big.read_text(), "big.yaml")


def test_deep_nesting_is_refused_with_a_clear_error_not_a_recursion_error():
    deep = VALID + "deep: " + "[" * 100 + "]" * 100 + "\n"
    with pytest.raises(RuleFileError, match=f"nested more than {MAX_NESTING} levels deep"):
        parse_policy(deep, "p.yaml")


def test_the_duplicate_key_walk_visits_each_node_once(monkeypatch):
    """Even on a graph of shared nodes (what aliases compose to), the walk stays linear."""
    root = yaml.compose(billion_laughs(levels=7), Loader=yaml.SafeLoader)
    calls = 0
    walk = rule_file._collect_duplicate_keys

    def counting(*args):
        nonlocal calls
        calls += 1
        return walk(*args)

    monkeypatch.setattr(rule_file, "_collect_duplicate_keys", counting)
    assert rule_file._structure_problems(root, "p.yaml") == []
    assert calls < 200, f"{calls} visits for about 80 nodes: the walk expands shared nodes"


def test_the_watcher_loads_rules_off_the_event_loop(tmp_path):
    rules = RuleDirectory(tmp_path)
    started, release = threading.Event(), threading.Event()
    loads = []

    def slow_load():
        loads.append(1)
        started.set()
        release.wait(5)
        return {}

    rules.load = slow_load

    async def scenario():
        ticks = 0
        waiting = asyncio.ensure_future(rules.load_off_loop(timeout=5))
        while not started.is_set():
            await asyncio.sleep(0.001)
        for _ in range(5):  # the loop keeps turning while a rule file is read
            await asyncio.sleep(0)
            ticks += 1
        release.set()
        assert await waiting == {}
        return ticks

    assert asyncio.run(scenario()) == 5


def test_a_load_over_the_time_bound_is_reported_and_not_started_twice(tmp_path):
    rules = RuleDirectory(tmp_path)
    release = threading.Event()
    loads = []

    def stuck_load():
        loads.append(1)
        release.wait(5)
        return {}

    rules.load = stuck_load

    async def scenario():
        with pytest.raises(TimeoutError, match="took more than 0.05s"):
            await rules.load_off_loop(timeout=0.05)
        with pytest.raises(TimeoutError):
            await rules.load_off_loop(timeout=0.05)
        release.set()
        return await rules.load_off_loop(timeout=5)

    assert asyncio.run(scenario()) == {}
    assert len(loads) == 1, "a second tick waits for the load under way instead of starting another"


def test_the_worker_watcher_goes_through_the_off_loop_load():
    from relance import policies

    class Rules:
        called_with = None

        async def load_off_loop(self, timeout):
            Rules.called_with = timeout
            stop.set()
            return {}

        def load(self):
            raise AssertionError("the watcher must not parse rule files on the event loop")

    stop = asyncio.Event()

    async def run():
        await policies.watch(None, "q", Rules(), every_seconds=0.01, stop=stop)

    asyncio.run(run())
    assert Rules.called_with == policies.LOAD_SECONDS


def test_a_worker_reads_its_own_rule_files_off_the_event_loop():
    """What the policy activity does when the registry has nothing yet (activities.policy_source)."""
    rules = RuleDirectory(Path(__file__).resolve().parents[2] / "rules")
    threads = []
    real_load = rules.load

    def watched_load():
        threads.append(threading.current_thread())
        return real_load()

    rules.load = watched_load
    policy = asyncio.run(rules.get_off_loop("default"))
    assert policy.policy_id == "default"
    assert threads and threading.main_thread() not in threads


def test_a_refused_file_is_kept_aside_for_its_policys_registry_until_fixed(tmp_path):
    source = (Path(__file__).resolve().parents[2] / "rules" / "default.yaml").read_text(encoding="utf-8")
    path = tmp_path / "renamed.yaml"
    path.write_text(source.replace("  deadline_days: 8", "  deadline_days: -8"), encoding="utf-8")
    rules = RuleDirectory(tmp_path)
    assert rules.load() == {}
    [refused] = rules.refused()
    # Named by its `policy_id:` line, read without YAML (the file may be hostile), not by the file's name.
    assert refused.policy_id == "default" and refused.source == str(path)
    assert any("formal_notice.deadline_days" in p for p in refused.problems)

    path.write_text(source, encoding="utf-8")
    assert set(rules.load()) == {"default"} and rules.refused() == []


def test_a_huge_routing_table_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from domain.routing import load_routing

    with (tmp_path / "routing.yaml").open("wb") as file:
        file.truncate(4 * 1024 ** 3)  # 4 GB, sparse: read whole it would take the memory of the worker

    def unread(self, *args, **kwargs):
        raise AssertionError(f"{self} was read whole")

    monkeypatch.setattr(Path, "read_text", unread)
    monkeypatch.setattr(Path, "read_bytes", unread)
    with pytest.raises(RuleFileError, match="a rule file is at most 256 KB"):
        load_routing(tmp_path)
