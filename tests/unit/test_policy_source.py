"""How a worker reads policies from their registry: cases opening together share the registry's answers."""
from __future__ import annotations

import asyncio
from pathlib import Path

from activities import policy_source
from activities.contracts import PolicyRequest
from activities.policy_source import PolicySource
from activities.rules import RuleDirectory
from domain.versions import Observed

RULES = Path(__file__).resolve().parents[2] / "rules"


def test_cases_opening_together_send_the_registry_one_report_and_share_its_answer(monkeypatch):
    """A preview opens thousands of cases at once on a server whose registry holds nothing yet: one report of
    the worker's file, not one update per case (Temporal refuses more than a few in flight per workflow)."""
    registry: dict[str, object] = {}
    calls = {"describe": 0, "report": 0}

    async def report(client, task_queue, policy, seen_by):
        calls["report"] += 1
        await asyncio.sleep(0.01)
        registry[policy.policy_id] = policy
        return Observed(accepted=True, message=f"{policy.ref} enregistrée")

    async def describe(self, policy_id):
        calls["describe"] += 1
        await asyncio.sleep(0.01)
        return registry.get(policy_id)

    monkeypatch.setattr(policy_source, "report", report)
    monkeypatch.setattr(PolicySource, "_describe", describe)
    source = PolicySource(None, "q", RuleDirectory(RULES), "test")

    async def open_cases():
        return await asyncio.gather(*(source.load_policy(PolicyRequest(policy_id="default")) for _ in range(200)))

    policies = asyncio.run(open_cases())
    assert {p.ref for p in policies} == {registry["default"].ref} and calls["report"] == 1
    assert calls["describe"] <= 3, calls
