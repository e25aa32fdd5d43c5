"""``compliance`` in this process, then its peak RSS: ``python -m bench._peak onboard CSV --out R --json``.

Prints the command's own output (its ``--json`` line), then one more JSON line ``{"peak_rss_mb": ...}``.
Prefect's temporary server runs in a process of its own and is not counted: this is the command's memory.
"""

from __future__ import annotations

import json
import resource
import sys

from telnyx_compliance.cli import app


def main() -> int:
    code = 0
    try:
        app(sys.argv[1:])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    sys.stdout.flush()
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
