"""The pipeline under measurement: ``python -m bench._bulk CSV RESULTS CONCURRENCY``; prints one JSON line.

Runs the ``bulk_onboard`` flow (Prefect in ephemeral mode) exactly as ``compliance onboard`` does, with
``TELNYX_BASE_URL`` / ``TELNYX_RATE_LIMIT`` from the environment.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from configs.settings import PipelineSettings, TelnyxSettings


def main(csv_path: Path, results: Path, concurrency: int) -> dict[str, float | int]:
    from flows.bulk_onboard import run_bulk

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
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))), flush=True)
