"""How an onboarding task runs its library stage: on a copy of the onboarding so far, with a client.

The stages, their order and their rules are the library's (``telnyx_compliance.onboarding.runner``); a task
only gives one a client, logs what it did and hands the onboarding on to the next task.
"""

from __future__ import annotations

from prefect import get_run_logger

from tasks._client import telnyx_client
from telnyx_compliance.onboarding.runner import StageContext, StageFunction, Submission


async def run_stage(
    stage: StageFunction, progress: Submission, context: StageContext | None = None
) -> Submission:
    """``stage`` applied to a copy of ``progress`` (a retried task starts again from its input)."""
    done = progress.copy()
    seen = len(done.log.events)
    async with telnyx_client() as client:
        await stage(client, done, context or StageContext())
    logger = get_run_logger()
    for event in done.log.events[seen:]:
        detail = f" ({event.detail})" if event.detail else ""
        logger.info("%s: %s %s%s", event.step, event.outcome, event.resource_id or "", detail)
    return done
