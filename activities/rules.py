"""A worker's rule folder: read from a directory, re-read when a file changes, for the watcher to report to the
policies' registries (cases read their policy from the registry, `activities.policy_source`).

A file that no longer validates is logged, kept aside for the registry to record why, and its last valid version
stays in force: no case stops.
"""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import structlog

from domain.policy import Policy
from domain.rule_file import RuleFileError, declared_policy_id, load_policy_file, policy_files
from domain.versions import RefusedFile

log = structlog.get_logger(__name__)


class RuleDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamps: dict[Path, tuple[int, int]] = {}
        self._by_file: dict[Path, Policy] = {}
        self._refused: dict[Path, RefusedFile] = {}  # files whose current content was refused, and why
        self._lock = threading.Lock()  # the watcher loads in a thread, activities on the event loop
        self._loading: asyncio.Future | None = None

    async def load_off_loop(self, timeout: float) -> dict[str, Policy]:
        """`load()` in a thread, for a caller on the event loop (the watcher, activities): parsing a file never
        freezes the loop, and a load that outlasts `timeout` raises TimeoutError while it goes on; the next
        call waits for that same load instead of starting another one beside it."""
        loading = self._loading
        if loading is None or loading.done() or loading.get_loop() is not asyncio.get_running_loop():
            self._loading = asyncio.ensure_future(asyncio.to_thread(self.load))
        try:
            return await asyncio.wait_for(asyncio.shield(self._loading), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"reading the rule files of {self.directory} took more than {timeout:g}s;"
                               " still reading, the policies in force are unchanged") from None

    def get(self, policy_id: str) -> Policy:
        return self._pick(self.load(), policy_id)

    async def get_off_loop(self, policy_id: str, timeout: float = 20.0) -> Policy:
        """`get()` for an async activity: a changed file is parsed in a thread, not on the worker's event loop."""
        return self._pick(await self.load_off_loop(timeout), policy_id)

    def _pick(self, policies: dict[str, Policy], policy_id: str) -> Policy:
        if policy_id not in policies:
            known = ", ".join(sorted(policies)) or "none"
            raise LookupError(f"no valid policy {policy_id!r} in {self.directory} (known: {known})")
        return policies[policy_id]

    def load(self) -> dict[str, Policy]:
        with self._lock:
            return self._load()

    def refused(self) -> list[RefusedFile]:
        """The files refused as they are now (a file fixed or removed since is no longer listed)."""
        with self._lock:
            return list(self._refused.values())

    def _load(self) -> dict[str, Policy]:
        present = policy_files(self.directory)
        for gone in self._refused.keys() - set(present):
            del self._refused[gone]
        for path in present:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._stamps.get(path) == stamp:
                continue
            self._stamps[path] = stamp
            try:
                policy = load_policy_file(path)
            except RuleFileError as error:
                self._refuse(path, [str(p) for p in error.problems])
                continue
            previous = self._by_file.get(path)
            if previous and previous.policy_id == policy.policy_id and (
                    policy.version < previous.version
                    or (policy.version == previous.version and policy.content_hash != previous.content_hash)):
                self._refuse(path, [f"{policy.ref} modifiée ou revenue en arrière sans numéro de version plus élevé"],
                             policy.policy_id)
                continue
            self._by_file[path] = policy
            self._refused.pop(path, None)
        return {policy.policy_id: policy for policy in self._by_file.values()}

    def _refuse(self, path: Path, problems: list[str], policy_id: str | None = None) -> None:
        kept = self._by_file[path].ref if path in self._by_file else None
        log.error("rules.refused", file=str(path), problems=problems, kept=kept)
        self._refused[path] = RefusedFile(policy_id=policy_id or declared_policy_id(path), source=str(path),
                                          problems=problems)
