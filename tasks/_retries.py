"""Prefect task retries: layer 2 of the retry layers described in ``docs/retries.md``.

Every task that calls the API takes :data:`API_TASK_OPTIONS`: two more runs of the step, 30 s and 2 min apart
(jittered), only after a transient API error the client's own retries did not outlast. ``docs/retries.md``
says why this layer exists, how it composes with the others, and how often one call may be sent at worst.
"""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from telnyx_compliance import is_transient

#: Retries of an API task after the client's own retries gave up (see the module docstring).
API_TASK_RETRIES = 2
API_TASK_RETRY_DELAYS = [30.0, 120.0]
API_TASK_RETRY_JITTER = 0.2


def is_transient_failure(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn``: retry the task only when it failed on a transient API error, as the library
    defines it (:func:`telnyx_compliance.is_transient`: 408, 429, 5xx, connection; never a write whose
    outcome stayed unknown, which a flow rerun resumes by looking its resources up)."""
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            state.result()
        except Exception as raised:
            error = raised
    return is_transient(error)


API_TASK_OPTIONS: dict[str, Any] = {
    "retries": API_TASK_RETRIES,
    "retry_delay_seconds": API_TASK_RETRY_DELAYS,
    "retry_jitter_factor": API_TASK_RETRY_JITTER,
    "retry_condition_fn": is_transient_failure,
    # Steps look resources up themselves; a Prefect cache would only serve stale ids and statuses, and
    # persisting results would write them to disk for nothing.
    "cache_policy": NO_CACHE,
    "persist_result": False,
}
