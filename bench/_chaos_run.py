"""The library runner without Prefect, for kill-and-rerun rounds: ``python -m bench._chaos_run CSV RESULTS``.

Runs :func:`~telnyx_compliance.onboarding.bulk.run_bulk_async` with the ``TELNYX_*`` / ``COMPLIANCE_*``
settings of the environment (as ``compliance onboard`` does, minus Prefect's start-up) and prints one JSON
line: the row counts by status and the client's counters. Exits 0 only when every valid row completed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance import RateLimiter
from telnyx_compliance.onboarding.bulk import run_bulk_async


async def main(csv_path: Path, results: Path) -> int:
    settings = TelnyxSettings()
    async with settings.async_client(RateLimiter(settings.rate_limit)) as client:
        summary = await run_bulk_async(
            csv_path,
            client,
            out=results,
            settings=PipelineSettings(),
            max_concurrency=settings.max_concurrency,
        )
        print(json.dumps({"counts": dict(summary.counts), "client": client.stats.as_dict()}), flush=True)
    return summary.exit_code


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]))))
