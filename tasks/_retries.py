"""Retry layering: who retries what, so a fault is retried once at the right level and never multiplied.

1. **Inside the client (tenacity), per HTTP request.** 429s (honouring ``Retry-After``, which also pauses
   the process-wide rate limiter), 5xx answers and transport faults are retried with exponential backoff
   and jitter, up to ``TELNYX_MAX_RETRIES`` retries and ``TELNYX_RETRY_TOTAL_TIMEOUT`` seconds per call.
   GET/PATCH/DELETE are replayed freely. A POST whose outcome is unknown (timeout after sending, dropped
   connection, 5xx) is never replayed blindly: the client first looks the resource up by its deterministic
   ``customer_reference`` (``find_existing``) and only replays when nothing was created.
2. **Prefect task retries, per pipeline step.** Only for what layer 1 cannot cover: an outage or a rate-limit
   storm longer than the client's budget (the same transient errors, surfacing after layer 1 gave up).
   API tasks declare ``retries=2`` with delays of 30 s and 2 min (jittered) and a ``retry_condition_fn``
   that retries only those transient errors; 4xx answers, plan problems and integrity errors fail at once,
   since repeating them cannot succeed. A retried step is safe because every step looks up by reference
   before it creates.
3. **Flow reruns (the UI's Retry, or running the same request again).** Resume at the first unfinished step:
   earlier steps find what they created and create nothing twice. Nothing is cached by Prefect for this;
   the lookups are the source of truth, so a rerun also sees changes made on Telnyx's side.

The approval wait is not a retry: ``wait_for_approval`` polls with its own backoff up to
``COMPLIANCE_APPROVAL_POLL_TIMEOUT`` and then hands a still-pending group to the reconcile flow.
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
