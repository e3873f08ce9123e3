"""Rule files as the workflows see them: read from a directory, re-read when a file changes.

A file that no longer validates is logged and its last valid version stays in force: no case stops.
"""
from __future__ import annotations

from pathlib import Path

import structlog

from domain.policy import Policy
from domain.rule_file import RuleFileError, load_policy_file

log = structlog.get_logger(__name__)


class RuleDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamps: dict[Path, tuple[int, int]] = {}
        self._by_file: dict[Path, Policy] = {}

    def get(self, policy_id: str) -> Policy:
        policies = self.load()
        if policy_id not in policies:
            known = ", ".join(sorted(policies)) or "none"
            raise LookupError(f"no valid policy {policy_id!r} in {self.directory} (known: {known})")
        return policies[policy_id]

    def load(self) -> dict[str, Policy]:
        for path in sorted(self.directory.glob("*.y*ml")):
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._stamps.get(path) == stamp:
                continue
            self._stamps[path] = stamp
            try:
                self._by_file[path] = load_policy_file(path)
            except RuleFileError as error:
                log.error("rules.refused", file=str(path), problems=[str(p) for p in error.problems],
                          kept=self._by_file[path].ref if path in self._by_file else None)
        return {policy.policy_id: policy for policy in self._by_file.values()}
