"""The daily sync's one activity: the newest export of the drop folder, reconciled (relance.sync).

The folder is the worker's environment's (RELANCE_SYNC_DIR, and RELANCE_SYNC_MAPPING for an export that needs
one), read when the activity runs: an admin changes it without touching the schedule."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.contracts import DropFolderReport
from importers import SUFFIXES

log = structlog.get_logger(__name__)
_EXPORTS = {suffix.split()[0] for suffix in SUFFIXES}


def newest_export(folder: Path) -> Path | None:
    """The export dropped last: an accounting program writes each day's under a new name."""
    exports = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _EXPORTS and not p.name.startswith(".")]
    return max(exports, key=lambda p: (p.stat().st_mtime, p.name), default=None)


class SyncActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def sync_drop_folder(self) -> DropFolderReport:
        from relance import cases, go_live, rules_cli, sync
        from relance.config import from_env

        folder = os.environ.get("RELANCE_SYNC_DIR")
        if not folder or not Path(folder).is_dir():
            raise ApplicationError(f"RELANCE_SYNC_DIR ({folder or 'not set'}) is not a folder", non_retryable=True)
        path = newest_export(Path(folder))
        if path is None:
            return DropFolderReport(note=f"aucun export dans {folder}")
        config = from_env()
        try:
            reader, _ = rules_cli.routed_reader(path, config.rules_dir, cases.paris_today(),
                                                os.environ.get("RELANCE_SYNC_MAPPING") or None)
            report = await sync.sync(self.client, activity.info().task_queue, reader, reader.policies,
                                     dt.datetime.now(dt.timezone.utc))
        except (rules_cli.RulesError, rules_cli.LedgerFileError, go_live.PlacesUnknown) as error:  # retrying will not fix it
            raise ApplicationError(str(error), non_retryable=True) from error
        log.info("sync.done", file=str(path), **report.summary(), rejected_rows=reader.rejected)
        return DropFolderReport(file=str(path), summary=report.summary(), rejected_rows=reader.rejected)

    def all(self) -> list:
        return [self.sync_drop_folder]
