"""What an activity's failure means to the workflow that called it: worth retrying, and in words for ops."""
from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError as ActivityTimeout


def permanent(failure: ActivityError) -> bool:
    cause = failure.cause
    return isinstance(cause, ApplicationError) and (cause.non_retryable or cause.type == "PermanentFailure")


def reason(failure: ActivityError) -> str:
    cause = failure.cause
    if isinstance(cause, ActivityTimeout):
        last = cause.cause
        return f"toujours en échec ({last.message if last else cause.type.name})"
    return cause.message if cause is not None else str(failure)
