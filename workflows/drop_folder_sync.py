"""The daily sync: a Temporal schedule starts this workflow, which reconciles the newest export of the drop folder
(RELANCE_SYNC_DIR) with the running cases, in one activity (`activities.sync`); see `relance.sync`."""
from __future__ import annotations

import datetime as dt

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import DropFolderReport

SCHEDULE_ID = "relance-daily-sync"


@workflow.defn
class DropFolderSync:
    @workflow.run
    async def run(self) -> DropFolderReport:
        # A sync is idempotent: retried after a worker's death, it finishes what the first attempt began.
        return await workflow.execute_activity(
            "sync_drop_folder", result_type=DropFolderReport, start_to_close_timeout=dt.timedelta(hours=2),
            heartbeat_timeout=dt.timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=dt.timedelta(minutes=1)))
