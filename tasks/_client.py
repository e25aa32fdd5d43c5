"""The one place tasks get an ``AsyncTelnyx`` and the pipeline settings from.

Tasks never take a client, a settings object or the key as a parameter: Prefect hashes parameters for cache
keys and shows flow parameters in the UI, and a client is neither hashable nor serialisable. Each task opens a
client here from ``TelnyxSettings`` (environment, or what :func:`use_settings` installed for this process),
and every client of the process shares one rate limiter, so concurrent tasks stay under the rate limit.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance._safe_logging import RUN_LOGGERS, protect_loggers

# Run logs quote CSV cells and API answers: no control character reaches the UI or a terminal from them.
protect_loggers(*RUN_LOGGERS)

_lock = threading.Lock()
_telnyx_override: TelnyxSettings | None = None
_pipeline_override: PipelineSettings | None = None
_limiters: dict[float | None, RateLimiter] = {}


@contextmanager
def use_settings(
    telnyx: TelnyxSettings | None = None, pipeline: PipelineSettings | None = None
) -> Iterator[None]:
    """Make tasks of this process use these settings instead of the environment's (CLI and tests)."""
    global _telnyx_override, _pipeline_override
    with _lock:
        previous = (_telnyx_override, _pipeline_override)
        _telnyx_override = telnyx or previous[0]
        _pipeline_override = pipeline or previous[1]
    try:
        yield
    finally:
        with _lock:
            _telnyx_override, _pipeline_override = previous


def telnyx_settings() -> TelnyxSettings:
    return _telnyx_override or TelnyxSettings()


def pipeline_settings() -> PipelineSettings:
    return _pipeline_override or PipelineSettings()


def shared_rate_limiter(rate: float | None) -> RateLimiter:
    """One limiter per cap for the whole process (it is thread- and event-loop-safe); ``None``: no cap,
    paced by Telnyx's headers alone."""
    with _lock:
        limiter = _limiters.get(rate)
        if limiter is None:
            limiter = _limiters[rate] = RateLimiter(rate)
        return limiter


@asynccontextmanager
async def telnyx_client() -> AsyncIterator[AsyncTelnyx]:
    """An ``AsyncTelnyx`` for one task run, closed when the task is done."""
    settings = telnyx_settings()
    client = settings.async_client(shared_rate_limiter(settings.rate_limit))
    async with client:
        yield client
