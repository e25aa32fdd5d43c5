"""The pipeline under measurement: ``python -m bench._bulk CSV RESULTS CONCURRENCY``; prints one JSON line.

Runs the ``bulk_onboard`` flow (Prefect in ephemeral mode) exactly as ``compliance onboard`` does, with
``TELNYX_BASE_URL`` / ``TELNYX_RATE_LIMIT`` from the environment. The ephemeral Prefect server is started
first and its start-up reported apart (``prefect_startup``), not in ``wall``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from configs.settings import PipelineSettings, TelnyxSettings


def _start_prefect() -> float:
    """Start Prefect's ephemeral API server (a trivial flow run) and return how long that took.

    A deployed flow runs against a server that is already up; the ephemeral one starts with the first flow
    run of the process (~15 s on a small machine), once, whatever the CSV. It is timed separately (and
    printed) so that the wall time measures the onboarding, not the server's start-up.
    """
    from prefect import flow

    @flow(name="bench-warm-up", persist_result=False)
    def warm_up() -> None:
        return None

    started = time.perf_counter()
    warm_up()
    return time.perf_counter() - started


def main(csv_path: Path, results: Path, concurrency: int) -> dict[str, float | int]:
    from flows.bulk_onboard import run_bulk

    prefect_startup = _start_prefect()
    started = time.perf_counter()
    summary = run_bulk(
        csv_path,
        out=results,
        settings=TelnyxSettings(),
        pipeline=PipelineSettings(approval_poll_interval=1.05, approval_poll_max_interval=2.0),
        max_concurrency=concurrency,
        progress=False,
    )
    wall = time.perf_counter() - started
    return {
        "rows": summary.rows,
        "completed": summary.counts.get("completed", 0),
        "wall": wall,
        "prefect_startup": prefect_startup,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))), flush=True)
