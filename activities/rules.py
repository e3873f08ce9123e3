"""Rule files as the workflows see them: read from a directory, re-read when a file changes."""
from __future__ import annotations

from pathlib import Path

from domain.policy import Policy
from domain.rule_file import load_policy_dir


class RuleDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seen: tuple | None = None
        self._policies: dict[str, Policy] = {}

    def get(self, policy_id: str) -> Policy:
        policies = self.load()
        if policy_id not in policies:
            known = ", ".join(sorted(policies)) or "none"
            raise LookupError(f"no policy {policy_id!r} in {self.directory} (known: {known})")
        return policies[policy_id]

    def load(self) -> dict[str, Policy]:
        stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                             for p in self.directory.glob("*.y*ml")))
        if stamp != self._seen:
            self._policies = load_policy_dir(self.directory)
            self._seen = stamp
        return self._policies
