"""The shell's one piece of state: when the case next wakes. Every message re-arms it through `now()`."""
from __future__ import annotations

import datetime as dt

from temporalio import workflow


class Wakeup:
    def __init__(self) -> None:
        self._woken = False

    def now(self) -> None:
        """Something changed the case: whatever it sleeps on is decided again."""
        self._woken = True

    async def sleep_until(self, moment: dt.datetime | None) -> bool:
        """True when `moment` came; False when a message woke the case first (or, with no moment, when one did)."""
        if moment is not None and moment <= workflow.now():
            return True
        self._woken = False
        if moment is None:
            await workflow.wait_condition(lambda: self._woken)
            return False
        try:
            await workflow.wait_condition(lambda: self._woken, timeout=moment - workflow.now())
            return False
        except TimeoutError:  # asyncio.TimeoutError since Python 3.11
            return True
