"""Validate a CSV end to end without any API call; run as ``python -m bench._validate CSV``.

Prints one JSON line: rows, valid rows, seconds and this process's peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from telnyx_compliance.onboarding.csv_io import iter_rows


def main(csv_path: Path) -> dict[str, float | int]:
    started = time.perf_counter()
    rows = valid = 0
    for parsed in iter_rows(csv_path):
        rows += 1
        valid += parsed.ok
    return {
        "rows": rows,
        "valid": valid,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))), flush=True)
